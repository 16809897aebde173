"""Trusted metadata through real mounts: with trusted_endpoint, commits and listings (so every hash) come only
from the trusted hub, and a mirror that lies consistently (lists the hash of the flipped bytes it serves; the
hub's "tampered" fault) cannot get its bytes served; when the trusted endpoint is down the repo is refused
unless trust_fallback is set. A lock file written by `hfmirror lock` from the honest hub refuses the
tampering mirror's listing with no trusted endpoint at all."""

import errno
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

TINY = "hfm-test/tiny-model"
FILE = "model.safetensors"
ROOT = Path(__file__).resolve().parents[2]


def hfmirror(*args):
    mount = Path(os.environ.get("HFM_BINARY", ROOT / "build" / "mount.hfmirror"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = "/nonexistent/hfmirror.conf"
    return subprocess.run([str(mount.resolve().parent / "hfmirror")] + list(args), env=env, capture_output=True,
                          text=True, timeout=120)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


def tamper(mirror_hub, hub):
    """Makes mirror_hub lie about FILE; returns (true bytes, flipped bytes)."""
    repo = hub.manifest.repo(TINY)
    sha = repo.files()[FILE]["sha256"]
    mirror_hub.set_fault(host="any", route=["tree", "resolve", "cdn"], action="tampered", sha256=sha, times=10000)
    want = repo.read(FILE)
    return want, bytes(b ^ 0xFF for b in want)


def read_until_served(path, tries=3):
    """The first bytes a read returns; reads that fail verification (EIO) are retried."""
    for _ in range(tries):
        try:
            return path.read_bytes()
        except OSError as e:
            assert e.errno == errno.EIO, e
    return None


def test_a_tampering_mirror_listed_first_cannot_serve_its_bytes(hub, mirror_hub, mount):
    want, _ = tamper(mirror_hub, hub)
    m = mount(endpoint="%s;%s" % (mirror_hub.url, hub.url), extra_options=["trusted_endpoint=" + hub.url])
    got = read_until_served(m.path / "hfm-test" / "tiny-model" / FILE)
    assert got == want
    # The mirror was asked for bytes, never for a commit or a listing; its /resolve named other content than
    # the trusted listing, so not one of its flipped bytes was fetched.
    assert mirror_hub.count("resolve", "hub") >= 1
    assert mirror_hub.count("cdn", "cdn") == 0
    for route in ("tree", "api_revision", "api_info"):
        assert mirror_hub.count(route, "hub") == 0, route
    assert "/resolve disagrees with the listing" in m.stderr_text()


def test_without_a_trusted_endpoint_the_tampering_mirror_is_believed(hub, mirror_hub, mount):
    # Today's behaviour, and the proof that the "tampered" fault is a consistent lie: the mirror's own
    # listing vouches for its flipped bytes.
    _, flipped = tamper(mirror_hub, hub)
    m = mount(endpoint="%s;%s" % (mirror_hub.url, hub.url))
    assert read_until_served(m.path / "hfm-test" / "tiny-model" / FILE) == flipped


def test_trusted_endpoint_down_refuses_the_repo_with_eio(hub, mount):
    trusted = "http://127.0.0.1:%d" % closed_port()
    m = mount(extra_options=["trusted_endpoint=" + trusted])
    with pytest.raises(OSError) as e:
        (m.path / "hfm-test" / "tiny-model" / "config.json").read_bytes()
    assert e.value.errno == errno.EIO
    log = m.stderr_text()
    assert log.count("refusing revisions it cannot verify") == 1, log
    assert hub.count("tree", "hub") == 0


def test_trust_fallback_serves_from_the_mirrors_with_one_warning(hub, mount):
    trusted = "http://127.0.0.1:%d" % closed_port()
    m = mount(extra_options=["trusted_endpoint=" + trusted, "trust_fallback"])
    repo = hub.manifest.repo(TINY)
    for path in ("config.json", FILE):
        assert (m.path / "hfm-test" / "tiny-model" / path).read_bytes() == repo.read(path)
    assert m.stderr_text().count("unverified (trust_fallback)") == 1


def test_a_lock_file_refuses_a_tampering_mirror_with_no_trusted_endpoint(hub, mirror_hub, mount, tmp_path):
    lock = tmp_path / "tiny.lock"
    r = hfmirror("lock", TINY, "-o", str(lock), "--endpoint", hub.url, "--cache", str(tmp_path / "lock-cache"))
    assert r.returncode == 0, r.stdout + r.stderr
    repo = hub.manifest.repo(TINY)
    (locked,) = json.loads(lock.read_text())["repos"]
    assert locked["repo"] == TINY and len(locked["commit"]) == 40
    by_path = {f["path"]: f for f in locked["files"]}
    assert by_path[FILE]["sha256"] == repo.files()[FILE]["sha256"]
    assert by_path["config.json"]["git_sha1"] == repo.files()["config.json"]["git_oid"]

    tamper(mirror_hub, hub)
    m = mount(endpoint=mirror_hub.url, extra_options=["lock=%s" % lock])
    for _ in range(2):
        with pytest.raises(OSError) as e:
            (m.path / "hfm-test" / "tiny-model" / "config.json").read_bytes()
        assert e.value.errno == errno.EIO
    assert m.stderr_text().count("disagrees with the lock file") == 1
    # Locked, the revision needs no resolution request.
    assert mirror_hub.count("api_revision", "hub") == 0 and mirror_hub.count("api_info", "hub") == 0

    # An honest mirror's listing agrees with the lock: the same mount serves the repo.
    mirror_hub.clear_faults()
    assert (m.path / "hfm-test" / "tiny-model" / FILE).read_bytes() == repo.read(FILE)


def test_a_broken_lock_file_stops_the_mount_with_its_reason(hub, tmp_path):
    lock = tmp_path / "bad.lock"
    lock.write_text('{"hfmirror_lock": 1, "repos": [{"kind": "model", "repo": "../x"}]}')
    (tmp_path / "mnt").mkdir()
    r = subprocess.run([os.environ.get("HFM_BINARY", str(ROOT / "build" / "mount.hfmirror")), str(tmp_path / "mnt"),
                        "-f", "-o", "endpoint=%s,cache=%s,lock=%s" % (hub.url, tmp_path / "c", lock)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "ORG/NAME" in r.stderr


def test_prefetch_with_a_lock_refuses_a_tampering_mirror_and_fills_from_an_honest_one(hub, mirror_hub, tmp_path):
    lock = tmp_path / "tiny.lock"
    r = hfmirror("lock", TINY, "-o", str(lock), "--endpoint", hub.url, "--cache", str(tmp_path / "lock-cache"))
    assert r.returncode == 0, r.stdout + r.stderr
    tamper(mirror_hub, hub)
    cache = str(tmp_path / "cache")
    r = hfmirror("prefetch", TINY, "--lock", str(lock), "--endpoint", mirror_hub.url, "--cache", cache)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "disagrees with the lock file" in r.stderr
    assert mirror_hub.count("cdn", "cdn") == 0  # refused before any byte was fetched
    mirror_hub.clear_faults()
    # A fresh cache: the first one keeps the lying listing, which --lock keeps refusing.
    r = hfmirror("prefetch", TINY, "--lock", str(lock), "--endpoint", mirror_hub.url, "--cache", cache + "2")
    assert r.returncode == 0, r.stdout + r.stderr
