"""A mount against the test hub speaking the real Hub's habits (fetch/PROTOCOL.md, "What the real Hub does
besides"): locations signed for a Range are bound to it, resolves have a quota of their own, regular files
come through a relative resolve-cache, Xet files through the bridge, and a mirror sends what it lacks to
the Hub with a 308. Plus HF_HUB_OFFLINE=1: nothing is sent at all."""

import errno
import hashlib
import os
import re
import subprocess
import time

import pytest

LARGE = ("hfm-test", "large-model", "large.bin")
MIB = 1 << 20
VALID_TOKEN = "hf_test_valid_token"


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def expected(hub, repo, path):
    return hub.manifest.repo(repo).read(path)


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def test_a_large_file_costs_one_resolve_when_signatures_are_bound_to_ranges(hub, mount):
    hub.range_bound_signatures(True)
    m = mount()
    got = read_all(m.path.joinpath(*LARGE))
    assert sha256(got) == sha256(expected(hub, "hfm-test/large-model", "large.bin"))
    resolves = hub.resolve_log(file="large.bin")
    assert len(resolves) <= 2, resolves
    assert all(not r["has_range"] for r in resolves), "a /resolve with Range gets a location bound to it"
    refused = [r for r in hub.log() if r["host"] == "cdn" and r["status"] == 403]
    assert refused == [], "the CDN refused %d ranges" % len(refused)


def test_a_regular_file_behind_resolve_cache_is_resolved_once(hub, mount):
    hub.resolve_cache(True)
    m = mount()
    for name in ("tokenizer.json", "config.json"):
        got = read_all(m.path / "hfm-test" / "tiny-model" / name)
        assert got == expected(hub, "hfm-test/tiny-model", name)
        assert len(hub.resolve_log(file=name)) == 1
    assert hub.count("resolve_cache") >= 2


def test_a_429_on_resolves_holds_back_only_files_not_yet_located(hub, mount):
    hub.resolver_quota(limit=1, window=300)
    m = mount(extra_options=["timeout=3"])
    large = m.path.joinpath(*LARGE)
    want = expected(hub, "hfm-test/large-model", "large.bin")
    with open(large, "rb", buffering=0) as f:
        assert f.read(MIB) == want[:MIB]  # takes the one resolve of the window
    other = m.path / "hfm-test" / "tiny-model" / "model.safetensors"
    start = time.monotonic()
    with pytest.raises(OSError) as refused:
        read_all(other)
    elapsed = time.monotonic() - start
    assert refused.value.errno == errno.EIO
    # It waited out its read timeout (the quota's window is 300 s), and no longer.
    assert 2.5 <= elapsed < 3 + 5, "refused after %.1fs" % elapsed
    # The file located before reads on from the CDN: a 429 on resolves says nothing of signed URLs.
    with open(large, "rb") as f:
        f.seek(MIB)
        assert sha256(f.read()) == sha256(want[MIB:])
    assert len(hub.resolve_log(file="large.bin")) == 1
    assert any(r["quota_refused"] for r in hub.resolve_log(file="model.safetensors"))
    assert "rate" in m.stderr_text() or "wait" in m.stderr_text()


def test_xet_files_read_through_the_bridge_with_ranges_only(hub, mount):
    hub.xet(True, unranged_limit=MIB)
    m = mount()
    got = read_all(m.path.joinpath(*LARGE))
    assert sha256(got) == sha256(expected(hub, "hfm-test/large-model", "large.bin"))
    bridge = [r for r in hub.log() if r["host"] == "cdn"]
    assert bridge and all(r["range"] for r in bridge)
    assert all(r["status"] in (200, 206) for r in bridge), [r["status"] for r in bridge]


def test_a_mirrors_redirect_to_a_gated_hub_is_access_denied_and_the_token_stays(hub, mirror_hub, mount):
    # `hub` plays the mirror: it sends every gated file to `mirror_hub`, playing huggingface.co.
    hub.redirect_to_upstream(mirror_hub.url, status=308, path_contains="gated-model")
    m = mount(env={"HF_TOKEN": VALID_TOKEN}, extra_options=["timeout=10"])
    gated = m.path / "hfm-test" / "gated-model"
    start = time.monotonic()
    # The access gate's probe of a byte got the Hub's refusal: the repo is closed to this mount, listing and all.
    with pytest.raises(OSError) as denied:
        os.listdir(gated)
    assert denied.value.errno == errno.EACCES
    with pytest.raises(OSError) as denied:
        read_all(gated / "config.json")
    assert denied.value.errno == errno.EACCES
    assert time.monotonic() - start < 5, "access denied is no transient fault to retry"
    upstream = [r for r in mirror_hub.log() if r["route"] in ("resolve", "cdn")]
    assert upstream, "the mirror's 308 was not followed"
    assert not any(r["has_authorization"] for r in upstream), "the token followed a redirect to another host"
    assert "never sent to another host" in m.stderr_text()


def test_a_mirrors_redirect_to_the_hub_for_a_public_file_reads_from_the_hubs_cdn(hub, mirror_hub, mount):
    hub.redirect_to_upstream(mirror_hub.url, status=308, path_contains="large-model")
    m = mount()
    got = read_all(m.path.joinpath(*LARGE))
    assert sha256(got) == sha256(expected(hub, "hfm-test/large-model", "large.bin"))
    assert len(hub.resolve_log(file="large.bin")) == 1
    assert len(mirror_hub.resolve_log(file="large.bin")) == 1  # located once there too, then only its CDN
    assert mirror_hub.count("cdn", host="cdn") >= 1


def test_offline_sends_nothing_and_serves_what_is_cached(hub, mount):
    m = mount()
    tiny = m.path / "hfm-test" / "tiny-model"
    config = read_all(tiny / "config.json")
    os.listdir(m.path / "hfm-test" / "large-model")
    m.remount(env={"HF_HUB_OFFLINE": "1"})
    hub.reset_stats()
    assert read_all(tiny / "config.json") == config
    fd = os.open(m.path.joinpath(*LARGE), os.O_RDONLY)
    try:
        for offset in (0, 5 * MIB, 0):  # the kernel and the reader ask again: one line says why
            with pytest.raises(OSError) as failed:
                os.pread(fd, MIB, offset)
            assert failed.value.errno == errno.EIO
    finally:
        os.close(fd)
    assert hub.log() == [], "offline sent %d requests" % len(hub.log())
    lines = [l for l in m.stderr_text().splitlines() if "HF_HUB_OFFLINE=1" in l and "large.bin" in l]
    assert len(lines) == 1, lines


def test_prefetch_waits_as_long_as_the_server_asks_and_says_so(hub, tmp_path):
    # One resolve per 3 s window, reads that give up after 1 s: each file past the first is refused once,
    # its read waits out its second and fails, and prefetch waits for the window as the 429 says.
    hub.resolver_quota(limit=1, window=3)
    cli = os.path.join(os.path.dirname(os.path.realpath(os.environ.get("HFM_BINARY", "build/mount.hfmirror"))),
                       "hfmirror")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = "/nonexistent/hfmirror.conf"
    r = subprocess.run([cli, "prefetch", "hfm-test/fault-model", "--parallel", "1", "--timeout", "1",
                        "--endpoint", hub.url, "--cache", str(tmp_path / "cache")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"asks us to wait: waiting \d+ s", r.stderr), r.stderr
    refused = [e for e in hub.resolve_log(repo="hfm-test/fault-model") if e["quota_refused"]]
    assert refused, "the quota never refused a resolve: the test proves nothing"
