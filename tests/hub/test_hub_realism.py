"""The test hub's real-Hub behaviours (hub_realism.py, POST /_hub/behaviour) speak the facts of fetch/PROTOCOL.md:
range-bound signatures, HEAD /resolve, the resolvers quota, resolve-cache, Xet bridge URLs, mirrors that
redirect upstream, and the log fields that count /resolve calls per file."""

import hashlib
import re
import time
import urllib.parse

import pytest

import fixtures
import hub_realism
import hubctl

TINY = "hfm-test/tiny-model"
FAULT = "hfm-test/fault-model"
GATED = "hfm-test/gated-model"
VALID = {"Authorization": "Bearer " + fixtures.VALID_TOKEN}
RATE_LIMIT = re.compile(r'^"resolvers";r=(\d+);t=(\d+)$')


def q(path):
    return "/".join(urllib.parse.quote(seg, safe="") for seg in path.split("/"))


def resolve_url(repo, path, rev="main", prefix=""):
    return "/%s%s/resolve/%s/%s" % (prefix, repo, rev, q(path))


def logged(h, n, timeout=10):
    """The log once it holds `n` entries: a request is logged when its handler ends, which may be just after
    the client read the answer. Polls the hub's own log, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        log = h.log()
        if len(log) >= n or time.monotonic() > deadline:
            assert len(log) >= n, log
            return log
        time.sleep(0.02)


def signed_headers(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["X-Amz-SignedHeaders"]


# ------------------------------------------------------------------------------- the switches themselves

def test_behaviour_defaults_and_reset(hub):
    now = hub.behaviour()
    assert now == dict(hub_realism.DEFAULTS)
    # On by default, as reported of the real Hub: every test then shows the client never asks /resolve for
    # a range and reuses the location for another.
    assert now["range_bound_signatures"] is hub_realism.RANGE_BOUND_SIGNATURES_DEFAULT is True
    assert now["xet_unranged_limit"] == 50 * 10 ** 9
    hub.range_bound_signatures(False)
    hub.resolver_quota(5, 60)
    assert hub.behaviour()["resolver_quota"] == {"limit": 5, "window": 60, "retry_after": False, "used": 0}
    hub.reset()
    assert hub.behaviour() == dict(hub_realism.DEFAULTS)


@pytest.mark.parametrize("body", [{"nope": True}, {"range_bound_signatures": 1}, {"xet": "yes"},
                                  {"resolver_quota": {"limit": 1, "window": 0}}, {"resolver_quota": {"limit": 1}}])
def test_behaviour_rejects_bad_switches(hub, body):
    r = hub.request("POST", hub.control_url + "/behaviour", body=body)
    assert r.status == 400, r
    assert hub.behaviour() == dict(hub_realism.DEFAULTS)


def test_behaviour_from_the_start_survives_reset(tmp_path):
    h = hubctl.start_hub(behaviour={"range_bound_signatures": True},
                         stderr_path=str(tmp_path / "testhub.stderr"))
    try:
        h.reset()
        assert h.behaviour()["range_bound_signatures"] is True
    finally:
        h.stop()


# ------------------------------------------------------------------------------ 1. range-bound signatures

def test_ranged_resolve_signs_any_range_when_switched_off(hub):
    hub.range_bound_signatures(False)
    r = hub.request("GET", resolve_url(TINY, "model.safetensors"), {"Range": "bytes=0-99"})
    assert r.status == 302 and signed_headers(r.headers["Location"]) == "host"
    assert hub.request("GET", r.headers["Location"], {"Range": "bytes=100-199"}).status == 206
    assert hub.request("GET", r.headers["Location"]).status == 200


def test_range_bound_signature_serves_only_its_range(hub):
    data = hub.manifest.repo(TINY).read("model.safetensors")
    hub.range_bound_signatures()
    r = hub.request("GET", resolve_url(TINY, "model.safetensors"), {"Range": "bytes=0-99"})
    assert r.status == 302 and signed_headers(r.headers["Location"]) == "host;range"
    loc = r.headers["Location"]
    same = hub.request("GET", loc, {"Range": "bytes=0-99"})
    assert same.status == 206 and same.body == data[:100]
    for other in ({"Range": "bytes=100-199"}, {"Range": "bytes=0-100"}, {}):
        refused = hub.request("GET", loc, other)
        assert refused.status == 403 and b"<Error>" in refused.body, other
    # Without Range (GET or HEAD), and a HEAD even with one, the URL is good for any range.
    for method, headers in (("GET", {}), ("HEAD", {}), ("HEAD", {"Range": "bytes=0-99"})):
        free = hub.request(method, resolve_url(TINY, "model.safetensors"), headers).headers["Location"]
        assert signed_headers(free) == "host", (method, headers)
        part = hub.request("GET", free, {"Range": "bytes=100-199"})
        assert part.status == 206 and part.body == data[100:200]
        assert hub.request("GET", free).status == 200
    hub.range_bound_signatures(False)
    assert hub.request("GET", loc, {"Range": "bytes=0-99"}).status == 206  # issued bound: stays bound


def test_range_bound_signature_cannot_be_unbound_by_editing_the_query(hub):
    hub.range_bound_signatures()
    loc = hub.request("GET", resolve_url(TINY, "model.safetensors"), {"Range": "bytes=0-9"}).headers["Location"]
    edited = loc.replace("X-Amz-SignedHeaders=host%3Brange", "X-Amz-SignedHeaders=host")
    assert edited != loc
    r = hub.request("GET", edited, {"Range": "bytes=10-19"})
    assert r.status == 403 and b"SignatureDoesNotMatch" in r.body


# ------------------------------------------------------------------------------------- 2. HEAD /resolve

def head_and_get(hub, url, headers=None):
    got = hub.request("GET", url, headers)
    head = hub.request("HEAD", url, headers)
    return got, head


def same_headers(a, b, skip=("date", "location", "content-length", "link")):
    pick = lambda r: sorted((k.lower(), v) for k, v in r.headers.items() if k.lower() not in skip)  # noqa: E731
    return pick(a) == pick(b)


@pytest.mark.parametrize("repo,path,headers", [(TINY, "model.safetensors", {}), (GATED, "weights.safetensors", VALID),
                                               ("hfm-test/large-model", "large.bin", {})])
def test_head_resolve_of_an_lfs_file_answers_like_get(hub, repo, path, headers):
    f = hub.manifest.repo(repo).files()[path]
    got, head = head_and_get(hub, resolve_url(repo, path), headers)
    for r in (got, head):
        assert r.status == 302
        assert urllib.parse.urlsplit(r.headers["Location"]).path == "/lfs/" + f["sha256"]
        assert r.headers["X-Linked-Etag"] == '"%s"' % f["sha256"]
        assert r.headers["X-Linked-Size"] == str(f["size"])
        assert r.headers["X-Repo-Commit"] == hub.manifest.repo(repo).branches["main"]
        assert r.headers["ETag"] == '"%s"' % f["oid"]
    assert same_headers(got, head) and head.body == b"" and got.body.startswith(b"Found. Redirecting to ")
    assert head.headers["Content-Length"] == got.headers["Content-Length"]
    assert hub.request("GET", head.headers["Location"], {"Range": "bytes=0-3"}).status == 206


@pytest.mark.parametrize("repo,path,headers,status", [(TINY, "config.json", {}, 200), (TINY, "nope.txt", {}, 404),
                                                      (GATED, "config.json", {}, 401)])
def test_head_resolve_answers_like_get_for_regular_files_and_errors(hub, repo, path, headers, status):
    got, head = head_and_get(hub, resolve_url(repo, path), headers)
    assert got.status == head.status == status
    assert head.headers["X-Repo-Commit"] and same_headers(got, head) and head.body == b""


# ------------------------------------------------------------------------------------ 3. resolver quota

def rate(r):
    m = RATE_LIMIT.match(r.headers.get("RateLimit", ""))
    assert m, r.headers
    return int(m.group(1)), int(m.group(2))


def test_resolver_quota_counts_resolves_and_refuses_past_it(hub):
    hub.resolver_quota(3, 300)
    policy = '"fixed window";"resolvers";q=3;w=300'
    first = hub.request("GET", resolve_url(TINY, "model.safetensors"))
    second = hub.request("HEAD", resolve_url(TINY, "config.json"))
    third = hub.request("GET", resolve_url(TINY, "missing.txt"))  # errors count too
    assert (first.status, second.status, third.status) == (302, 200, 404)
    assert [rate(r)[0] for r in (first, second, third)] == [2, 1, 0]
    for r in (first, second, third):
        assert r.headers["RateLimit-Policy"] == policy and 0 < rate(r)[1] <= 300
    refused = hub.request("GET", resolve_url(TINY, "config.json"))
    assert refused.status == 429 and refused.headers["RateLimit-Policy"] == policy
    assert rate(refused)[0] == 0 and 0 < rate(refused)[1] <= 300
    assert "Retry-After" not in refused.headers
    assert "rate limit" in refused.json()["error"] and refused.headers["X-Error-Message"]
    assert hub.request("HEAD", resolve_url(TINY, "model.safetensors")).status == 429
    # CDN GETs of URLs already signed, and API calls, are not resolves.
    cdn = hub.request("GET", first.headers["Location"], {"Range": "bytes=0-9"})
    assert cdn.status == 206 and "RateLimit" not in cdn.headers
    tree = hub.request("GET", "/api/models/%s/tree/main" % TINY)
    assert tree.status == 200 and "RateLimit" not in tree.headers
    refused_log = [(e["method"], e["file"]) for e in logged(hub, 7) if e["quota_refused"]]
    assert hub.stats()["quota_refused"] == {"resolve": 2}
    assert refused_log == [("GET", "config.json"), ("HEAD", "model.safetensors")]
    assert hub.behaviour()["resolver_quota"]["used"] == 3
    hub.resolver_quota(None)
    r = hub.request("GET", resolve_url(TINY, "config.json"))
    assert r.status == 200 and "RateLimit" not in r.headers


def test_resolver_quota_retry_after_and_a_new_window(hub):
    hub.resolver_quota(1, 1, retry_after=True)
    assert hub.request("GET", resolve_url(TINY, "config.json")).status == 200
    refused = hub.request("GET", resolve_url(TINY, "config.json"))
    assert refused.status == 429 and refused.headers["Retry-After"] == str(rate(refused)[1])
    time.sleep(1.05)  # the window is one second long: the next one has its quota back
    again = hub.request("GET", resolve_url(TINY, "config.json"))
    assert again.status == 200 and rate(again)[0] == 0


def test_resolver_quota_counts_resolve_cache(hub):
    hub.resolve_cache()
    hub.resolver_quota(2, 300)
    redirect = hub.request("GET", resolve_url(TINY, "config.json"))
    assert redirect.status == 307 and rate(redirect)[0] == 1
    served = hub.request("GET", redirect.headers["Location"])
    assert served.status == 200 and rate(served)[0] == 0
    refused = hub.request("GET", redirect.headers["Location"])
    assert refused.status == 429 and logged(hub, 3)
    assert hub.stats()["quota_refused"] == {"resolve_cache": 1}


# -------------------------------------------------------------------------------------- 4. resolve-cache

def test_regular_files_resolve_directly_by_default(hub):
    r = hub.request("GET", resolve_url(TINY, "config.json"))
    assert r.status == 200 and r.body == hub.manifest.repo(TINY).read("config.json")


@pytest.mark.parametrize("kind,repo,path", [("model", TINY, "config.json"), ("model", TINY, "name with spaces.txt"),
                                            ("model", TINY, fixtures.UNICODE_NAME),
                                            ("dataset", "hfm-test/tiny-dataset", "data/train.csv")])
def test_resolve_cache_redirect_and_what_it_serves(hub, kind, repo, path):
    hub.resolve_cache()
    r_repo = hub.manifest.repo(repo, kind)
    data, commit = r_repo.read(path), r_repo.branches[r_repo.default_branch]
    prefix = "" if kind == "model" else kind + "s/"
    url = resolve_url(repo, path, r_repo.default_branch, prefix)
    for method in ("GET", "HEAD"):
        r = hub.request(method, url)
        assert r.status == 307 and r.headers["X-Repo-Commit"] == commit
        assert r.body == (b"Temporary Redirect. Redirecting to " + r.headers["Location"].encode()
                          if method == "GET" else b"")
    loc = r.headers["Location"]
    etag = '"%s"' % fixtures.git_blob_sha1(data)
    assert loc == "/api/resolve-cache/%ss/%s/%s/%s?%s=&etag=%s" % (
        kind, repo, commit, q(path), urllib.parse.quote(urllib.parse.unquote(url), safe=""),
        urllib.parse.quote(etag, safe=""))
    whole = hub.request("GET", loc)
    assert whole.status == 200 and whole.body == data
    assert whole.headers["ETag"] == etag and whole.headers["X-Repo-Commit"] == commit
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = hub.request("GET", loc, {"Range": "bytes=2-5"})
    assert part.status == 206 and part.body == data[2:6]
    assert part.headers["Content-Range"] == "bytes 2-5/%d" % len(data) and part.headers["ETag"] == etag
    past = hub.request("GET", loc, {"Range": "bytes=%d-" % len(data)})
    assert past.status == 416 and past.headers["Content-Range"] == "bytes */%d" % len(data)
    head = hub.request("HEAD", loc)
    assert head.status == 200 and head.body == b"" and head.headers["Content-Length"] == str(len(data))
    assert sorted(e["route"] for e in logged(hub, 6)) == ["resolve"] * 2 + ["resolve_cache"] * 4


def test_resolve_cache_leaves_lfs_files_and_errors_alone(hub):
    hub.resolve_cache()
    assert hub.request("GET", resolve_url(TINY, "model.safetensors")).status == 302
    missing = hub.request("GET", resolve_url(TINY, "nope.txt"))
    assert missing.status == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"


def test_resolve_cache_route_checks_commit_and_access(hub):
    commit = hub.manifest.repo(TINY).branches["main"]
    assert hub.request("GET", "/api/resolve-cache/models/%s/main/config.json" % TINY).status == 400
    r = hub.request("GET", "/api/resolve-cache/models/%s/%s/nope.txt" % (TINY, commit))
    assert r.status == 404 and r.headers["X-Error-Code"] == "EntryNotFound" and r.headers["X-Repo-Commit"] == commit
    gated = hub.manifest.repo(GATED).branches["main"]
    url = "/api/resolve-cache/models/%s/%s/config.json" % (GATED, gated)
    r = hub.request("GET", url)
    assert r.status == 401 and r.headers["X-Error-Code"] == "GatedRepo"
    assert hub.request("GET", url, VALID).status == 200


# ------------------------------------------------------------------------------------------------ 5. Xet

def test_xet_resolve_redirects_to_the_bridge(hub):
    hub.xet([FAULT], unranged_limit=fixtures.MIB)
    repo = hub.manifest.repo(FAULT)
    f, commit = repo.files()["weights.bin"], repo.branches["main"]
    data = repo.read("weights.bin")
    xhash = hub_realism.xet_hash(f["sha256"])
    for method in ("GET", "HEAD"):
        r = hub.request(method, resolve_url(FAULT, "weights.bin"))
        assert r.status == 302
        loc = urllib.parse.urlsplit(r.headers["Location"])
        assert "%s://%s" % (loc.scheme, loc.netloc) == hub.cdn_url
        assert re.fullmatch(r"/xet-bridge-us/[0-9a-f]{24}/%s" % xhash, loc.path), loc.path
        assert r.headers["X-Xet-Hash"] == xhash
        assert r.headers["Link"] == (
            '<%s/api/models/%s/xet-read-token/%s>; rel="xet-auth", <%s/v1/reconstructions/%s>; '
            'rel="xet-reconstruction-info"' % (hub.url, FAULT, commit, hub_realism.XET_CAS, xhash))
        assert r.headers["X-Linked-Etag"] == '"%s"' % f["sha256"] and r.headers["X-Linked-Size"] == str(f["size"])
        assert r.headers["X-Repo-Commit"] == commit and r.headers["ETag"] == '"%s"' % f["oid"]
    bridge = r.headers["Location"]
    part = hub.request("GET", bridge, {"Range": "bytes=%d-%d" % (5 * fixtures.MIB, 5 * fixtures.MIB + 999)})
    assert part.status == 206 and part.body == data[5 * fixtures.MIB:5 * fixtures.MIB + 1000]
    assert part.headers["Content-Range"] == "bytes %d-%d/%d" % (5 * fixtures.MIB, 5 * fixtures.MIB + 999, f["size"])
    assert hub.request("GET", bridge).status == 400  # unranged, and over the limit
    head = hub.request("HEAD", bridge)
    assert head.status == 200 and head.headers["Content-Length"] == str(f["size"])
    assert hub.request("GET", bridge.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status == 403
    assert all(e["route"] == "cdn" for e in hub.log() if e["host"] == "cdn")
    hub.xet([FAULT], unranged_limit=f["size"])
    whole = hub.request("GET", bridge)
    assert whole.status == 200 and hashlib.sha256(whole.body).hexdigest() == f["sha256"]


def test_xet_listings_carry_xet_hash_and_other_files_stay_lfs(hub):
    hub.xet([FAULT])
    tree = hub.request("GET", "/api/models/%s/tree/main?recursive=true" % FAULT).json()
    by_path = {e["path"]: e for e in tree}
    assert by_path["weights.bin"]["xetHash"] == hub_realism.xet_hash(by_path["weights.bin"]["lfs"]["oid"])
    assert "xetHash" not in by_path["small.txt"]
    info = hub.request("POST", "/api/models/%s/paths-info/main" % FAULT, body={"paths": ["weights.bin"]}).json()
    assert info[0]["xetHash"] == by_path["weights.bin"]["xetHash"]
    assert hub.request("GET", resolve_url(FAULT, "small.txt")).status == 200
    tiny = hub.request("GET", resolve_url(TINY, "model.safetensors"))
    assert tiny.status == 302 and "X-Xet-Hash" not in tiny.headers
    assert "xetHash" not in str(hub.request("GET", "/api/models/%s/tree/main" % TINY).json())


def test_xet_bridge_url_is_range_bound_too(hub):
    hub.xet(True)
    hub.range_bound_signatures()
    loc = hub.request("GET", resolve_url(FAULT, "weights.bin"), {"Range": "bytes=0-9"}).headers["Location"]
    assert "/xet-bridge-us/" in loc and signed_headers(loc) == "host;range"
    assert hub.request("GET", loc, {"Range": "bytes=0-9"}).status == 206
    assert hub.request("GET", loc, {"Range": "bytes=10-19"}).status == 403


# ------------------------------------------------------------------------------- 6. redirect upstream

@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    """A second hub standing in for huggingface.co behind a mirror (the session hub)."""
    h = hubctl.start_hub(stderr_path=str(tmp_path_factory.mktemp("upstream") / "testhub.stderr"))
    yield h
    h.stop()


def test_mirror_redirects_to_upstream_and_gated_upstream_refuses_without_token(hub, upstream):
    upstream.reset()
    hub.redirect_to_upstream(upstream.url, path_contains=GATED)
    url = resolve_url(GATED, "weights.safetensors") + "?download=true"
    r = hub.request("GET", url, VALID)
    assert r.status == 308 and r.headers["Location"] == upstream.url + url
    assert r.body == b"Permanent Redirect. Redirecting to " + r.headers["Location"].encode()
    # Another host: a client that rightly drops its token gets the upstream's GatedRepo 401.
    refused = hub.request("GET", r.headers["Location"])
    assert refused.status == 401 and refused.headers["X-Error-Code"] == "GatedRepo"
    assert hub.request("GET", r.headers["Location"], VALID).status == 302
    assert hub.request("GET", resolve_url(TINY, "config.json")).status == 200  # other paths: the mirror answers
    assert sorted(e["status"] for e in logged(upstream, 2) if e["route"] == "resolve") == [302, 401]
    assert hub.faults()[0]["action"] == "redirect_upstream" and hub.faults()[0]["applied"] == 1


@pytest.mark.parametrize("status", [301, 302, 307])
def test_redirect_upstream_status_is_configurable(hub, upstream, status):
    hub.redirect_to_upstream(upstream.url, status=status)
    r = hub.request("HEAD", resolve_url(TINY, "config.json"))
    assert r.status == status and r.headers["Location"] == upstream.url + resolve_url(TINY, "config.json")


@pytest.mark.parametrize("rule", [{"action": "redirect_upstream"}, {"action": "redirect_upstream", "base": "ftp://x"},
                                  {"action": "redirect_upstream", "base": "http://x", "status": 303}])
def test_redirect_upstream_rules_are_checked(hub, rule):
    assert hub.request("POST", hub.control_url + "/faults", body=rule).status == 400


# ------------------------------------------------------------------------------------------- 7. the log

def test_log_tells_range_and_head_per_file(hub):
    hub.request("GET", resolve_url(TINY, "model.safetensors"))
    hub.request("GET", resolve_url(TINY, "model.safetensors"), {"Range": "bytes=0-9"})
    hub.request("HEAD", resolve_url(TINY, "model.safetensors"))
    hub.request("GET", resolve_url(TINY, "config.json"))
    hub.request("GET", "/api/models/%s/tree/main" % TINY)
    logged(hub, 5)
    calls = sorted(hub.resolve_log(file="model.safetensors"), key=lambda e: e["arrived"])
    assert [(e["method"], e["head"], e["has_range"]) for e in calls] == [
        ("GET", False, False), ("GET", False, True), ("HEAD", True, False)]
    assert all(e["repo"] == TINY and not e["quota_refused"] for e in calls)
    assert len(hub.resolve_log()) == 4 and len(hub.resolve_log(repo=TINY, file="config.json")) == 1
    tree = [e for e in hub.log() if e["route"] == "tree"][0]
    assert tree["repo"] == TINY and tree["file"] == "" and tree["has_range"] is False
