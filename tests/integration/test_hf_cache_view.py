"""/.hf-cache/hub through a real mount: files are found exactly as huggingface_hub's offline path finds them
(HF_HUB_CACHE=/mnt/models/.hf-cache/hub HF_HUB_OFFLINE=1): refs/<revision> gives the commit, then
snapshots/<commit>/<path> is opened and the kernel follows its relative symlink into blobs/<etag>."""

import os
from pathlib import Path

import pytest

TINY = "hfm-test/tiny-model"


def try_to_load_from_cache(cache_dir, repo_id, filename, revision="main", repo_type="model"):
    """huggingface_hub.try_to_load_from_cache, as it reads a cache with no network: the path of the cached
    file, or None."""
    repo_cache = os.path.join(cache_dir, "%ss--%s" % (repo_type, repo_id.replace("/", "--")))
    if not os.path.isdir(repo_cache):
        return None
    refs_dir = os.path.join(repo_cache, "refs")
    if os.path.isdir(refs_dir):
        revision_file = os.path.join(refs_dir, revision)
        if os.path.isfile(revision_file):
            with open(revision_file) as f:
                revision = f.read()
    cached_file = os.path.join(repo_cache, "snapshots", revision, filename)
    return cached_file if os.path.isfile(cached_file) else None


@pytest.mark.parametrize("revision", ["main", "refs/pr/1"])
def test_every_file_resolves_like_the_official_offline_client(hub, mount, revision):
    m = mount()
    cache_dir = m.path / ".hf-cache" / "hub"
    repo = hub.manifest.repo(TINY)
    commit = repo.commit(revision)
    assert (cache_dir / ("models--" + TINY.replace("/", "--")) / "refs" / revision).read_text() == commit
    files = repo.files(revision)
    assert any("/" in p for p in files), "the fixture has a nested path"
    for path, e in files.items():
        found = try_to_load_from_cache(str(cache_dir), TINY, path, revision=revision)
        assert found is not None, path
        link = Path(found)
        assert link.is_symlink()
        depth = path.count("/")
        assert os.readlink(link) == "../" * (depth + 2) + "blobs/" + (e["sha256"] if e["lfs"] else e["git_oid"])
        real = Path(os.path.realpath(link))
        assert real.parent.name == "blobs" and real.parent.parent.name == "models--hfm-test--tiny-model"
        assert link.read_bytes() == Path(e["bytes_path"]).read_bytes(), path


def test_a_dataset_and_what_is_not_there(hub, mount):
    m = mount()
    cache_dir = str(m.path / ".hf-cache" / "hub")
    ds = hub.manifest.repo("hfm-test/tiny-dataset", "dataset")
    path, e = next(iter(ds.files().items()))
    # this fixture's default branch is not "main": ask for it by name, as a user of it must
    found = try_to_load_from_cache(cache_dir, "hfm-test/tiny-dataset", path, revision=ds.default_branch,
                                   repo_type="dataset")
    assert found and Path(found).read_bytes() == Path(e["bytes_path"]).read_bytes()
    assert try_to_load_from_cache(cache_dir, TINY, "no-such-file.json") is None
    assert try_to_load_from_cache(cache_dir, "hfm-test/no-such-repo", "config.json") is None
    assert not (m.path / ".hf-cache" / "hub" / "models--hfm-test--tiny-model" / "refs" / "no-branch").exists()
    assert ".hf-cache" not in os.listdir(m.path)


def test_walking_a_snapshot_lists_links_and_blobs_are_verified_files(hub, mount):
    m = mount()
    repo = hub.manifest.repo(TINY)
    snap = m.path / ".hf-cache" / "hub" / "models--hfm-test--tiny-model" / "snapshots" / repo.commit("main")
    walked = set()
    for root, dirs, names in os.walk(snap):
        for n in names:
            p = Path(root) / n
            assert p.is_symlink()
            walked.add(str(p.relative_to(snap)))
    assert walked == set(repo.files("main"))
    blob = Path(os.path.realpath(snap / "config.json"))
    assert os.stat(blob).st_mode & 0o777 == 0o444
    assert blob.read_bytes() == repo.read("config.json")
    # a blob is a mount file like any other: read whole, it is verified and complete in the cache
    assert os.getxattr(blob, "user.hfmirror.state") == b"complete"
