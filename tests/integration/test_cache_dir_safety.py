"""The cache directory is safe to open as root (issue 14, probe 6): a directory another user owns, one writable by
group or others, a symlinked directory, or LMDB files that are symlinks are refused with a clear error, and the file a
symlink points to is left exactly as it was."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
PRECIOUS = b"root's file, not a lock header\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="probes what root does on another user's directory")


def cli_binary():
    mount = Path(os.environ.get("HFM_BINARY", ROOT / "build" / "mount.hfmirror"))
    return str(mount.resolve().parent / "hfmirror")


def cache_stats(cache):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = "/nonexistent/hfmirror.conf"
    return subprocess.run([cli_binary(), "cache", "stats", "--cache", str(cache)], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def victim(tmp_path):
    f = tmp_path / "root-owned-file"
    f.write_bytes(PRECIOUS)
    return f


def users_cache(tmp_path, victim, owner):
    cache = tmp_path / "user-cache"
    cache.mkdir(mode=0o700)
    os.symlink(victim, cache / "lock.mdb")
    os.lchown(cache / "lock.mdb", owner, owner)
    os.chown(cache, owner, owner)
    return cache


def test_root_refuses_a_directory_another_user_owns(tmp_path, victim):
    cache = users_cache(tmp_path, victim, NOBODY)
    r = cache_stats(cache)
    assert r.returncode != 0, r.stdout
    assert "owned by uid %d" % NOBODY in r.stderr, r.stderr
    assert victim.read_bytes() == PRECIOUS


def test_lmdb_files_that_are_symlinks_are_refused_even_in_roots_own_directory(tmp_path, victim):
    cache = users_cache(tmp_path, victim, 0)
    r = cache_stats(cache)
    assert r.returncode != 0, r.stdout
    assert "lock.mdb" in r.stderr and "symlink" in r.stderr, r.stderr
    assert victim.read_bytes() == PRECIOUS


def test_a_directory_writable_by_others_or_a_symlink_is_refused(tmp_path):
    shared = tmp_path / "shared-cache"
    shared.mkdir()
    shared.chmod(0o777)
    r = cache_stats(shared)
    assert r.returncode != 0 and "writable by group or others" in r.stderr, r.stderr
    assert not (shared / "data.mdb").exists()
    link = tmp_path / "link-cache"
    os.symlink(tmp_path / "elsewhere", link)
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    r = cache_stats(link)
    assert r.returncode != 0 and "is a symlink" in r.stderr, r.stderr
    assert not (tmp_path / "elsewhere" / "data.mdb").exists()


def test_a_private_directory_still_works(tmp_path):
    cache = tmp_path / "mine"
    cache.mkdir(mode=0o755)  # as `mkdir` makes it: not writable by others
    r = cache_stats(cache)
    assert r.returncode == 0, r.stderr
    assert (cache / "data.mdb").exists()
