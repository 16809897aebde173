"""A repo of files listed at 2^40 bytes: what a hostile (or merely enormous) repo may claim.

models/hfm-test/huge-files holds HUGE_COUNT LFS files of HUGE_SIZE bytes each, every one with its own
sha256 (so a client keeps separate state per file). Their bytes come from one sparse file in the blobs
directory: zeros, except HEAD at offset 0 and TAIL in the last bytes, so a test can tell a right read at
either end. The listed sha256 is not the hash of those bytes (nobody reads 1 TiB to check it): a client
that verifies a whole file finds a mismatch, which no test here gets to.

add_to(repos, blobs_dir) adds the repo to a manifest's repos before the hub builds its state.
Standard library only.
"""

import hashlib
import os

import fixtures

REPO = "hfm-test/huge-files"
HUGE_SIZE = 1 << 40
HUGE_COUNT = 8
HEAD = b"HUGEHEAD"
TAIL = b"HUGETAIL"
BLOB = "huge-sparse-%d" % HUGE_SIZE
COMMIT = hashlib.sha1(b"hfm-test/huge-files main").hexdigest()


def file_names():
    return ["huge-%d.bin" % i for i in range(HUGE_COUNT)]


def _make_blob(blobs_dir):
    path = os.path.join(blobs_dir, BLOB)
    if os.path.exists(path) and os.path.getsize(path) == HUGE_SIZE:
        return
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(HEAD)
        f.seek(HUGE_SIZE - len(TAIL))
        f.write(TAIL)  # the file is sparse in between: a few KiB on disk
    os.replace(tmp, path)


def _file_entry(name):
    sha256 = hashlib.sha256(("huge %s" % name).encode()).hexdigest()
    pointer = fixtures.lfs_pointer(sha256, HUGE_SIZE)
    return {"size": HUGE_SIZE, "sha256": sha256, "git_oid": fixtures.git_blob_sha1(pointer), "lfs": True,
            "blob": BLOB, "served_sha256": sha256, "corrupt": False, "oid": fixtures.git_blob_sha1(pointer),
            "pointer_size": len(pointer)}


def add_to(repos, blobs_dir):
    _make_blob(blobs_dir)
    files = {name: _file_entry(name) for name in file_names()}
    tree = hashlib.sha1(("tree " + ",".join(sorted(files))).encode()).hexdigest()
    commit = {"name": "A", "parent": None, "message": "Huge files", "time": fixtures.BASE_TIME, "tree": tree,
              "dirs": {"": tree}, "files": files}
    repos["models/" + REPO] = {
        "kind": "model", "id": REPO, "default_branch": "main", "private": False, "gated": False,
        "disabled": False, "commit_order": [COMMIT], "commits": {COMMIT: commit}, "branches": {"main": COMMIT},
        "tags": {}, "prs": {}}
