"""Security rules through real mounts: token sources and file permissions, the token's reach, the cache
directory's mode, allow_other implying default_permissions, TLS verification on by default."""

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
import hub_hostile  # noqa: E402
import hubctl  # noqa: E402

VALID_TOKEN = "hf_test_valid_token"
GATED = ("hfm-test", "gated-model", "weights.safetensors")


def test_cache_directory_is_created_private(hub, mount, tmp_path):
    fresh = tmp_path / "fresh-cache"  # the harness pre-creates its own cache dir; a later cache= wins
    m = mount(extra_options=["cache=%s" % fresh])
    (m.path / "hfm-test" / "tiny-model" / "config.json").read_bytes()
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700
    assert (fresh / "data.mdb").exists()


def test_token_file_readable_by_others_is_refused(hub, mount, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(VALID_TOKEN + "\n")
    token_file.chmod(0o644)
    with pytest.raises(Exception) as e:
        mount(extra_options=["token_file=%s" % token_file], timeout=10)
    assert "readable by other users" in str(e.value)
    assert VALID_TOKEN not in str(e.value)
    token_file.chmod(0o600)
    m = mount(extra_options=["token_file=%s" % token_file])
    repo = hub.manifest.repo("hfm-test/gated-model")
    assert (m.path.joinpath(*GATED)).read_bytes() == repo.read(GATED[2])


def test_token_from_hf_home_file(hub, mount, tmp_path):
    home = tmp_path / "hf_home"
    home.mkdir()
    (home / "token").write_text(VALID_TOKEN)
    (home / "token").chmod(0o600)
    m = mount(env={"HF_HOME": str(home)})
    repo = hub.manifest.repo("hfm-test/gated-model")
    assert (m.path.joinpath(*GATED)).read_bytes() == repo.read(GATED[2])


def test_token_never_on_the_command_line_or_in_logs(hub, mount):
    m = mount(env={"HF_TOKEN": VALID_TOKEN})
    m.path.joinpath(*GATED).read_bytes()
    with open("/proc/%d/cmdline" % m.proc.pid, "rb") as f:
        assert VALID_TOKEN.encode() not in f.read()
    assert VALID_TOKEN not in m.stderr_tail(1 << 20)
    with pytest.raises(Exception) as e:
        mount(extra_options=["token=" + VALID_TOKEN], timeout=10)
    # The harness echoes the command it ran; the daemon's own words must not repeat the token.
    said = [l for l in str(e.value).splitlines() if l.startswith("mount.hfmirror:")]
    assert said and all(VALID_TOKEN not in l for l in said)


def test_allow_other_turns_on_default_permissions(hub, mount):
    m = mount(extra_options=["allow_other"])
    with open("/proc/self/mountinfo") as f:
        line = next(l for l in f if l.split()[4] == str(m.path))
    assert "allow_other" in line and "default_permissions" in line


def test_insecure_tls_is_announced(hub, mount):
    m = mount(extra_options=["insecure"])
    assert "TLS certificate verification is OFF" in m.stderr_tail()


# ------------------------------------------------------------------ tokens only where they belong (probe 3)

def _non_loopback_ipv4():
    """An address of this machine that is not loopback, so plain http to it counts as the network; None if
    there is none."""
    r = subprocess.run(["hostname", "-I"], capture_output=True, text=True)
    for addr in r.stdout.split():
        if "." in addr and not addr.startswith("127."):
            return addr
    return None


@pytest.fixture
def far_hub(hub, tmp_path):
    """A second test hub listening on a non-loopback address of this machine."""
    addr = _non_loopback_ipv4()
    if addr is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    h = hubctl.start_hub(hub.fixtures_dir, extra_args=["--host", addr], stderr_path=str(tmp_path / "far.stderr"))
    h.addr = addr
    yield h
    h.stop()


def _gated_path(m):
    return m.path.joinpath(*GATED)


def test_token_never_goes_in_clear_text_to_a_host_the_admin_did_not_name(hub, far_hub, mount):
    assert far_hub.url.startswith("http://%s:" % far_hub.addr)
    m = mount(endpoint=far_hub.url, env={"HF_TOKEN": VALID_TOKEN})
    with pytest.raises(OSError) as e:
        _gated_path(m).read_bytes()
    assert e.value.errno in (errno.EACCES, errno.ENOENT)
    log = far_hub.log()
    assert log, "the mount asked the far hub nothing"
    assert not [r for r in log if r["has_authorization"]], "the token went over plain http"
    said = m.stderr_text()
    assert said.count("endpoint %s is plain http" % far_hub.url) == 1, said
    assert VALID_TOKEN not in said

    # The admin names the host: now it gets the token, and the gated repo reads.
    m.remount(extra_options=["token_http_hosts=" + far_hub.addr])
    repo = hub.manifest.repo("hfm-test/gated-model")
    assert _gated_path(m).read_bytes() == repo.read(GATED[2])
    assert [r for r in far_hub.log() if r["has_authorization"]]
    assert "is plain http" not in m.stderr_text()


def test_token_still_goes_to_a_loopback_http_endpoint(hub, mount):
    m = mount(env={"HF_TOKEN": VALID_TOKEN})
    repo = hub.manifest.repo("hfm-test/gated-model")
    assert _gated_path(m).read_bytes() == repo.read(GATED[2])
    assert "is plain http" not in m.stderr_text()


def test_endpoint_with_a_password_is_refused_and_never_echoed(hub, mount):
    secret_url = hub.url.replace("http://", "http://user:s3cret@")
    with pytest.raises(Exception) as e:
        mount(endpoint=secret_url, env={"HF_TOKEN": VALID_TOKEN}, timeout=10)
    # The harness echoes the command it ran; the daemon's own words must not repeat the password.
    said = [l for l in str(e.value).splitlines() if l.startswith("mount.hfmirror:")]
    assert said and all("s3cret" not in l for l in said), said
    assert any("user name or password" in l for l in said), said
    assert not hub.log(), "a refused endpoint must not be asked anything"


# ------------------------------------------------------------------------- hostile text (probe 8)

def test_control_characters_in_names_reach_neither_the_log_nor_the_terminal(hub, mount, tmp_path):
    hub.set_fault(route="tree", path_contains="/api/models/hfm-test/tiny-model/tree/", action="hostile_listing",
                  case="control_names", times=10000)  # the mount and `hfmirror ls` both list it
    m = mount()
    base = m.path / "hfm-test" / "tiny-model"
    names = [e["path"] for e in hub_hostile.good_extra("control_names")]
    assert set(names) <= set(os.listdir(base))
    for name in names:
        with pytest.raises(OSError):
            (base / name).read_bytes()  # not in the repo's bytes: the failure is logged with the name
    log = m.stderr_text()
    assert "ctl\\x0a2026-01-01T00:00:00.000Z ERROR hfmirror: FORGED\\x1b[2J.txt" in log, log[-3000:]
    assert not [l for l in log.splitlines() if l.startswith("2026-01-01T00:00:00.000Z")], "a forged log line"
    for raw in ("\x1b", "\r", "\x07", "\x9b"):
        assert raw not in log

    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = "/nonexistent/hfmirror.conf"
    cli = str(Path(m.binary).resolve().parent / "hfmirror")
    r = subprocess.run([cli, "ls", "hfm-test/tiny-model", "--endpoint", hub.url, "--cache", str(tmp_path / "cli")],
                       env=env, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode("utf-8", "surrogateescape")
    assert "ctl\\x0a2026-01-01T00:00:00.000Z ERROR hfmirror: FORGED\\x1b[2J.txt" in out, out
    assert "config.json" in out
    for raw in ("\x1b", "\r", "\x07", "\x9b"):
        assert raw not in out
    assert len(out.splitlines()) == len(os.listdir(base)), out


# --------------------------------------------------------------------- CLI option injection (probe 7)

def test_cli_flag_values_cannot_smuggle_mount_options(hub, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF")}
    env["HFMIRROR_CONFIG"] = "/nonexistent/hfmirror.conf"
    env["HFMIRROR_ENDPOINTS"] = hub.url  # an -o endpoint= smuggled in through --cache would win over it
    mount_binary = os.environ.get("HFM_BINARY") or str(Path(__file__).resolve().parents[2] / "build" /
                                                        "mount.hfmirror")
    cli = str(Path(mount_binary).resolve().parent / "hfmirror")
    cache = "%s,endpoint=http://127.0.0.1:9" % (tmp_path / "cache")  # port 9: nothing listens
    r = subprocess.run([cli, "resolve", "hfm-test/tiny-model", "--cache", cache],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == hub.manifest.repo("hfm-test/tiny-model").commit()
