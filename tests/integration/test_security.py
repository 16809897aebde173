"""Security rules through real mounts: token sources and file permissions, the token's reach, the cache
directory's mode, allow_other implying default_permissions, TLS verification on by default."""

import os
import stat
import subprocess

import pytest

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
