"""The core of hfmirror through a real FUSE mount on the test hub: every byte through the kernel, the
path syntax, errors, verification, caching across remounts, and the token rule."""

import errno
import hashlib
import json
import os
import random
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "hub"))
import fixtures  # noqa: E402

TINY = "hfm-test/tiny-model"
VALID_TOKEN = "hf_test_valid_token"


def encoded(rev):
    return rev.replace("/", "%2F")


def data_requests(hub):
    """Requests that move file bytes: /resolve on the hub and anything on the CDN."""
    s = hub.stats()["requests"]
    return s.get("hub", {}).get("resolve", 0) + sum(s.get("cdn", {}).values())


def all_requests(hub):
    return sum(sum(routes.values()) for routes in hub.stats()["requests"].values())


def read_in_chunks(path, chunk=1 << 20):
    """Reads a file sequentially; returns (bytes read, error or None)."""
    got = bytearray()
    try:
        with open(path, "rb", buffering=0) as f:
            while True:
                b = f.read(chunk)
                if not b:
                    return bytes(got), None
                got += b
    except OSError as e:
        return bytes(got), e


@pytest.mark.parametrize("rev", [None, "main", "v1.0", "commit", "refs/pr/1", "dev"])
def test_every_fixture_file_matches_at_each_revision_kind(hub, mount, rev):
    m = mount()
    repo = hub.manifest.repo(TINY)
    if rev == "commit":
        rev = repo.commit("v1.0")  # an older commit, not a branch head
    base = m.path / "hfm-test" / ("tiny-model" if rev is None else "tiny-model@" + encoded(rev))
    expected = repo.files(rev)
    listed = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    assert listed == sorted(expected)
    for path in expected:
        assert (base / path).read_bytes() == repo.read(path, rev), path


@pytest.mark.parametrize("kind,repo_id", [("dataset", "hfm-test/tiny-dataset"), ("space", "hfm-test/tiny-space"),
                                          ("dataset", "hfm-test/tiny-model")])
def test_datasets_and_spaces_at_their_default_branch(hub, mount, kind, repo_id):
    m = mount()
    repo = hub.manifest.repo(repo_id, kind)
    base = m.path / (kind + "s") / repo_id
    for path in repo.files():
        assert (base / path).read_bytes() == repo.read(path), path


def test_names_with_spaces_hash_and_non_ascii(hub, mount):
    m = mount()
    repo = hub.manifest.repo(TINY)
    base = m.path / "hfm-test" / "tiny-model"
    names = set(os.listdir(base))
    for name in ("name with spaces.txt", "hash#name.txt", "ünïcødé-ñame.txt"):
        assert name in names
        assert (base / name).read_bytes() == repo.read(name)


def test_root_and_org_list_known_repos(hub, mount):
    m = mount()
    assert {"datasets", "spaces"} <= set(os.listdir(m.path))
    os.listdir(m.path / "hfm-test" / "tiny-model")
    assert "hfm-test" in os.listdir(m.path)
    assert "tiny-model" in os.listdir(m.path / "hfm-test")


def test_modes_sizes_and_link_counts(hub, mount):
    m = mount()
    repo = hub.manifest.repo(TINY)
    base = m.path / "hfm-test" / "tiny-model"
    for path, e in repo.files().items():
        st = os.stat(base / path)
        assert stat.S_IMODE(st.st_mode) == 0o444 and stat.S_ISREG(st.st_mode)
        assert st.st_size == e["size"] and st.st_nlink == 1
    st = os.stat(base / "nested")
    assert stat.S_IMODE(st.st_mode) == 0o555 and stat.S_ISDIR(st.st_mode)
    assert st.st_nlink == 2 + sum(1 for p in (base / "nested").iterdir() if p.is_dir())
    assert os.stat(base).st_mtime > 0


def test_stat_ls_and_find_download_no_file_data(hub, mount):
    m = mount()
    base = m.path / "hfm-test" / "large-model"
    assert os.stat(base / "large.bin").st_size == hub.manifest.large_mb << 20
    subprocess.run(["ls", "-lR", str(m.path / "hfm-test" / "tiny-model")], check=True, capture_output=True)
    subprocess.run(["find", str(base), "-type", "f"], check=True, capture_output=True)
    assert data_requests(hub) == 0


def test_random_offsets_of_a_large_file(hub, mount):
    m = mount()
    size = hub.manifest.large_mb << 20
    rng = random.Random(5)
    with open(m.path / "hfm-test" / "large-model" / "large.bin", "rb", buffering=0) as f:
        for _ in range(60):
            off = rng.randrange(0, size)
            n = rng.choice([1, 4096, 65536, 300000, 2 << 20])
            f.seek(off)
            got = f.read(n)
            assert got == fixtures.large_bytes(off, min(n, size - off)), off


def test_a_header_read_leaves_the_rest_of_its_block_in_the_page_cache(hub, mount):
    """8 bytes at 0 of a cold file, as a safetensors loader reads first: the daemon hands the kernel the rest of
    the first block with them, so reading on to the end of that block asks the daemon for nothing (the kernel's
    readahead would ramp up through six requests, the last reaching into the next block)."""
    m = mount()
    block = 1 << 20
    stats = m.path / ".hfmirror" / "stats.json"
    with open(m.path / "hfm-test" / "large-model" / "large.bin", "rb", buffering=0) as f:
        assert os.pread(f.fileno(), 8, 0) == fixtures.large_bytes(0, 8)
        before = json.loads(stats.read_text())["reads"]
        rest = os.pread(f.fileno(), block - 8, 8)
        after = json.loads(stats.read_text())["reads"]
    assert rest == fixtures.large_bytes(8, block - 8)
    assert after == before, "the rest of the first block came from the page cache"


def test_eight_concurrent_readers_get_the_same_bytes_fetched_once(hub, mount):
    m = mount()
    path = m.path / "hfm-test" / "large-model" / "large.bin"
    want = hashlib.sha256(hub.manifest.repo("hfm-test/large-model").read("large.bin")).hexdigest()
    procs = [subprocess.Popen(["sha256sum", str(path)], stdout=subprocess.PIPE) for _ in range(8)]
    outs = [p.communicate(timeout=300)[0].decode().split()[0] for p in procs]
    assert outs == [want] * 8
    served = hub.stats()["bytes"].get("cdn", 0)
    assert served <= (hub.manifest.large_mb << 20) * 1.05, "one fetch per block, shared by every reader"


def test_a_file_read_twice_is_fetched_once(hub, mount, drop_page_cache):
    m = mount()
    path = m.path / "hfm-test" / "tiny-model" / "model.safetensors"
    first = path.read_bytes()
    before = data_requests(hub)
    assert before > 0
    drop_page_cache(str(path))
    assert path.read_bytes() == first
    assert data_requests(hub) == before


def test_remount_serves_a_pinned_commit_with_zero_requests(hub, mount):
    m = mount()
    repo = hub.manifest.repo(TINY)
    commit = repo.commit()
    base_rel = Path("hfm-test") / ("tiny-model@" + commit)
    for path in repo.files(commit):
        assert (m.path / base_rel / path).read_bytes() == repo.read(path, commit)
    m.remount()
    hub.reset_stats()
    for path in repo.files(commit):
        assert (m.path / base_rel / path).read_bytes() == repo.read(path, commit)
    assert all_requests(hub) == 0, hub.log()


def test_corrupt_lfs_file_gives_eio_before_eof_and_never_completes(hub, mount):
    m = mount()
    repo = hub.manifest.repo("hfm-test/corrupt")
    size = repo.files()["bad.safetensors"]["size"]
    path = m.path / "hfm-test" / "corrupt" / "bad.safetensors"
    for _ in range(2):  # the reader that hit the mismatch, and the next one
        got, err = read_in_chunks(path, 128 * 1024)
        assert err is not None and err.errno == errno.EIO, "must fail, not reach EOF"
        assert len(got) < size
    small = m.path / "hfm-test" / "corrupt" / "bad-small.txt"
    got, err = read_in_chunks(small)
    assert err is not None and err.errno == errno.EIO and got == b""
    assert (m.path / "hfm-test" / "corrupt" / "good.txt").read_bytes() == repo.read("good.txt")
    log = m.stderr_tail(100000)
    mismatch = [line for line in log.splitlines() if "hash mismatch" in line and "bad.safetensors" in line]
    assert mismatch and "hfm-test/corrupt" in mismatch[0] and hub.url in mismatch[0]
    assert "expected=sha256:" in mismatch[0] and "actual=sha256:" in mismatch[0]

    m.remount()
    hub.reset_stats()
    got, err = read_in_chunks(path, 128 * 1024)
    assert err is not None and err.errno == errno.EIO
    assert data_requests(hub) > 0, "a corrupt file must never be served from the cache as complete"


def test_strict_mode_serves_no_unverified_byte(hub, mount):
    m = mount(extra_options=["verify=strict"])
    path = m.path / "hfm-test" / "corrupt" / "bad.safetensors"
    with open(path, "rb", buffering=0) as f:
        with pytest.raises(OSError) as e:
            f.read(100)
    assert e.value.errno == errno.EIO
    good = m.path / "hfm-test" / "tiny-model" / "model.safetensors"
    assert good.read_bytes() == hub.manifest.repo(TINY).read("model.safetensors")


def test_missing_repo_revision_and_file_are_enoent(hub, mount):
    m = mount()
    for rel in ("hfm-test/no-such-repo", "hfm-test/tiny-model@no-such-branch",
                "hfm-test/tiny-model/no-such-file.txt", "hfm-test/private-model",
                "hfm-test/tiny-model@" + "0" * 40):
        with pytest.raises(FileNotFoundError):
            os.stat(m.path / rel)


def test_gated_repo_without_token_is_eacces_and_with_token_reads(hub, mount):
    m = mount()
    path = m.path / "hfm-test" / "gated-model" / "weights.safetensors"
    with pytest.raises(PermissionError):
        path.read_bytes()
    m.unmount()
    m2 = mount(env={"HF_TOKEN": VALID_TOKEN})
    repo = hub.manifest.repo("hfm-test/gated-model")
    assert (m2.path / "hfm-test" / "gated-model" / "weights.safetensors").read_bytes() == \
        repo.read("weights.safetensors")


def test_token_reaches_the_hub_but_never_the_cdn(hub, mount):
    m = mount(env={"HF_TOKEN": VALID_TOKEN})
    repo = hub.manifest.repo("hfm-test/gated-model")
    assert (m.path / "hfm-test" / "gated-model" / "weights.safetensors").read_bytes() == \
        repo.read("weights.safetensors")
    log = hub.log()
    cdn = [r for r in log if r["host"] == "cdn"]
    hub_resolves = [r for r in log if r["host"] == "hub" and r["route"] == "resolve"]
    assert cdn and hub_resolves
    assert not any(r["has_authorization"] for r in cdn)
    assert all(r["has_authorization"] for r in hub_resolves)
    assert VALID_TOKEN not in m.stderr_tail(100000)


def test_writes_are_erofs(hub, mount):
    m = mount()
    base = m.path / "hfm-test" / "tiny-model"
    attempts = [
        lambda: open(base / "config.json", "wb"),
        lambda: open(base / "config.json", "r+b"),
        lambda: open(base / "new.txt", "w"),
        lambda: os.mkdir(base / "newdir"),
        lambda: os.unlink(base / "config.json"),
        lambda: os.rename(base / "config.json", base / "x.json"),
        lambda: os.chmod(base / "config.json", 0o644),
        lambda: os.rmdir(base / "nested"),
        lambda: os.symlink("config.json", base / "link"),
    ]
    for attempt in attempts:
        with pytest.raises(OSError) as e:
            attempt()
        assert e.value.errno == errno.EROFS


def test_open_file_keeps_its_commit_when_the_branch_moves(hub, mount):
    m = mount(extra_options=["revision_ttl=0"])
    repo = hub.manifest.repo(TINY)
    path = m.path / "hfm-test" / "tiny-model" / "config.json"
    old = repo.read("config.json", "main")
    new = repo.read("config.json", "v1.0")
    assert old != new
    with open(path, "rb", buffering=0) as f:
        hub.move_branch(TINY, "main", repo.commit("v1.0"))
        assert f.read() == old
    assert path.read_bytes() == new


def test_unmount_is_clean(hub, mount):
    m = mount()
    assert (m.path / "hfm-test" / "tiny-model" / "config.json").exists()
    assert m.unmount() == 0
    assert not m.is_mounted()


def test_daemonizes_without_f_and_umount_unmounts(hub, tmp_path):
    """The plain form `mount.hfmirror MOUNTPOINT -o ...` returns once mounted, leaving a daemon that
    `umount` stops cleanly (the harness's mounts use -f, so this one is run by hand)."""
    import time
    binary = os.environ.get("HFM_BINARY", str(Path(__file__).resolve().parents[2] / "build" / "mount.hfmirror"))
    mnt, cache = tmp_path / "mnt", tmp_path / "cache"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    done = subprocess.run([binary, "-o", "endpoint=%s,cache=%s" % (hub.url, cache), str(mnt)], env=env,
                          timeout=60, capture_output=True)
    assert done.returncode == 0, done.stderr
    try:
        repo = hub.manifest.repo(TINY)
        assert (mnt / "hfm-test" / "tiny-model" / "config.json").read_bytes() == repo.read("config.json")
        pids = subprocess.run(["pgrep", "-f", "mount.hfmirror.*%s" % mnt], capture_output=True, text=True)
        assert pids.stdout.split(), "a daemon must keep serving the mount"
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and subprocess.run(["pgrep", "-f", "mount.hfmirror.*%s" % mnt],
                                                        capture_output=True).returncode == 0:
        time.sleep(0.05)
    assert subprocess.run(["pgrep", "-f", "mount.hfmirror.*%s" % mnt], capture_output=True).returncode != 0
    with open("/proc/self/mountinfo") as f:
        assert str(mnt) not in f.read()
