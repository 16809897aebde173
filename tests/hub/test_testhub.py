"""The test hub speaks the Hub protocol of fetch/PROTOCOL.md, and its control API works."""

import hashlib
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

import fixtures
import hubctl

TINY = "hfm-test/tiny-model"
VALID = {"Authorization": "Bearer " + fixtures.VALID_TOKEN}
UNAUTHORIZED = {"Authorization": "Bearer " + fixtures.UNAUTHORIZED_TOKEN}


def q(path):
    """Percent-encode each segment of a repo path, keeping '/'."""
    return "/".join(urllib.parse.quote(seg, safe="") for seg in path.split("/"))


def wait_for_log(hub, pred, timeout=10):
    """The first log entry matching pred. A request is logged when its handler ends, which may be after the
    client saw the connection close: poll the log, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in hub.log() if pred(e)]
        if found or time.monotonic() > deadline:
            assert found, "no matching log entry in %r" % hub.log()
            return found[0]
        time.sleep(0.02)  # polling the hub's own log, not timing the thing under test


def tiny(hub):
    return hub.manifest.repo(TINY)


def follow_tree(hub, url):
    """All pages of a tree listing: (entries, page sizes, next urls)."""
    entries, pages, links = [], [], []
    while url:
        r = hub.request("GET", url)
        assert r.status == 200, r
        page = r.json()
        entries += page
        pages.append(len(page))
        link = r.headers.get("Link")
        url = None
        if link:
            assert link.startswith("<") and link.endswith('>; rel="next"'), link
            url = link[1:link.index(">")]
            links.append(url)
    return entries, pages, links


# ------------------------------------------------------------------------------------------ repo info

def test_info_is_the_default_branch(hub):
    r = hub.request("GET", "/api/models/" + TINY)
    assert r.status == 200
    info = r.json()
    assert info["id"] == TINY
    assert info["sha"] == tiny(hub).branches["main"]
    assert info["private"] is False and info["gated"] is False and info["disabled"] is False
    assert {s["rfilename"] for s in info["siblings"]} == set(tiny(hub).files("main"))
    assert "lastModified" in info


def test_info_with_blobs_has_sizes_and_lfs(hub):
    info = hub.request("GET", "/api/models/%s?blobs=true" % TINY).json()
    files = tiny(hub).files()
    for s in info["siblings"]:
        f = files[s["rfilename"]]
        assert s["size"] == f["size"] and s["blobId"] == f["oid"]
        if f["lfs"]:
            assert s["lfs"] == {"sha256": f["sha256"], "size": f["size"], "pointerSize": f["pointer_size"]}
        else:
            assert "lfs" not in s
    assert files["model.safetensors"]["lfs"] and not files["config.json"]["lfs"]


@pytest.mark.parametrize("rev,commit_of", [
    ("refs%2Fpr%2F1", "refs/pr/1"), ("v1.0", "v1.0"), ("dev", "dev"), ("main", "main"),
    ("feature%2Fslash", "feature/slash"), ("refs%2Fheads%2Fdev", "dev"), ("refs%2Ftags%2Fv1.0", "v1.0")])
def test_revision_resolves_branches_tags_prs(hub, rev, commit_of):
    r = hub.request("GET", "/api/models/%s/revision/%s" % (TINY, rev))
    assert r.status == 200, r
    assert r.json()["sha"] == tiny(hub).commit(commit_of)


def test_revision_by_full_commit_and_pr_file(hub):
    pr = tiny(hub).commit("refs/pr/1")
    info = hub.request("GET", "/api/models/%s/revision/%s" % (TINY, pr)).json()
    assert info["sha"] == pr
    assert "pr-file.txt" in {s["rfilename"] for s in info["siblings"]}
    main = hub.request("GET", "/api/models/%s/revision/main" % TINY).json()
    assert "pr-file.txt" not in {s["rfilename"] for s in main["siblings"]}


def test_unencoded_slash_revision_is_not_a_revision(hub):
    assert hub.request("GET", "/api/models/%s/revision/refs/pr/1" % TINY).status == 404
    r = hub.request("GET", "/%s/resolve/refs/pr/1/pr-file.txt" % TINY)
    assert r.status == 404 and r.headers["X-Error-Code"] == "RevisionNotFound"


def test_history_differs_between_commits(hub):
    repo = tiny(hub)
    a, b = repo.commit("v1.0"), repo.commit("main")
    assert a != b and repo.commits[b]["parent"] == a
    assert repo.read("config.json", a) != repo.read("config.json", b)
    ra = hub.request("GET", "/%s/resolve/%s/config.json" % (TINY, a))
    rb = hub.request("GET", "/%s/resolve/main/config.json" % TINY)
    assert ra.body == repo.read("config.json", a) and rb.body == repo.read("config.json", b)
    assert ra.headers["X-Repo-Commit"] == a and rb.headers["X-Repo-Commit"] == b


def test_default_branch_master(hub):
    repo = hub.manifest.repo("hfm-test/tiny-dataset", "dataset")
    assert repo.default_branch == "master"
    info = hub.request("GET", "/api/datasets/hfm-test/tiny-dataset").json()
    assert info["sha"] == repo.branches["master"]
    r = hub.request("GET", "/api/datasets/hfm-test/tiny-dataset/revision/main")
    assert r.status == 404 and r.headers["X-Error-Code"] == "RevisionNotFound"
    r = hub.request("GET", "/datasets/hfm-test/tiny-dataset/resolve/master/data/train.csv")
    assert r.status == 200 and r.body == repo.read("data/train.csv")


def test_kinds_are_separate_namespaces(hub):
    model = hub.request("GET", "/api/models/hfm-test/tiny-model").json()
    dataset = hub.request("GET", "/api/datasets/hfm-test/tiny-model").json()
    assert model["sha"] != dataset["sha"]
    assert [s["rfilename"] for s in dataset["siblings"]] == ["data/shared-name.csv"]
    assert hub.request("GET", "/datasets/hfm-test/tiny-model/resolve/main/data/shared-name.csv").status == 200
    assert hub.request("GET", "/hfm-test/tiny-model/resolve/main/data/shared-name.csv").status == 404
    r = hub.request("GET", "/spaces/hfm-test/tiny-space/resolve/main/app.py")
    assert r.status == 200 and r.body.startswith(b"print(")
    assert hub.request("GET", "/api/spaces/hfm-test/tiny-space").status == 200
    r = hub.request("GET", "/api/models/hfm-test/tiny-space")
    assert r.status == 401 and r.headers["X-Error-Code"] == "RepoNotFound"


def test_refs(hub):
    r = hub.request("GET", "/api/models/%s/refs?include_prs=1" % TINY).json()
    repo = tiny(hub)
    assert {b["name"]: b["targetCommit"] for b in r["branches"]} == repo.branches
    assert {b["ref"] for b in r["branches"]} == {"refs/heads/" + n for n in repo.branches}
    assert {t["name"]: t["targetCommit"] for t in r["tags"]} == {"v1.0": repo.commit("v1.0")}
    assert [p["ref"] for p in r["pullRequests"]] == ["refs/pr/1"]
    assert r["pullRequests"][0]["targetCommit"] == repo.commit("refs/pr/1")
    assert r["converts"] == []
    assert "pullRequests" not in hub.request("GET", "/api/models/%s/refs" % TINY).json()


def test_search_finds_repos_of_one_kind_by_substring(hub):
    r = hub.request("GET", "/api/models?search=TINY&limit=50")
    assert r.status == 200
    ids = [m["id"] for m in r.json()]
    assert TINY in ids and ids == sorted(ids)
    assert all("tiny" in i.lower() for i in ids)
    assert all(m["modelId"] == m["id"] for m in r.json())
    datasets = [d["id"] for d in hub.request("GET", "/api/datasets?search=tiny").json()]
    assert "hfm-test/tiny-dataset" in datasets and "modelId" not in hub.request("GET", "/api/datasets").json()[0]
    assert len(hub.request("GET", "/api/models?search=hfm-test&limit=2").json()) == 2
    hidden = [m["id"] for m in hub.request("GET", "/api/models?search=private").json()]
    assert "hfm-test/private-model" not in hidden
    shown = [m["id"] for m in hub.request("GET", "/api/models?search=private", headers=VALID).json()]
    assert "hfm-test/private-model" in shown
    assert hub.stats()["requests"]["hub"]["search"] >= 5


# --------------------------------------------------------------------------------------------- listing

@pytest.mark.parametrize("flag", ["true", "True"])
def test_tree_paginates_in_pages_of_1000(hub, flag):
    url = "/api/models/hfm-test/many-files/tree/main?recursive=%s&expand=false" % flag
    entries, pages, links = follow_tree(hub, url)
    repo = hub.manifest.repo("hfm-test/many-files")
    files, dirs = repo.files(), repo.dirs()
    assert len(files) == 2500
    assert pages == [1000, 1000, len(files) + len(dirs) - 1 - 2000]
    for link in links:
        parts = urllib.parse.urlsplit(link)
        assert "%s://%s" % (parts.scheme, parts.netloc) == hub.url
        params = dict(urllib.parse.parse_qsl(parts.query))
        assert params["recursive"] == flag and params["expand"] == "false" and params["cursor"]
    paths = [e["path"] for e in entries]
    assert len(paths) == len(set(paths))
    assert {e["path"] for e in entries if e["type"] == "file"} == set(files)
    assert {e["path"] for e in entries if e["type"] == "directory"} == set(dirs) - {""}
    kinds = [e["type"] for e in entries]
    assert kinds == sorted(kinds, key=lambda t: t != "directory"), "directories first"
    for e in entries:
        if e["type"] == "file":
            assert e["oid"] == files[e["path"]]["oid"] and e["size"] == files[e["path"]]["size"]
        else:
            assert e["oid"] == dirs[e["path"]] and e["size"] == 0


def test_tree_limit_parameter(hub):
    entries, pages, _ = follow_tree(hub, "/api/models/%s/tree/main?recursive=true&limit=3" % TINY)
    assert all(n == 3 for n in pages[:-1]) and len(pages) > 2
    assert {e["path"] for e in entries if e["type"] == "file"} == set(tiny(hub).files())


def test_tree_non_recursive_and_folders(hub):
    root = hub.request("GET", "/api/models/%s/tree/main?recursive=false&expand=false" % TINY).json()
    assert root[0] == {"type": "directory", "oid": tiny(hub).dirs()["nested"], "size": 0, "path": "nested"}
    assert all(e["type"] == "file" for e in root[1:])
    assert {e["path"] for e in root[1:]} == {p for p in tiny(hub).files() if "/" not in p}
    for folder in ("nested/dir", "nested%2Fdir"):
        r = hub.request("GET", "/api/models/%s/tree/main/%s?recursive=False&expand=False" % (TINY, folder))
        assert r.status == 200 and [e["path"] for e in r.json()] == ["nested/dir/deep"]
    deep = hub.request("GET", "/api/models/%s/tree/main/nested?recursive=true" % TINY).json()
    assert [e["path"] for e in deep] == ["nested/dir", "nested/dir/deep", "nested/dir/deep/file.txt"]
    r = hub.request("GET", "/api/models/%s/tree/main/no-such-dir?recursive=false" % TINY)
    assert r.status == 404 and r.headers["X-Error-Code"] == "EntryNotFound"


def test_tree_lfs_entry_follows_git_lfs(hub):
    root = hub.request("GET", "/api/models/%s/tree/main" % TINY).json()
    entry = next(e for e in root if e["path"] == "model.safetensors")
    data = tiny(hub).read("model.safetensors")
    sha256 = hashlib.sha256(data).hexdigest()
    pointer = fixtures.lfs_pointer(sha256, len(data))
    assert entry["size"] == len(data)
    assert entry["oid"] == fixtures.git_blob_sha1(pointer)
    assert entry["lfs"] == {"oid": sha256, "size": len(data), "pointerSize": len(pointer)}
    config = next(e for e in root if e["path"] == "config.json")
    assert config["oid"] == fixtures.git_blob_sha1(tiny(hub).read("config.json")) and "lfs" not in config


def test_every_good_file_matches_its_hashes(hub):
    for key, repo in hub.manifest.repos.items():
        for rev in set(repo.revisions.values()):
            for path, f in repo.files(rev).items():
                if f["corrupt"] or f["size"] > 8 * fixtures.MIB:
                    continue
                data = repo.read(path, rev)
                assert len(data) == f["size"]
                assert hashlib.sha256(data).hexdigest() == f["sha256"], (key, path)
                assert fixtures.git_blob_sha1(data) == f["git_oid"], (key, path)


def test_paths_info_form_and_json(hub):
    url = "/api/models/%s/paths-info/main" % TINY
    form = urllib.parse.urlencode([("paths", "config.json"), ("paths", "nested/dir"), ("paths", "missing")])
    r = hub.request("POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, form.encode())
    assert r.status == 200
    assert [(e["path"], e["type"]) for e in r.json()] == [("config.json", "file"), ("nested/dir", "directory")]
    r = hub.request("POST", url, body={"paths": ["model.safetensors", "nope"], "expand": False})
    assert [e["path"] for e in r.json()] == ["model.safetensors"] and r.json()[0]["lfs"]["size"] > 0


# ------------------------------------------------------------------------------------------- resolve

def test_resolve_regular_file(hub):
    data = tiny(hub).read("config.json")
    for method in ("GET", "HEAD"):
        r = hub.request(method, "/%s/resolve/main/config.json" % TINY)
        assert r.status == 200
        assert r.headers["ETag"] == '"%s"' % fixtures.git_blob_sha1(data)
        assert r.headers["X-Repo-Commit"] == tiny(hub).branches["main"]
        assert r.headers["Accept-Ranges"] == "bytes"
        assert int(r.headers["Content-Length"]) == len(data)
        assert r.body == (data if method == "GET" else b"")


@pytest.mark.parametrize("rng,status,expect", [
    ("bytes=0-9", 206, (0, 9)), ("bytes=5-", 206, (5, None)), ("bytes=-4", 206, (-4, None)),
    ("bytes=3-1000000", 206, (3, None)), ("bytes=1000-2000", 416, None), ("bytes=0-0", 206, (0, 0)),
    ("bytes=0-1,3-4", 200, None), ("pages=1-2", 200, None)])
def test_resolve_ranges(hub, rng, status, expect):
    data = tiny(hub).read("config.json")
    r = hub.request("GET", "/%s/resolve/main/config.json" % TINY, {"Range": rng})
    assert r.status == status
    assert r.headers["X-Repo-Commit"]
    if status == 416:
        assert r.headers["Content-Range"] == "bytes */%d" % len(data)
    elif status == 200:
        assert r.body == data
    else:
        start, end = expect
        start = start % len(data)
        end = len(data) - 1 if end is None else end
        assert r.body == data[start:end + 1]
        assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (start, end, len(data))


def test_empty_file(hub):
    r = hub.request("GET", "/%s/resolve/main/empty.txt" % TINY)
    assert r.status == 200 and r.body == b"" and r.headers["Content-Length"] == "0"
    assert r.headers["ETag"] == '"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"'
    r = hub.request("GET", "/%s/resolve/main/empty.txt" % TINY, {"Range": "bytes=0-"})
    assert r.status == 416 and r.headers["Content-Range"] == "bytes */0"


@pytest.mark.parametrize("path", ["name with spaces.txt", "hash#name.txt", fixtures.UNICODE_NAME,
                                  "nested/dir/deep/file.txt"])
def test_resolve_percent_encoded_names(hub, path):
    r = hub.request("GET", "/%s/resolve/main/%s" % (TINY, q(path)))
    assert r.status == 200 and r.body == tiny(hub).read(path)
    tree = hub.request("GET", "/api/models/%s/tree/main?recursive=true" % TINY).json()
    assert path in {e["path"] for e in tree}


def test_unencoded_hash_is_a_missing_file(hub):
    r = hub.request("GET", "/%s/resolve/main/hash#name.txt" % TINY)
    assert r.status == 404 and r.headers["X-Error-Code"] == "EntryNotFound"


def test_lfs_resolve_redirects_to_signed_cdn_url(hub):
    repo = tiny(hub)
    data = repo.read("model.safetensors")
    sha256 = hashlib.sha256(data).hexdigest()
    for method in ("GET", "HEAD"):
        r = hub.request(method, "/%s/resolve/main/model.safetensors" % TINY, VALID)
        assert r.status == 302
        loc = urllib.parse.urlsplit(r.headers["Location"])
        assert "%s://%s" % (loc.scheme, loc.netloc) == hub.cdn_url and hub.cdn_url.startswith("http://127.0.0.2:")
        assert loc.path == "/lfs/" + sha256
        params = dict(urllib.parse.parse_qsl(loc.query))
        assert params["X-Amz-Expires"] == "3600" and params["X-Amz-Signature"] and params["X-Amz-Date"]
        assert r.headers["X-Linked-Etag"] == '"%s"' % sha256
        assert r.headers["X-Linked-Size"] == str(len(data))
        assert r.headers["X-Repo-Commit"] == repo.branches["main"]
        assert r.headers["ETag"] == '"%s"' % repo.files()["model.safetensors"]["oid"]
        assert int(r.headers["Content-Length"]) == (len(r.body) if method == "GET" else
                                                    len(b"Found. Redirecting to " + r.headers["Location"].encode()))
    location = r.headers["Location"]
    whole = hub.request("GET", location)
    assert whole.status == 200 and hashlib.sha256(whole.body).hexdigest() == sha256
    assert whole.headers["ETag"] == '"%s"' % sha256 and whole.headers["Accept-Ranges"] == "bytes"
    part = hub.request("GET", location, {"Range": "bytes=100-199"})
    assert part.status == 206 and part.body == data[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/%d" % len(data)
    head = hub.request("HEAD", location)
    assert head.status == 200 and head.headers["Content-Length"] == str(len(data)) and head.body == b""
    bad = hub.request("GET", location, {"Range": "bytes=%d-" % len(data)})
    assert bad.status == 416 and bad.headers["Content-Range"] == "bytes */%d" % len(data)
    # the token went to the hub only
    cdn = [e for e in hub.log() if e["host"] == "cdn"]
    assert cdn and not any(e["has_authorization"] for e in cdn)


def test_raw_returns_the_lfs_pointer(hub):
    repo = tiny(hub)
    f = repo.files()["model.safetensors"]
    r = hub.request("GET", "/%s/raw/main/model.safetensors" % TINY)
    assert r.status == 200 and r.body == fixtures.lfs_pointer(f["sha256"], f["size"])
    assert len(r.body) == f["pointer_size"]
    assert hub.request("GET", "/%s/raw/main/config.json" % TINY).body == repo.read("config.json")


def test_signed_url_expires_and_resolving_again_works(hub):
    url = "/%s/resolve/main/model.safetensors" % TINY
    old = hub.request("GET", url).headers["Location"]
    assert hub.request("GET", old, {"Range": "bytes=0-7"}).status == 206
    hub.expire_signed_urls()
    r = hub.request("GET", old, {"Range": "bytes=0-7"})
    assert r.status == 403 and b"<Code>AccessDenied</Code>" in r.body and b"expired" in r.body
    new = hub.request("GET", url).headers["Location"]
    assert new != old and hub.request("GET", new, {"Range": "bytes=0-7"}).status == 206


def test_signed_url_ttl_and_forged_signature(hub):
    url = "/%s/resolve/main/model.safetensors" % TINY
    hub.expire_signed_urls(ttl=-1)  # URLs issued from now on are already past their lifetime
    try:
        loc = hub.request("GET", url).headers["Location"]
        assert hub.request("GET", loc).status == 403
    finally:
        hub.expire_signed_urls(ttl=3600)
    loc = hub.request("GET", url).headers["Location"]
    forged = loc.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    r = hub.request("GET", forged)
    assert r.status == 403 and b"SignatureDoesNotMatch" in r.body
    assert hub.request("GET", loc.split("?")[0]).status == 403


def test_large_file_ranges(hub):
    repo = hub.manifest.repo("hfm-test/large-model")
    f = repo.files()["large.bin"]
    assert f["size"] == repo_large_size(hub)
    loc = hub.request("GET", "/hfm-test/large-model/resolve/main/large.bin").headers["Location"]
    for start, n in ((0, 4096), (5 * fixtures.MIB + 3, 100), (f["size"] - 10, 10), (fixtures.MIB - 5, 10)):
        r = hub.request("GET", loc, {"Range": "bytes=%d-%d" % (start, start + n - 1)})
        assert r.status == 206 and r.body == fixtures.large_bytes(start, n)
    assert fixtures.large_block(0) != fixtures.large_block(1)


def repo_large_size(hub):
    return hub.manifest.large_mb * fixtures.MIB


def test_large_file_whole_download_matches_sha256(hub):
    f = hub.manifest.repo("hfm-test/large-model").files()["large.bin"]
    loc = hub.request("GET", "/hfm-test/large-model/resolve/main/large.bin").headers["Location"]
    u = urllib.parse.urlsplit(loc)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", u.path + "?" + u.query)
    resp = conn.getresponse()
    h, n = hashlib.sha256(), 0
    while True:
        chunk = resp.read(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    conn.close()
    assert n == f["size"] and h.hexdigest() == f["sha256"]
    assert hub.stats()["bytes"]["cdn"] == f["size"]


def test_corrupt_repo_serves_bytes_that_do_not_match(hub):
    repo = hub.manifest.repo("hfm-test/corrupt")
    files = repo.files()
    tree = {e["path"]: e for e in hub.request("GET", "/api/models/hfm-test/corrupt/tree/main").json()}
    r = hub.request("GET", "/hfm-test/corrupt/resolve/main/bad.safetensors")
    assert r.headers["X-Linked-Etag"] == '"%s"' % tree["bad.safetensors"]["lfs"]["oid"]
    body = hub.request("GET", r.headers["Location"]).body
    assert len(body) == tree["bad.safetensors"]["size"] == 3 * fixtures.MIB
    assert hashlib.sha256(body).hexdigest() != tree["bad.safetensors"]["lfs"]["oid"]
    assert files["bad.safetensors"]["corrupt"]
    assert hashlib.sha256(body).hexdigest() == files["bad.safetensors"]["served_sha256"]
    small = hub.request("GET", "/hfm-test/corrupt/resolve/main/bad-small.txt")
    assert small.headers["ETag"] == '"%s"' % tree["bad-small.txt"]["oid"]
    assert fixtures.git_blob_sha1(small.body) != tree["bad-small.txt"]["oid"]
    assert len(small.body) == tree["bad-small.txt"]["size"]
    good = hub.request("GET", "/hfm-test/corrupt/resolve/main/good.txt")
    assert fixtures.git_blob_sha1(good.body) == tree["good.txt"]["oid"]


def test_tiny_safetensors_is_valid(hub):
    data = tiny(hub).read("model.safetensors")
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    assert n % 8 == 0 and header["__metadata__"] == fixtures.TINY_METADATA
    base = 8 + n
    for name, (dtype, shape, fn) in fixtures.TINY_TENSORS.items():
        t = header[name]
        assert t["dtype"] == dtype and t["shape"] == shape
        start, end = t["data_offsets"]
        raw = data[base + start:base + end]
        fmt = "<%d%s" % ((end - start) // (4 if dtype == "F32" else 8), "f" if dtype == "F32" else "q")
        assert list(struct.unpack(fmt, raw)) == fixtures.tiny_tensor_values(name)
    assert base + max(t["data_offsets"][1] for k, t in header.items() if k != "__metadata__") == len(data)


def test_renamed_repo_redirects_relatively(hub):
    r = hub.request("GET", "/hfm-test/renamed-model/resolve/main/config.json")
    assert r.status == 307 and r.headers["Location"] == "/hfm-test/tiny-model/resolve/main/config.json"
    r = hub.request("GET", "/api/models/hfm-test/renamed-model/tree/main?recursive=true")
    assert r.status == 307 and r.headers["Location"] == "/api/models/hfm-test/tiny-model/tree/main?recursive=true"


# -------------------------------------------------------------------------------------------- errors

def error_case(hub, method, path, headers=None):
    r = hub.request(method, path, headers)
    body = json.loads(r.body) if method == "GET" else None
    if body is not None:
        assert body == {"error": r.headers["X-Error-Message"]}
    return r.status, r.headers.get("X-Error-Code"), r.headers.get("X-Error-Message"), r


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path,headers,status,code", [
    ("/api/models/hfm-test/no-such-repo", None, 401, "RepoNotFound"),
    ("/api/models/hfm-test/no-such-repo", VALID, 404, "RepoNotFound"),
    ("/hfm-test/no-such-repo/resolve/main/x", None, 401, "RepoNotFound"),
    ("/hfm-test/no-such-repo/resolve/main/x", UNAUTHORIZED, 404, "RepoNotFound"),
    ("/api/models/hfm-test/private-model", None, 401, "RepoNotFound"),
    ("/api/models/hfm-test/private-model", UNAUTHORIZED, 404, "RepoNotFound"),
    ("/hfm-test/private-model/resolve/main/config.json", UNAUTHORIZED, 404, "RepoNotFound"),
    ("/api/models/hfm-test/private-model/tree/main", None, 401, "RepoNotFound"),
    ("/hfm-test/gated-model/resolve/main/config.json", None, 401, "GatedRepo"),
    ("/hfm-test/gated-model/resolve/main/config.json", UNAUTHORIZED, 403, "GatedRepo"),
    ("/hfm-test/gated-model/resolve/main/weights.safetensors", None, 401, "GatedRepo"),
    ("/api/models/%s/revision/nope" % TINY, None, 404, "RevisionNotFound"),
    ("/api/models/%s/tree/nope" % TINY, None, 404, "RevisionNotFound"),
    ("/%s/resolve/nope/config.json" % TINY, None, 404, "RevisionNotFound"),
    ("/%s/resolve/main/no-such-file" % TINY, None, 404, "EntryNotFound"),
    ("/%s/resolve/main/nested/dir" % TINY, None, 404, "EntryNotFound"),
])
def test_error_table(hub, method, path, headers, status, code):
    got_status, got_code, message, r = error_case(hub, method, path, headers)
    assert (got_status, got_code) == (status, code)
    assert message
    if "/resolve/" in path and code in ("EntryNotFound", "GatedRepo"):
        assert len(r.headers["X-Repo-Commit"]) == 40
    if code in ("RepoNotFound", "RevisionNotFound"):
        assert "X-Repo-Commit" not in r.headers


def test_disabled_repo_and_bad_token(hub):
    status, _, message, _ = error_case(hub, "GET", "/api/models/hfm-test/disabled-model")
    assert (status, message) == (403, "Access to this resource is disabled.")
    status, _, message, _ = error_case(hub, "GET", "/hfm-test/disabled-model/resolve/main/config.json")
    assert (status, message) == (403, "Access to this resource is disabled.")
    for auth in ("Bearer hf_not_a_token", "Basic Zm9vOmJhcg==", "Bearer "):
        status, _, message, _ = error_case(hub, "GET", "/api/models/" + TINY, {"Authorization": auth})
        assert (status, message) == (401, "Invalid credentials in Authorization header")


def test_authorized_token_reads_gated_and_private(hub):
    assert hub.request("GET", "/api/models/hfm-test/gated-model").json()["gated"] == "manual"
    r = hub.request("GET", "/hfm-test/gated-model/resolve/main/config.json", VALID)
    assert r.status == 200 and r.body == hub.manifest.repo("hfm-test/gated-model").read("config.json")
    r = hub.request("GET", "/hfm-test/gated-model/resolve/main/weights.safetensors", VALID)
    assert r.status == 302
    assert hub.request("GET", r.headers["Location"]).status == 200  # pre-signed: no token needed
    info = hub.request("GET", "/api/models/hfm-test/private-model", VALID).json()
    assert info["private"] is True
    assert hub.request("GET", "/hfm-test/private-model/resolve/main/config.json", VALID).status == 200


# ------------------------------------------------------------------------------------- control API

def test_stats_and_log(hub):
    hub.request("GET", "/%s/resolve/main/config.json" % TINY)
    hub.request("HEAD", "/%s/resolve/main/config.json" % TINY, VALID)
    hub.request("GET", "/api/models/%s/tree/main" % TINY)
    hub.request("GET", "/api/models/%s" % TINY)
    hub.request("GET", "/api/models/%s/revision/main" % TINY)
    hub.request("GET", "/api/models/%s/refs" % TINY)
    hub.request("POST", "/api/models/%s/paths-info/main" % TINY, body={"paths": ["a"]})
    loc = hub.request("GET", "/%s/resolve/main/model.safetensors" % TINY).headers["Location"]
    hub.request("GET", loc, {"Range": "bytes=0-99"})
    hub.request("GET", "/nothing-here")
    s = hub.stats()
    assert s["requests"]["hub"] == {"resolve": 3, "tree": 1, "api_info": 1, "api_revision": 1, "refs": 1,
                                    "paths_info": 1, "other": 1}
    assert s["requests"]["cdn"] == {"cdn": 1}
    assert s["total"] == 10
    assert s["paths"]["hub"]["/%s/resolve/main/config.json" % TINY] == 2
    assert s["methods"]["hub"]["HEAD"] == 1
    assert s["bytes"]["cdn"] == 100
    log = hub.log()
    assert len(log) == 10
    head = next(e for e in log if e["method"] == "HEAD")
    assert head["has_authorization"] and head["authorization_value_sha256_prefix"] == \
        hubctl.token_fingerprint(fixtures.VALID_TOKEN)
    assert fixtures.VALID_TOKEN not in json.dumps(log)
    cdn = next(e for e in log if e["host"] == "cdn")
    assert cdn["range"] == "bytes=0-99" and cdn["status"] == 206 and cdn["route"] == "cdn"
    assert not cdn["has_authorization"] and cdn["authorization_value_sha256_prefix"] is None
    # one after the other: each request arrived after the answer before it, and was answered after it arrived
    ticks = sorted((e["arrived"], e["answered"]) for e in log)
    assert all(arrived < answered for arrived, answered in ticks)
    assert all(ticks[i + 1][0] > ticks[i][1] for i in range(len(ticks) - 1))
    hub.reset_stats()
    assert hub.stats()["total"] == 0 and hub.log() == []


def test_move_branch_changes_what_main_means(hub):
    repo = tiny(hub)
    a, b = repo.commit("v1.0"), repo.commit("main")
    moved = hub.move_branch(TINY, "main", "v1.0")
    assert moved == {"branch": "main", "old": b, "new": a}
    assert hub.request("GET", "/api/models/" + TINY).json()["sha"] == a
    r = hub.request("GET", "/%s/resolve/main/config.json" % TINY)
    assert r.headers["X-Repo-Commit"] == a and r.body == repo.read("config.json", a)
    # a commit pinned before the move still answers its own content
    r = hub.request("GET", "/%s/resolve/%s/config.json" % (TINY, b))
    assert r.body == repo.read("config.json", b)
    hub.reset_refs()
    assert hub.request("GET", "/api/models/" + TINY).json()["sha"] == b
    r = hub.request("POST", hub.control_url + "/move_branch", body={"repo": TINY, "branch": "main", "commit": "f" * 40})
    assert r.status == 400


def test_fault_status_applies_n_times_then_heals(hub):
    hub.set_fault(host="hub", route="resolve", action="status", status=503, times=2,
                  headers={"Retry-After": "1"})
    url = "/%s/resolve/main/config.json" % TINY
    statuses = [hub.request("GET", url) for _ in range(3)]
    assert [r.status for r in statuses] == [503, 503, 200]
    assert statuses[0].headers["Retry-After"] == "1"
    assert [e["fault"] for e in hub.log()] == ["status", "status", None]


def test_fault_nth_and_route_matching(hub):
    hub.set_fault(route="tree", nth=2, action="status", status=429,
                  headers={"RateLimit": '"api";r=0;t=5', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'})
    url = "/api/models/%s/tree/main" % TINY
    assert hub.request("GET", "/api/models/" + TINY).status == 200  # another route: not counted
    got = [hub.request("GET", url) for _ in range(3)]
    assert [r.status for r in got] == [200, 429, 200]
    assert got[1].headers["RateLimit"] == '"api";r=0;t=5'
    assert hub.faults()[0]["applied"] == 1


def test_fault_stall_then_close(hub):
    hub.set_fault(host="cdn", action="stall", seconds=1, after_bytes=10)
    loc = hub.request("GET", "/%s/resolve/main/model.safetensors" % TINY).headers["Location"]
    u = urllib.parse.urlsplit(loc)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=0.3)
    conn.request("GET", u.path + "?" + u.query)
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.read(10) == tiny(hub).read("model.safetensors")[:10]
    with pytest.raises(TimeoutError):
        resp.read(10)  # nothing more arrives while the stall lasts
    conn.close()
    # a stall with no response at all, cut short by clear_faults
    hub.set_fault(route="api_info", action="stall", before_headers=True, seconds=60)
    result = {}

    def client():
        started = time.monotonic()
        try:
            hub.request("GET", "/api/models/" + TINY, timeout=30)
        except (http.client.RemoteDisconnected, ConnectionError) as e:
            result["error"] = e
        result["seconds"] = time.monotonic() - started

    t = threading.Thread(target=client)
    t.start()
    deadline = time.monotonic() + 10
    while hub.faults()[-1]["applied"] == 0 and time.monotonic() < deadline:  # [-1]: the stall just added
        time.sleep(0.02)  # polling the hub's own state, not timing the thing under test
    hub.clear_faults()
    t.join(10)
    assert not t.is_alive() and "error" in result and result["seconds"] < 10
    assert hub.request("GET", "/api/models/" + TINY).status == 200


def test_fault_reset_mid_body(hub):
    hub.set_fault(host="cdn", route="cdn", action="reset", after_bytes=4096)
    loc = hub.request("GET", "/%s/resolve/main/model.safetensors" % TINY).headers["Location"]
    u = urllib.parse.urlsplit(loc)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", u.path + "?" + u.query)
    resp = conn.getresponse()
    with pytest.raises((http.client.IncompleteRead, ConnectionResetError)):
        resp.read()
    conn.close()
    r = hub.request("GET", loc)
    assert r.status == 200 and r.body == tiny(hub).read("model.safetensors")
    entry = wait_for_log(hub, lambda e: e["host"] == "cdn" and e["fault"] == "reset")
    assert entry["bytes"] == 4096


def test_fault_corrupt_delay_and_throttle(hub):
    data = tiny(hub).read("config.json")
    url = "/%s/resolve/main/config.json" % TINY
    hub.set_fault(route="resolve", action="corrupt", offset=3)
    r = hub.request("GET", url)
    assert r.status == 200 and r.body != data and r.body[:3] == data[:3] and r.body[4:] == data[4:]
    hub.set_fault(route="resolve", action="delay", seconds=0.3)
    started = time.monotonic()
    assert hub.request("GET", url).body == data
    assert time.monotonic() - started >= 0.3
    hub.set_fault(route="resolve", action="throttle", bytes_per_second=200)
    started = time.monotonic()
    assert hub.request("GET", url).body == data  # 69 bytes at 200 B/s
    assert time.monotonic() - started >= 0.25


def test_fault_rules_are_bounded(hub):
    r = hub.request("POST", hub.control_url + "/faults", body={"action": "status", "times": 10 ** 9})
    assert r.status == 400
    r = hub.request("POST", hub.control_url + "/faults", body={"action": "explode"})
    assert r.status == 400


def test_keep_alive_serves_many_requests_on_one_connection(hub):
    u = urllib.parse.urlsplit(hub.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    for _ in range(5):
        conn.request("GET", "/%s/resolve/main/README.md" % TINY)
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == tiny(hub).read("README.md")
        conn.request("GET", "/%s/resolve/main/nope" % TINY)
        resp = conn.getresponse()
        assert resp.status == 404 and resp.read()
    conn.close()


def test_ready_line_and_port_file(tmp_path, hub):
    port_file = tmp_path / "hub.json"
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(hubctl.__file__), "testhub.py"),
                             "--fixtures", hub.fixtures_dir, "--port-file", str(port_file), "--watch-stdin"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = json.loads(proc.stdout.readline())
        assert json.loads(port_file.read_text()) == line
        assert line["hub"].startswith("http://127.0.0.1:") and line["cdn"].startswith("http://127.0.0.2:")
        assert line["control"] == line["hub"] + "/_hub"
        assert hubctl.http_request("GET", line["hub"] + "/api/models/" + TINY).status == 200
    finally:
        proc.stdin.close()  # --watch-stdin: EOF stops it
        assert proc.wait(10) == 0
        proc.stdout.close()


# ------------------------------------------------------------------------------ more fault actions

def cdn_location(hub, path="model.safetensors", repo=TINY):
    return hub.request("GET", "/%s/resolve/main/%s" % (repo, path)).headers["Location"]


def raw_head(url, timeout=10):
    """GET over a plain socket (http.client refuses header lines over 64 KiB): -> (status line, [(name, value)],
    body)."""
    u = urllib.parse.urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (
            (u.path + ("?" + u.query if u.query else "")).encode(), u.netloc.encode()))
        data = b""
        while True:
            piece = sock.recv(1 << 20)
            if not piece:
                break
            data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    return lines[0], headers, body


def raw_exchange(url, headers=None, timeout=10):
    """One GET; -> (status, headers, body bytes received until EOF or error, error or None)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers or {})
        resp = conn.getresponse()
        got, err = b"", None
        try:
            got = resp.read()
        except http.client.IncompleteRead as e:
            got, err = e.partial, e
        return resp.status, resp.msg, got, err
    finally:
        conn.close()


def test_fault_route_and_host_lists(hub):
    hub.set_fault(host=["hub", "cdn"], route=["resolve", "cdn"], action="status", status=503, times=2)
    assert hub.request("GET", "/api/models/" + TINY).status == 200  # another route: not counted
    assert hub.request("GET", "/%s/resolve/main/model.safetensors" % TINY).status == 503
    assert hub.request("GET", "/%s/resolve/main/model.safetensors" % TINY).status == 503
    assert hub.faults()[0]["applied"] == 2
    loc = cdn_location(hub)  # times=2: healed
    assert hub.request("GET", loc).status == 200
    hub.set_fault(host=["cdn"], route=["resolve", "cdn"], action="status", status=502)
    assert hub.request("GET", "/%s/resolve/main/config.json" % TINY).status == 200  # resolve on the hub
    assert hub.request("GET", loc).status == 502
    r = hub.request("POST", hub.control_url + "/faults", body={"action": "status", "route": ["resolve", "nope"]})
    assert r.status == 400 and "nope" in r.json()["error"]
    r = hub.request("POST", hub.control_url + "/faults", body={"action": "status", "host": "elsewhere"})
    assert r.status == 400


def test_fault_truncate_declares_the_full_length_and_closes_cleanly(hub):
    data = tiny(hub).read("model.safetensors")
    hub.set_fault(host="cdn", route="cdn", action="truncate", after_bytes=5000)
    status, headers, got, err = raw_exchange(cdn_location(hub), {"Range": "bytes=100-99999"})
    assert status == 206 and headers["Content-Length"] == str(99900)
    assert isinstance(err, http.client.IncompleteRead) and got == data[100:5100]
    entry = wait_for_log(hub, lambda e: e["host"] == "cdn" and e["fault"] == "truncate")
    assert entry["bytes"] == 5000
    # the next request is whole again; a truncate on a regular file from /resolve works the same way
    status, _, got, err = raw_exchange(cdn_location(hub), {"Range": "bytes=100-99999"})
    assert status == 206 and err is None and got == data[100:100000]
    hub.set_fault(route="resolve", action="truncate", after_bytes=10)
    status, headers, got, err = raw_exchange(hub.url + "/%s/resolve/main/config.json" % TINY)
    assert status == 200 and int(headers["Content-Length"]) > 10 and err and got == tiny(hub).read("config.json")[:10]


def test_fault_ignore_range_sends_the_whole_body_with_200(hub):
    data = tiny(hub).read("model.safetensors")
    hub.set_fault(host="cdn", route="cdn", action="ignore_range", times=2)
    status, headers, got, err = raw_exchange(cdn_location(hub), {"Range": "bytes=4096-8191"})
    assert status == 200 and err is None and got == data and "Content-Range" not in headers
    r = hub.request("GET", "/%s/resolve/main/config.json" % TINY, {"Range": "bytes=2-5"})
    assert r.status == 206  # the rule names the cdn only
    status, _, got, _ = raw_exchange(cdn_location(hub), {"Range": "bytes=0-9"})
    assert status == 200 and got == data
    status, _, got, _ = raw_exchange(cdn_location(hub), {"Range": "bytes=0-9"})
    assert status == 206 and got == data[:10]  # times=2: healed


@pytest.mark.parametrize("mode", ["body", "header"])
def test_fault_bad_content_range(hub, mode):
    data = tiny(hub).read("model.safetensors")
    size = len(data)
    hub.set_fault(host="cdn", route="cdn", action="bad_content_range", shift=4096, mode=mode)
    status, headers, got, err = raw_exchange(cdn_location(hub), {"Range": "bytes=10000-19999"})
    assert status == 206 and err is None
    assert headers["Content-Range"] == "bytes 14096-24095/%d" % size
    assert got == (data[14096:24096] if mode == "body" else data[10000:20000])
    # near the end the shifted range is clipped, and a negative shift works too
    hub.set_fault(host="cdn", route="cdn", action="bad_content_range", shift=-100)
    status, headers, got, _ = raw_exchange(cdn_location(hub), {"Range": "bytes=%d-%d" % (size - 50, size - 1)})
    assert headers["Content-Range"] == "bytes %d-%d/%d" % (size - 150, size - 101, size) and \
        got == data[size - 150:size - 100]
    # an unranged request gets a 206 that does not start at 0
    hub.set_fault(route="resolve", action="bad_content_range", shift=3)
    status, headers, got, _ = raw_exchange(hub.url + "/%s/resolve/main/config.json" % TINY)
    config = tiny(hub).read("config.json")
    assert status == 206 and headers["Content-Range"] == "bytes 3-%d/%d" % (len(config) - 1, len(config))
    assert got == config[3:]
    r = hub.request("POST", hub.control_url + "/faults", body={"action": "bad_content_range", "shift": 0})
    assert r.status == 400


@pytest.mark.parametrize("mode", ["self", "pair"])
def test_fault_redirect_loop(hub, mode):
    hub.set_fault(route="resolve", action="redirect_loop", mode=mode, times=10)
    url = hub.url + "/%s/resolve/main/model.safetensors" % TINY
    seen = []
    for _ in range(4):
        status, headers, _, _ = raw_exchange(url)
        assert status == 302
        seen.append(url)
        url = headers["Location"]
        assert url.startswith(hub.url + "/%s/resolve/main/model.safetensors" % TINY)
    if mode == "self":
        assert len(set(seen)) == 1
    else:
        assert seen[0] == seen[2] and seen[1] == seen[3] and seen[0] != seen[1] and "hfm_loop=1" in seen[1]
    # on the CDN the loop keeps the signature, so the looped URL is still a valid signed URL
    hub.clear_faults()
    loc = cdn_location(hub)
    hub.set_fault(host="cdn", action="redirect_loop", mode=mode)
    status, headers, _, _ = raw_exchange(loc)
    assert status == 302
    status, _, got, _ = raw_exchange(headers["Location"])
    assert status == 200 and got == tiny(hub).read("model.safetensors")


def test_fault_big_headers(hub):
    hub.set_fault(route="api_info", action="big_headers", bytes=200000, name="Link")
    status, headers, body = raw_head(hub.url + "/api/models/" + TINY)
    link = dict(headers)["Link"]
    assert " 200 " in status and len(link) > 200000 and link.endswith('>; rel="next"')
    assert json.loads(body)["id"] == TINY
    hub.set_fault(route="api_info", action="big_headers", bytes=100000, lines=500)
    status, headers, body = raw_head(hub.url + "/api/models/" + TINY)
    assert " 200 " in status and len([k for k, _ in headers if k.startswith("X-Hub-Padding-")]) == 500
    assert json.loads(body)["id"] == TINY


def test_lag_serves_an_older_commit_and_hides_newer_ones(hub):
    repo = tiny(hub)
    a, b, c = repo.commit("v1.0"), repo.commit("main"), repo.commit("dev")
    r = hub.lag(TINY, "v1.0")
    assert r["at"] == a and set(r["hidden"]) == {b, c, repo.commit("refs/pr/1")}
    assert hub.request("GET", "/api/models/" + TINY).json()["sha"] == a
    assert hub.request("GET", "/api/models/%s/revision/dev" % TINY).json()["sha"] == a
    for path in ("/api/models/%s/revision/%s" % (TINY, b), "/api/models/%s/tree/%s" % (TINY, b),
                 "/%s/resolve/%s/config.json" % (TINY, b), "/api/models/%s/revision/refs%%2Fpr%%2F1" % TINY):
        got = hub.request("GET", path)
        assert got.status == 404 and got.headers["X-Error-Code"] == "RevisionNotFound", path
    got = hub.request("GET", "/%s/resolve/main/config.json" % TINY)
    assert got.headers["X-Repo-Commit"] == a and got.body == repo.read("config.json", a)
    refs = hub.request("GET", "/api/models/%s/refs?include_prs=1" % TINY).json()
    assert {x["targetCommit"] for x in refs["branches"]} == {a} and refs["pullRequests"] == []
    assert hub.request("POST", hub.control_url + "/move_branch",
                       body={"repo": TINY, "branch": "main", "commit": b}).status == 400
    hub.reset_refs()
    assert hub.request("GET", "/api/models/%s/revision/%s" % (TINY, b)).status == 200
    assert hub.request("GET", "/api/models/" + TINY).json()["sha"] == b


def test_fault_model_fixture(hub):
    repo = hub.manifest.repo("hfm-test/fault-model")
    a, b = repo.commit("v1"), repo.commit("main")
    assert repo.commits[b]["parent"] == a
    for path in ("weights.bin", "small.txt", "config.json"):
        assert repo.read(path, a) != repo.read(path, b)
    files = repo.files()
    assert files["weights.bin"]["lfs"] and files["weights.bin"]["size"] > 8 * fixtures.MIB + fixtures.MIB
    assert not files["small.txt"]["lfs"] and files["small.txt"]["size"] < fixtures.MIB
    data = hub.request("GET", "/hfm-test/fault-model/resolve/main/small.txt").body
    assert data == repo.read("small.txt") and hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == \
        files["small.txt"]["git_oid"]


# ------------------------------------------------------------------------------------ hostile listings

import hub_hostile  # noqa: E402


def tree_url(hub, repo=TINY):
    return hub.url + "/api/models/%s/tree/main?recursive=true" % repo


@pytest.mark.parametrize("case", hub_hostile.ENTRY_CASES)
def test_hostile_entry_cases_keep_the_real_entries(hub, case):
    real = hub.request("GET", tree_url(hub)).json()
    hub.set_fault(route="tree", path_contains="/hfm-test/tiny-model/", action="hostile_listing", case=case)
    got = hub.request("GET", tree_url(hub))
    assert got.status == 200
    entries = got.json()
    for e in real:
        assert e in entries
    bad = hub_hostile.bad_entries(case)
    assert len(entries) == len(real) + len(bad) + len(hub_hostile.good_extra(case))
    assert all(b in entries for b in bad)
    assert hub.request("GET", tree_url(hub)).json() == real  # times=1: healed
    # other repos are untouched
    hub.set_fault(route="tree", path_contains="/hfm-test/tiny-model/", action="hostile_listing", case=case)
    assert hub.request("GET", hub.url + "/api/datasets/hfm-test/tiny-dataset/tree/master").status == 200
    assert hub.faults()[-1]["applied"] == 0


def test_hostile_bad_names_cover_each_case():
    assert hub_hostile.bad_names("sizes") >= {"size-neg.bin", "size-2e64.bin"}
    assert "escape-dotdot.txt" in hub_hostile.bad_names("dotdot")
    assert "nul" in hub_hostile.bad_names("nul")  # what a C string would cut "nul\0bad.txt" to
    assert "x" * 256 in hub_hostile.bad_names("long")
    assert len(hub_hostile.good_extra("long")[0]["path"].encode()) == 255


@pytest.mark.parametrize("case", ["json_truncated", "json_not_array", "json_garbage", "json_deep", "json_raw_nul"])
def test_hostile_malformed_json(hub, case):
    hub.set_fault(route="tree", action="hostile_listing", case=case)
    got = hub.request("GET", tree_url(hub))
    assert got.status == 200 and got.body
    try:
        doc = json.loads(got.body)
    except (ValueError, RecursionError):
        return
    assert not isinstance(doc, list)


def test_hostile_huge_listing_is_streamed_with_its_length(hub):
    hub.set_fault(route="tree", action="hostile_listing", case="huge", mb=2)
    got = hub.request("GET", tree_url(hub))
    assert int(got.headers["Content-Length"]) == len(got.body) and 1900000 < len(got.body) < 2100000
    entries = json.loads(got.body)
    assert len({e["path"] for e in entries}) == len(entries) > 15000
    # 100 MB: only the declared length is checked, and a client that hangs up early costs the hub nothing
    hub.set_fault(route="tree", action="hostile_listing", case="huge")
    u = urllib.parse.urlsplit(hub.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/api/models/%s/tree/main?recursive=true" % TINY)
    resp = conn.getresponse()
    assert resp.status == 200 and 100000000 <= int(resp.getheader("Content-Length")) < 100100000
    assert resp.read(1 << 20).startswith(b'[{"type":"file"')
    conn.close()
    assert hub.request("GET", "/api/models/" + TINY).status == 200


def test_hostile_huge_paged(hub):
    hub.set_fault(route="tree", action="hostile_listing", case="huge_paged", mb=2, pages=4, times=10)
    entries, pages, links = follow_tree(hub, tree_url(hub))
    assert len(pages) == 4 and len(links) == 3
    assert len({e["path"] for e in entries}) == len(entries)


def test_hostile_pagination_loop_and_endless(hub):
    hub.set_fault(route="tree", action="hostile_listing", case="pagination_loop", times=100)
    url, seen = tree_url(hub), []
    for _ in range(5):
        r = hub.request("GET", url)
        assert r.status == 200 and r.json()
        url = r.headers["Link"][1:r.headers["Link"].index(">")]
        seen.append(url)
    assert seen[0] != seen[1] and seen[2] == seen[0] and seen[3] == seen[1]  # c1 c2 c1 c2 ...
    hub.clear_faults()
    hub.set_fault(route="tree", action="hostile_listing", case="pagination_endless", times=100)
    url, seen = tree_url(hub), set()
    for _ in range(5):
        r = hub.request("GET", url)
        url = r.headers["Link"][1:r.headers["Link"].index(">")]
        assert url not in seen
        seen.add(url)
    hub.clear_faults()
    hub.set_fault(route="tree", action="hostile_listing", case="pagination_offsite")
    r = hub.request("GET", tree_url(hub))
    assert r.headers["Link"].startswith("<http://127.0.0.3:9/api/models/%s/tree/main?" % TINY)


def test_hostile_oversized_headers(hub):
    hub.set_fault(route="tree", action="hostile_listing", case="oversized_link")
    status, headers, body = raw_head(tree_url(hub))
    assert len(dict(headers)["Link"]) > 200000 and json.loads(body)
    hub.set_fault(route="tree", action="hostile_listing", case="many_headers", header_lines=3000)
    status, headers, body = raw_head(tree_url(hub))
    assert " 200 " in status and len(headers) > 3000 and json.loads(body)


def test_hostile_listing_rules_are_checked(hub):
    for body in ({"action": "hostile_listing"}, {"action": "hostile_listing", "case": "nope"},
                 {"action": "hostile_listing", "case": "huge", "mb": 5000}):
        assert hub.request("POST", hub.control_url + "/faults", body=body).status == 400
