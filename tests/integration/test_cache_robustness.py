"""The cache under stress through real mounts: kill -9 mid-fetch in a loop, two mounts on one cache, a
quota far smaller than what is read. Complete files are re-hashed independently (cache_check.py)."""

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cache_check import check_cache  # noqa: E402

LARGE = ("hfm-test/large-model", "large.bin")


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def large_sha(hub):
    return hashlib.sha256(hub.manifest.repo(LARGE[0]).read(LARGE[1])).hexdigest()


def test_kill9_mid_fetch_loop_keeps_the_cache_sound(hub, mount):
    loops = int(os.environ.get("HFM_CRASH_LOOPS", "5"))
    size = hub.manifest.large_mb << 20
    # Slow the CDN so each kill lands mid-fetch: 2 MiB/s per connection, so 20 loops of ~2 MiB
    # each still find large.bin incomplete.
    hub.set_fault(host="cdn", route="any", action="throttle", bytes_per_second=2 << 20, times=10000,
                  seconds=120)
    m = mount()
    path = m.path / LARGE[0] / LARGE[1]
    for i in range(loops):
        served_before = hub.stats()["bytes"].get("cdn", 0)
        reader = subprocess.Popen(["dd", "if=%s" % path, "of=/dev/null", "bs=1M"], stderr=subprocess.DEVNULL)
        wait_until(lambda: hub.stats()["bytes"].get("cdn", 0) > served_before + (2 << 20)
                   or reader.poll() is not None, timeout=30)
        m.proc.kill()
        m.proc.wait(timeout=10)
        reader.wait(timeout=30)
        m.unmount()
        complete, partial, errors = check_cache(m.cache_dir)
        print("kill -9 loop %d: served %d MiB so far; cache opens; %d complete file(s) re-hashed, %d partial" %
              (i + 1, hub.stats()["bytes"].get("cdn", 0) >> 20, complete, partial))
        assert errors == [], "loop %d: %s" % (i, errors)
        m.remount()
    hub.clear_faults()
    hub.reset_stats()
    assert sha256_file(path) == large_sha(hub)
    served = hub.stats()["bytes"].get("cdn", 0)
    assert served < size, "partial files must resume, not start over (served %d of %d)" % (served, size)
    m.unmount()
    complete, partial, errors = check_cache(m.cache_dir)
    assert errors == [] and complete >= 1


def test_two_mounts_share_one_cache_directory(hub, mount, tmp_path):
    cache = tmp_path / "shared-cache"
    a = mount(cache_dir=str(cache), mountpoint=str(tmp_path / "a"))
    b = mount(cache_dir=str(cache), mountpoint=str(tmp_path / "b"))
    want = large_sha(hub)
    procs = [subprocess.Popen(["sha256sum", str(m.path / LARGE[0] / LARGE[1])], stdout=subprocess.PIPE)
             for m in (a, b, a, b)]
    assert [p.communicate(timeout=300)[0].split()[0].decode() for p in procs] == [want] * 4
    a.unmount()
    b.unmount()
    complete, _, errors = check_cache(cache)
    assert errors == [] and complete >= 1


def test_a_quota_smaller_than_the_reads_still_serves_every_byte(hub, mount, tmp_path):
    m = mount(extra_options=["cache_size=24M"])
    repo = hub.manifest.repo("hfm-test/tiny-model")
    small = m.path / "hfm-test" / "tiny-model" / "model.safetensors"
    # An open file keeps reading correctly while a bigger one streams through the small cache.
    with open(small, "rb", buffering=0) as f:
        assert sha256_file(m.path / LARGE[0] / LARGE[1]) == large_sha(hub)
        f.seek(0)
        assert f.read() == repo.read("model.safetensors")
    assert sha256_file(m.path / LARGE[0] / LARGE[1]) == large_sha(hub)
    assert os.path.getsize(Path(m.cache_dir) / "data.mdb") <= 24 << 20
    m.unmount()
    _, _, errors = check_cache(m.cache_dir)
    assert errors == []
