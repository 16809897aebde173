"""The hfmirror command against the test hub, its output parsed: resolve, ls, prefetch (plain progress lines, a
progress bar in a pty, failures listed, --include/--exclude, the cache then serving a mount with no data
requests), cache stats, and status of a running mount."""

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY = "hfm-test/tiny-model"


def cli_binary():
    mount = Path(os.environ.get("HFM_BINARY", ROOT / "build" / "mount.hfmirror"))
    return str(mount.resolve().parent / "hfmirror")


def run(hub, cache, *args, check=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = "/nonexistent/hfmirror.conf"
    r = subprocess.run([cli_binary()] + list(args) + ["--endpoint", hub.url, "--cache", str(cache)], env=env,
                       capture_output=True, text=True, timeout=300)
    if check is not None:
        assert r.returncode == check, r.stdout + r.stderr
    return r


def data_requests(hub):
    s = hub.stats()["requests"]
    return s.get("hub", {}).get("resolve", 0) + sum(s.get("cdn", {}).values())


def test_resolve_prints_the_commit(hub, tmp_path):
    repo = hub.manifest.repo(TINY)
    assert run(hub, tmp_path / "c", "resolve", TINY, check=0).stdout.strip() == repo.commit("main")
    assert run(hub, tmp_path / "c", "resolve", TINY + "@refs/pr/1", check=0).stdout.strip() == repo.commit("refs/pr/1")
    missing = run(hub, tmp_path / "c", "resolve", "hfm-test/no-such-repo")
    assert missing.returncode == 1 and "no-such-repo" in missing.stderr
    assert run(hub, tmp_path / "c", "resolve", "not-a-repo-id").returncode == 2


def test_search_lists_matching_repo_ids(hub, tmp_path):
    out = run(hub, tmp_path / "c", "search", "tiny", check=0).stdout.split("\n")
    ids = [line.split()[0] for line in out if line]
    assert TINY in ids and all("tiny" in i for i in ids)
    datasets = run(hub, tmp_path / "c", "search", "tiny", "--kind", "dataset", check=0).stdout.split()
    assert "datasets/hfm-test/tiny-dataset" in datasets
    gated = run(hub, tmp_path / "c", "search", "gated", check=0).stdout
    assert re.search(r"^hfm-test/gated-model  gated$", gated, re.M), gated
    assert len(run(hub, tmp_path / "c", "search", "hfm-test", "--limit", "2", check=0).stdout.splitlines()) == 2
    assert run(hub, tmp_path / "c", "search", "x", "--kind", "bogus").returncode == 2


def test_ls_lists_sizes_and_folders(hub, tmp_path):
    repo = hub.manifest.repo(TINY)
    out = run(hub, tmp_path / "c", "ls", TINY, "-R", check=0).stdout
    listed = {}
    for line in out.splitlines():
        size, path = line.split(None, 1)
        listed[path] = size
    for path, e in repo.files().items():
        assert listed[path] == str(e["size"]), path
    assert any(p.endswith("/") and v == "-" for p, v in listed.items())
    top = run(hub, tmp_path / "c", "ls", TINY, check=0).stdout
    assert all("/" not in line.split(None, 1)[1].rstrip("/") for line in top.splitlines())


def test_prefetch_fills_the_cache_a_mount_then_reads_with_no_data_requests(hub, mount, tmp_path):
    cache = tmp_path / "cache"
    repo = hub.manifest.repo(TINY)
    r = run(hub, cache, "prefetch", TINY, check=0)
    lines = r.stdout.splitlines()
    assert re.search(r"prefetch %s +100%% .* / .*/s  ETA" % re.escape(TINY), r.stdout), r.stdout
    assert "\r" not in r.stdout, "no terminal: plain lines"
    assert re.match(r"%d file\(s\), .*; 0 already complete" % len(repo.files()), lines[-1]), lines[-1]
    again = run(hub, cache, "prefetch", TINY, check=0)
    assert "%d already complete" % len(repo.files()) in again.stdout

    before = data_requests(hub)
    m = mount(cache_dir=cache)
    for path, e in repo.files().items():
        assert (m.path / "hfm-test" / "tiny-model" / path).read_bytes() == Path(e["bytes_path"]).read_bytes()
        assert os.getxattr(m.path / "hfm-test" / "tiny-model" / path, "user.hfmirror.state") == b"complete"
    assert data_requests(hub) == before, "the mount fetched what prefetch had cached"


def test_prefetch_include_exclude(hub, mount, tmp_path):
    cache = tmp_path / "cache"
    repo = hub.manifest.repo(TINY)
    run(hub, cache, "prefetch", TINY, "--include", "*.json", "--exclude", "tokenizer*", check=0)
    m = mount(cache_dir=cache)
    for path in repo.files():
        state = os.getxattr(m.path / "hfm-test" / "tiny-model" / path, "user.hfmirror.state")
        name = path.rsplit("/", 1)[-1]
        wanted = path.endswith(".json") and not path.startswith("tokenizer")
        assert state == (b"complete" if wanted else b"absent"), (path, state, name)


def test_prefetch_lists_what_failed_and_exits_non_zero(hub, tmp_path):
    r = run(hub, tmp_path / "cache", "prefetch", "hfm-test/corrupt")
    assert r.returncode == 1
    assert "bad.safetensors" in r.stderr and "failed" in r.stderr
    assert "good.txt" not in r.stderr


def test_prefetch_draws_a_progress_bar_on_a_terminal(hub, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = "/nonexistent/hfmirror.conf"
    master, slave = pty.openpty()
    p = subprocess.Popen([cli_binary(), "prefetch", "hfm-test/large-model", "--endpoint", hub.url, "--cache",
                          str(tmp_path / "cache")], stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert p.wait(timeout=300) == 0, p.stderr.read()
    text = out.decode()
    assert "\r\x1b[K" in text, "redrawn in place"
    assert re.search(r"\[#+\.*\] +\d+% ", text), text[-500:]
    assert "100%" in text and "ETA" in text and "/s" in text


def test_cache_stats_and_status_of_a_running_mount(hub, mount, tmp_path):
    cache = tmp_path / "cache"
    run(hub, cache, "prefetch", TINY, check=0)
    stats = run(hub, cache, "cache", "stats", check=0).stdout
    assert re.search(r"complete files +%d" % len(hub.manifest.repo(TINY).files()), stats), stats
    m = mount()
    (m.path / "hfm-test" / "tiny-model" / "config.json").read_bytes()
    r = subprocess.run([cli_binary(), "status", str(m.path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert str(m.path) in r.stdout and "endpoint %s  healthy" % hub.url in r.stdout, r.stdout
    assert re.search(r"fetched \S+ \S+  served \S+ \S+  cache hit ratio [0-9.]+  open files 0", r.stdout), r.stdout
    j = json.loads(subprocess.run([cli_binary(), "status", str(m.path), "--json"], capture_output=True, text=True,
                                  timeout=60).stdout)
    assert j[0]["mountpoint"] == str(m.path) and j[0]["bytes_served"] > 0
    assert subprocess.run([cli_binary(), "status", str(tmp_path)], capture_output=True).returncode == 1


def test_cache_ls_verify_evict_gc_and_purge_beside_a_running_mount(hub, mount, tmp_path):
    cache = tmp_path / "cache"
    repo = hub.manifest.repo(TINY)
    main, pr = repo.commit("main"), repo.commit("refs/pr/1")
    run(hub, cache, "prefetch", TINY, check=0)
    run(hub, cache, "prefetch", TINY + "@refs/pr/1", check=0)

    def revisions():
        doc = json.loads(run(hub, cache, "cache", "ls", "--json", check=0).stdout)
        return {r["commit"]: r for r in doc["revisions"] if r["repo"] == TINY}, doc

    revs, doc = revisions()
    assert revs[main]["state"] == "complete" and revs[main]["revisions"] == ["(default)"], revs[main]
    assert revs[main]["files"] == len(repo.files()) and revs[main]["cached_bytes"] == revs[main]["bytes"]
    assert revs[pr]["state"] == "complete" and revs[pr]["revisions"] == ["refs/pr/1"]
    assert revs[pr]["files"] == len(repo.files("refs/pr/1"))
    shared = set(repo.files()) & set(repo.files("refs/pr/1"))
    only_pr = [p for p in repo.files("refs/pr/1") if p not in shared or
               repo.files("refs/pr/1")[p]["sha256"] != repo.files()[p]["sha256"]]
    assert doc["stored_files"] >= len(repo.files()) and doc["unlisted_files"] == 0
    table = run(hub, cache, "cache", "ls", check=0).stdout
    assert re.search(r"^%s +%s +\(default\) +%d/%d .* complete$" % (re.escape(TINY), main[:12], len(repo.files()),
                                                             len(repo.files())), table, re.M), table

    verified = run(hub, cache, "cache", "verify", check=0).stdout
    assert re.search(r"verified %d complete files .*: 0 bad" % doc["stored_files"], verified), verified

    # Evicting the PR's commit drops only what main's commit does not also have, under a running mount
    # that then reads the evicted file again from the hub.
    m = mount(cache_dir=cache)
    evicted = run(hub, cache, "cache", "evict", TINY + "@refs/pr/1", check=0).stdout
    assert "dropped %d files" % len(only_pr) in evicted and "kept %d files" % len(shared) in evicted, evicted
    revs, _ = revisions()
    assert revs[pr]["state"] == "partial" and revs[main]["state"] == "complete"
    for path in only_pr:
        got = (m.path / "hfm-test" / ("tiny-model@" + pr) / path).read_bytes()
        assert got == Path(repo.files("refs/pr/1")[path]["bytes_path"]).read_bytes()
    assert run(hub, cache, "cache", "evict", "hfm-test/never-cached").returncode == 1

    gc = run(hub, cache, "cache", "gc", "--max-size", "0", check=0).stdout
    assert re.search(r"dropped \d+ files .*; the cache holds 0 B", gc), gc
    revs, doc = revisions()
    assert revs[main]["state"] == "listed" and doc["stored_bytes"] == 0

    refused = run(hub, cache, "cache", "purge")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert revisions()[0], "nothing was purged without --yes"
    run(hub, cache, "cache", "purge", "--yes", check=0)
    assert revisions()[1]["revisions"] == []

    typo = tmp_path / "no-such-cache"
    missing = run(hub, typo, "cache", "ls")
    assert missing.returncode == 1 and "no cache at %s" % typo in missing.stderr, missing.stderr
    assert not typo.exists(), "a look into a mistyped --cache must not create it"


def test_status_names_a_mount_whose_daemon_is_gone(hub, mount):
    m = mount()
    m.proc.kill()
    m.proc.wait(10)
    r = subprocess.run([cli_binary(), "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "%s: its daemon is gone" % m.path in r.stderr and "fusermount3 -uz %s" % m.path in r.stderr, r.stderr
