"""The user.hfmirror.* extended attributes through a real mount, read with getfattr(1) (the `attr` package) as
an admin would, and with the xattr syscalls."""

import errno
import os
import subprocess
from pathlib import Path

import pytest

TINY = "hfm-test/tiny-model"


def getfattr(path):
    """{name: value} of every user.hfmirror.* attribute, parsed from `getfattr -d -m user.hfmirror`."""
    out = subprocess.run(["getfattr", "--absolute-names", "-d", "-m", "^user\\.hfmirror\\.", str(path)],
                         check=True, capture_output=True, text=True).stdout
    attrs = {}
    for line in out.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        assert value.startswith('"') and value.endswith('"'), line
        attrs[name] = value[1:-1]
    return attrs


def test_getfattr_shows_what_a_file_is_and_how_much_is_cached(hub, mount):
    m = mount()
    repo = hub.manifest.repo(TINY)
    commit = repo.commit("main")
    base = m.path / "hfm-test" / "tiny-model"
    lfs = next(p for p, e in repo.files().items() if e["lfs"])
    plain = next(p for p, e in repo.files().items() if not e["lfs"])
    e = repo.files()[lfs]

    before = getfattr(base / lfs)
    assert before == {
        "user.hfmirror.commit": commit,
        "user.hfmirror.sha256": e["sha256"],
        "user.hfmirror.size": str(e["size"]),
        "user.hfmirror.cached_bytes": "0",
        "user.hfmirror.state": "absent",
        "user.hfmirror.endpoint": hub.url,
    }
    assert (base / lfs).read_bytes() == Path(e["bytes_path"]).read_bytes()
    after = getfattr(base / lfs)
    assert after["user.hfmirror.state"] == "complete"
    assert after["user.hfmirror.cached_bytes"] == str(e["size"])

    p = repo.files()[plain]
    attrs = getfattr(base / plain)
    assert attrs["user.hfmirror.git_sha1"] == p["git_oid"]
    assert "user.hfmirror.sha256" not in attrs


def test_xattr_syscalls_list_get_and_refuse_writes(hub, mount):
    m = mount()
    path = m.path / "hfm-test" / "tiny-model" / "config.json"
    names = os.listxattr(path)
    assert sorted(names) == sorted(["user.hfmirror.commit", "user.hfmirror.git_sha1", "user.hfmirror.size",
                                    "user.hfmirror.cached_bytes", "user.hfmirror.state",
                                    "user.hfmirror.endpoint"])
    assert os.getxattr(path, "user.hfmirror.size") == str(os.stat(path).st_size).encode()
    with pytest.raises(OSError) as e:
        os.getxattr(path, "user.hfmirror.nothing")
    assert e.value.errno == errno.ENODATA
    with pytest.raises(OSError) as e:
        os.setxattr(path, "user.mine", b"1")
    assert e.value.errno == errno.EROFS
    assert os.listxattr(m.path / "hfm-test" / "tiny-model") == []
