"""The Debian package, as an admin uses it: `cpack -G DEB` builds it from this build, `dpkg -i` installs it,
`mount -t hfmirror` finds the installed helper (and `hfmirror` is on the PATH) (/sbin/mount.hfmirror), `umount` unmounts, and the example
systemd units pass `systemd-analyze verify`. The package is removed again at the end.

Skipped under the sanitizers (they check memory and threads, not packaging) and when the package is installed
already (this test would then remove an admin's install)."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = "hfm-test/tiny-model"


def build_dir():
    binary = Path(os.environ.get("HFM_BINARY", ROOT / "build" / "mount.hfmirror"))
    return binary.resolve().parent


def installed():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "hfmirror"], capture_output=True, text=True)
    return "install ok installed" in r.stdout


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    if os.environ.get("HFM_SANITIZER"):
        pytest.skip("packaging is not what the sanitizers check")
    if os.geteuid() != 0 or not shutil.which("dpkg") or not shutil.which("cpack"):
        pytest.skip("needs root, dpkg and cpack")
    if installed():
        pytest.skip("an hfmirror package is installed on this machine; not touching it")
    out = tmp_path_factory.mktemp("deb")
    build = build_dir()
    r = subprocess.run(["cpack", "-G", "DEB", "-B", str(out), "--config", str(build / "CPackConfig.cmake")],
                       cwd=build, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = list(out.glob("hfmirror_*.deb"))
    assert len(debs) == 1, list(out.iterdir())
    info = subprocess.run(["dpkg-deb", "--field", str(debs[0]), "Depends"], capture_output=True, text=True)
    for dep in ("fuse3", "libcurl4", "liblmdb0", "libssl3"):
        assert dep in info.stdout
    r = subprocess.run(["dpkg", "-i", str(debs[0])], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        yield debs[0]
    finally:
        subprocess.run(["dpkg", "-r", "hfmirror"], capture_output=True, timeout=120)
        assert not installed()


def test_the_package_holds_the_helper_the_man_page_and_examples(deb):
    files = subprocess.run(["dpkg", "-L", "hfmirror"], capture_output=True, text=True).stdout.split()
    for f in ("/usr/sbin/mount.hfmirror", "/usr/share/man/man8/mount.hfmirror.8.gz", "/usr/bin/hfmirror",
              "/usr/share/man/man1/hfmirror.1.gz",
              "/usr/share/doc/hfmirror/examples/fstab.example",
              "/usr/share/doc/hfmirror/examples/mnt-models.mount",
              "/usr/share/doc/hfmirror/examples/mnt-models.automount",
              "/usr/share/doc/hfmirror/examples/hfmirror.conf.example"):
        assert f in files, f
    assert os.access("/sbin/mount.hfmirror", os.X_OK), "mount(8) looks for the helper in /sbin"
    v = subprocess.run(["/sbin/mount.hfmirror", "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("mount.hfmirror ")
    v = subprocess.run(["/usr/bin/hfmirror", "--version"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.startswith("hfmirror ")
    if shutil.which("man"):
        for section, page, words in (("8", "mount.hfmirror", "read-only"), ("1", "hfmirror", "prefetch")):
            shown = subprocess.run(["man", "-P", "cat", section, page], capture_output=True, text=True,
                                   env=dict(os.environ, MANWIDTH="100"))
            assert words in shown.stdout, shown.stderr


def test_mount_t_hfmirror_uses_the_installed_helper_and_umount_unmounts(deb, hub, tmp_path):
    mnt, cache = tmp_path / "models", tmp_path / "cache"
    mnt.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = str(tmp_path / "none.conf")
    r = subprocess.run(["mount", "-t", "hfmirror", hub.url, str(mnt),
                        "-o", "ro,nodev,nosuid,_netdev,cache=%s" % cache], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        with open("/proc/self/mountinfo") as f:
            line = next(l for l in f if (" %s " % mnt) in l)
        assert "fuse.hfmirror" in line
        repo = hub.manifest.repo(TINY)
        assert (mnt / "hfm-test" / "tiny-model" / "config.json").read_bytes() == repo.read("config.json")
    finally:
        u = subprocess.run(["umount", str(mnt)], capture_output=True, text=True, timeout=60)
    assert u.returncode == 0, u.stderr
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with open("/proc/self/mountinfo") as f:
            if (" %s " % mnt) not in f.read():
                break
        time.sleep(0.05)
    else:
        raise AssertionError("still mounted after umount")


def test_the_example_systemd_units_verify(deb):
    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze here")
    # Where systemd cannot verify even a trivial unit (a container without it running), there is no verdict.
    probe = Path(deb).parent / "hfm-probe.service"
    probe.write_text("[Unit]\nDescription=probe\n[Service]\nType=oneshot\nExecStart=/bin/true\n")
    if subprocess.run(["systemd-analyze", "verify", str(probe)], capture_output=True, timeout=60).returncode != 0:
        pytest.skip("systemd-analyze verify does not work on this machine")
    examples = Path("/usr/share/doc/hfmirror/examples")
    r = subprocess.run(["systemd-analyze", "verify", str(examples / "mnt-models.mount"),
                        str(examples / "mnt-models.automount")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
