"""Several endpoints through a real mount: a dead or unresolvable primary is skipped and the bytes come from
the next endpoint; a mirror serving corrupt bytes is abandoned for the good one."""

import hashlib
import socket
import time

import pytest

TINY = "hfm-test/tiny-model"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connections are refused
    return port


@pytest.mark.parametrize("dead", ["refused", "unresolvable"])
def test_dead_primary_fails_over_to_the_next_endpoint(hub, mount, dead):
    # A label over 63 bytes is refused by the resolver library itself: no DNS query leaves the machine.
    unresolvable = "http://hfm-unresolvable-" + "x" * 60 + ".invalid"
    primary = "http://127.0.0.1:%d" % closed_port() if dead == "refused" else unresolvable
    m = mount(extra_options=["endpoint=%s;%s" % (primary, hub.url)])
    repo = hub.manifest.repo(TINY)
    start = time.monotonic()
    for path in ("config.json", "model.safetensors", "nested/dir/deep/file.txt"):
        assert (m.path / "hfm-test" / "tiny-model" / path).read_bytes() == repo.read(path)
    assert time.monotonic() - start < 30


def test_corrupt_bytes_from_the_primary_are_replaced_by_the_mirror(hub, mount):
    # Corrupt every CDN body the first time each is served; the second endpoint is the same hub under
    # another name (127.0.0.3 is loopback too), so its requests are told apart by host in the log.
    good = hub.url.replace("127.0.0.1", "localhost")
    hub.set_fault(host="cdn", route="any", action="corrupt", offset=100, times=1)
    m = mount(extra_options=["endpoint=%s;%s" % (hub.url, good)])
    want = hub.manifest.repo(TINY).read("model.safetensors")
    path = m.path / "hfm-test" / "tiny-model" / "model.safetensors"
    got = None
    for _ in range(3):  # the first read may fail with EIO (bad bytes); a later one succeeds
        try:
            got = path.read_bytes()
            break
        except OSError:
            continue
    assert got == want
    assert "hash mismatch" in m.stderr_tail(1 << 20)
