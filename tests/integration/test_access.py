"""Access follows the token (issue 14, probe 2): a cache filled by `hfmirror prefetch` with a token must not serve
a gated or private repo to a mount without one, nor to another user through allow_other; no endpoint answering
refuses such a repo unless -o offline_gated says otherwise."""

import errno
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATED = "hfm-test/gated-model"
PRIVATE = "hfm-test/private-model"
VALID_TOKEN = "hf_test_valid_token"
NOBODY = 65534


def cli_binary():
    mount = Path(os.environ.get("HFM_BINARY", ROOT / "build" / "mount.hfmirror"))
    return str(mount.resolve().parent / "hfmirror")


def prefetch_with_token(hub, cache, repo):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env.update(HFMIRROR_CONFIG="/nonexistent/hfmirror.conf", HF_TOKEN=VALID_TOKEN)
    r = subprocess.run([cli_binary(), "prefetch", repo, "--endpoint", hub.url, "--cache", str(cache)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def data_requests(hub):
    """Requests that move file bytes: /resolve on the hub and anything on the CDN."""
    s = hub.stats()["requests"]
    return s.get("hub", {}).get("resolve", 0) + sum(s.get("cdn", {}).values())


def all_requests(hub):
    return sum(sum(routes.values()) for routes in hub.stats()["requests"].values())


def read_errno(path, uid=None):
    """The errno reading `path` whole fails with (0: it read), as `uid` when given (in a child process)."""
    code = ("import os, sys\n"
            "uid = int(sys.argv[2])\n"
            "if uid >= 0: os.setgroups([]); os.setresgid(uid, uid, uid); os.setresuid(uid, uid, uid)\n"
            "try:\n"
            "    open(sys.argv[1], 'rb').read()\n"
            "except OSError as e:\n"
            "    sys.exit(e.errno)\n")
    r = subprocess.run([sys.executable, "-c", code, str(path), str(-1 if uid is None else uid)], timeout=120,
                       capture_output=True)
    return r.returncode


@pytest.fixture
def shared_mountpoint():
    """A mount point other users can reach (pytest's tmp_path is root's alone)."""
    d = Path(tempfile.mkdtemp(prefix="hfm-access-"))
    d.chmod(0o755)
    yield d / "mnt"
    shutil.rmtree(d, ignore_errors=True)


def test_gated_repo_prefetched_with_a_token_is_eacces_without_one_and_fetches_nothing(hub, mount, tmp_path,
                                                                                     shared_mountpoint):
    cache = tmp_path / "cache"
    prefetch_with_token(hub, cache, GATED)
    repo = hub.manifest.repo(GATED)
    commit = repo.commit()
    hub.reset_stats()

    m = mount(cache_dir=cache, extra_options=["allow_other"], mountpoint=shared_mountpoint)
    view = ".hf-cache/hub/models--hfm-test--gated-model/snapshots/" + commit
    for rel in repo.files():
        for path in (m.path / GATED / rel, m.path / (GATED + "@" + commit) / rel, m.path / view / rel):
            assert read_errno(path) == errno.EACCES, path
            assert read_errno(path, uid=NOBODY) == errno.EACCES, path
    with pytest.raises(PermissionError):
        os.listdir(m.path / GATED)
    assert data_requests(hub) == 0, hub.log()
    assert all_requests(hub) == 0, "within revision_ttl of the prefetch nothing needs asking: %s" % hub.log()

    # Past revision_ttl: one anonymous API call resolves the branch, and still no byte.
    m.remount(extra_options=["allow_other", "revision_ttl=0"])
    assert read_errno(m.path / GATED / "config.json") == errno.EACCES
    assert data_requests(hub) == 0, hub.log()
    assert not any(r["has_authorization"] for r in hub.log())

    # The same cache with the token reads, with no byte fetched again.
    m.remount(extra_options=["allow_other"], env={"HF_TOKEN": VALID_TOKEN})
    for rel in repo.files():
        assert (m.path / GATED / rel).read_bytes() == repo.read(rel)


def test_private_repo_prefetched_with_a_token_is_enoent_without_one(hub, mount, tmp_path):
    cache = tmp_path / "cache"
    prefetch_with_token(hub, cache, PRIVATE)
    repo = hub.manifest.repo(PRIVATE)
    hub.reset_stats()
    m = mount(cache_dir=cache)
    for rel in repo.files():
        assert read_errno(m.path / PRIVATE / rel) == errno.ENOENT
        assert read_errno(m.path / (PRIVATE + "@" + repo.commit()) / rel) == errno.ENOENT
    assert data_requests(hub) == 0, hub.log()


def test_gated_repo_with_no_endpoint_answering_is_refused_unless_offline_gated(hub, mount, tmp_path):
    cache = tmp_path / "cache"
    prefetch_with_token(hub, cache, GATED)
    repo = hub.manifest.repo(GATED)
    pinned = GATED + "@" + repo.commit()
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    m = mount(cache_dir=cache, env={"HF_TOKEN": VALID_TOKEN}, endpoint=dead, extra_options=["timeout=5"])
    assert read_errno(m.path / pinned / "config.json") == errno.EACCES
    assert "offline_gated" in m.stderr_text()

    m.remount(extra_options=["timeout=5", "offline_gated"])
    for rel in repo.files():
        assert (m.path / pinned / rel).read_bytes() == repo.read(rel)
    log = m.stderr_text()
    assert log.count("serving it from the cache because of -o offline_gated") == 1, log


def test_group_readable_token_file_stops_the_mount(hub, mount, tmp_path):
    token = tmp_path / "token"
    token.write_text(VALID_TOKEN)
    token.chmod(0o640)
    with pytest.raises(mount.Error) as failed:
        mount(extra_options=["token_file=%s" % token])
    assert "chmod go-rwx" in str(failed.value)
    assert VALID_TOKEN not in str(failed.value)


@pytest.fixture
def local_users():
    """factory(token) -> uid of a new local user whose ~/.cache/huggingface/token holds `token` (None: no file);
    every user made is deleted at teardown."""
    made = []

    def make(token):
        name = "hfmacc%d%d" % (os.getpid() % 10000, len(made))
        subprocess.run(["useradd", "--create-home", "--shell", "/usr/sbin/nologin", name], check=True,
                       capture_output=True)
        made.append(name)
        pw = pwd.getpwnam(name)
        if token is not None:
            folder = Path(pw.pw_dir) / ".cache" / "huggingface"
            folder.mkdir(parents=True)
            (folder / "token").write_text(token)
            (folder / "token").chmod(0o600)
            for p in (folder.parent, folder, folder / "token"):
                os.chown(p, pw.pw_uid, pw.pw_gid)
        return pw.pw_uid

    yield make
    for name in made:
        subprocess.run(["userdel", "--remove", name], capture_output=True)


def test_per_user_token_serves_each_user_by_their_own_token(hub, mount, local_users, shared_mountpoint):
    allowed = local_users(VALID_TOKEN)
    refused = local_users("hf_test_unauthorized")
    no_token = local_users(None)
    m = mount(extra_options=["allow_other", "per_user_token"], mountpoint=shared_mountpoint)
    weights = m.path / GATED / "weights.safetensors"

    assert read_errno(weights, uid=refused) == errno.EACCES
    assert read_errno(weights, uid=allowed) == 0
    assert read_errno(weights, uid=refused) == errno.EACCES, "the kernel's cached name and pages bypass nothing"
    assert read_errno(weights, uid=no_token) == errno.EACCES
    assert read_errno(weights, uid=NOBODY) == errno.EACCES
    assert read_errno(m.path / "hfm-test" / "tiny-model" / "config.json", uid=refused) == 0, "public stays open"
    assert read_errno(m.path / PRIVATE / "config.json", uid=allowed) == errno.ENOENT, \
        "a private repo needs the mount's own token to be listed at all"

    data = [r for r in hub.log() if r["route"] == "resolve" and "gated-model" in r["path"]]
    assert data and all(r["has_authorization"] for r in data)
    # The bytes the allowed user read are in the cache; a mount without per_user_token and no token of its own
    # still refuses them, to everyone.
    m.remount(extra_options=["allow_other"])
    assert read_errno(weights) == errno.EACCES
    assert read_errno(weights, uid=allowed) == errno.EACCES


def test_token_file_through_a_symlink_stops_the_mount(hub, mount, tmp_path):
    real = tmp_path / "real-token"
    real.write_text(VALID_TOKEN)
    real.chmod(0o600)
    link = tmp_path / "token"
    link.symlink_to(real)
    with pytest.raises(mount.Error) as failed:
        mount(extra_options=["token_file=%s" % link])
    assert "symlink" in str(failed.value)
