"""Server-style configuration through a real mount: /etc/hfmirror.conf (here named by $HFMIRROR_CONFIG), the
mount(8) helper form `mount.hfmirror hfmirror DIR`, --version, and -o log_level."""

import os
import subprocess
import time
from pathlib import Path

TINY = "hfm-test/tiny-model"


def binary():
    return os.environ.get("HFM_BINARY", str(Path(__file__).resolve().parents[2] / "build" / "mount.hfmirror"))


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env.update(extra)
    return env


def wait_unmounted(mnt):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with open("/proc/self/mountinfo") as f:
            if str(mnt) not in f.read():
                return True
        time.sleep(0.05)
    return False


def test_the_config_file_alone_mounts_the_hub_with_the_helper_form(hub, tmp_path):
    mnt, cache, conf = tmp_path / "mnt", tmp_path / "cache", tmp_path / "hfmirror.conf"
    mnt.mkdir()
    conf.write_text("# as an admin writes /etc/hfmirror.conf\n"
                    "endpoint = %s\n"
                    "cache = %s\n"
                    "timeout = 10   # seconds\n" % (hub.url, cache))
    # What mount(8) runs for an fstab line `hfmirror /mnt hfmirror ro,_netdev,nofail 0 0`.
    done = subprocess.run([binary(), "hfmirror", str(mnt), "-o", "ro,_netdev,nofail,nodev,nosuid"],
                          env=clean_env(HFMIRROR_CONFIG=str(conf)), timeout=60, capture_output=True)
    assert done.returncode == 0, done.stderr
    try:
        repo = hub.manifest.repo(TINY)
        assert (mnt / "hfm-test" / "tiny-model" / "config.json").read_bytes() == repo.read("config.json")
        assert any(cache.iterdir()), "the cache named in the file holds the blocks"
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
    assert wait_unmounted(mnt)


def test_a_bad_config_line_is_refused_with_its_place(tmp_path):
    conf = tmp_path / "hfmirror.conf"
    conf.write_text("timeout = 5\nthis is wrong\n")
    done = subprocess.run([binary(), str(tmp_path / "mnt")], env=clean_env(HFMIRROR_CONFIG=str(conf)),
                          timeout=30, capture_output=True, text=True)
    assert done.returncode == 2
    assert "%s:2" % conf in done.stderr


def test_version_and_help_exit_zero():
    v = subprocess.run([binary(), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and v.stdout.startswith("mount.hfmirror ")
    h = subprocess.run([binary(), "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0 and "log_level=" in h.stdout and "max_memory=" in h.stdout


def test_log_level_error_keeps_info_lines_out(hub, mount):
    quiet = mount(extra_options=["log_level=error"])
    loud = mount(extra_options=["log_level=info"])
    quiet.unmount()
    loud.unmount()
    assert "mounted" not in quiet.stderr_path.read_text()
    assert "mounted" in loud.stderr_path.read_text()
