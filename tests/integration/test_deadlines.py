"""Deadlines through a real mount: a stalled server yields EIO within the read timeout, the same file reads
correctly once the server recovers, and unmount is prompt while fetches still hang."""

import errno
import hashlib
import subprocess
import time

LARGE = ("hfm-test", "large-model", "large.bin")


def test_stalled_server_gives_eio_in_bounded_time_then_recovers(hub, mount):
    hub.set_fault(host="cdn", route="any", action="stall", before_headers=True, seconds=60, times=10000)
    m = mount(extra_options=["timeout=3"])
    path = m.path.joinpath(*LARGE)
    start = time.monotonic()
    try:
        with open(path, "rb", buffering=0) as f:
            f.read(1 << 20)
        raised = None
    except OSError as e:
        raised = e
    elapsed = time.monotonic() - start
    assert raised is not None and raised.errno == errno.EIO
    assert elapsed < 3 * 3 + 5, "EIO must come within the read deadline (took %.1fs)" % elapsed
    hub.clear_faults()
    want = hashlib.sha256(hub.manifest.repo("hfm-test/large-model").read("large.bin")).hexdigest()
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    assert got == want


def test_unmount_is_prompt_while_fetches_hang(hub, mount):
    hub.set_fault(host="cdn", route="any", action="stall", before_headers=True, seconds=120, times=10000)
    m = mount(extra_options=["timeout=30"])  # fetches may hang for a minute: unmount must not wait
    reader = subprocess.Popen(["dd", "if=%s" % m.path.joinpath(*LARGE), "of=/dev/null", "bs=1M"],
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not any(r["host"] == "cdn" for r in hub.log()) and time.monotonic() < deadline:
        time.sleep(0.05)
    reader.kill()
    reader.wait(timeout=60)
    start = time.monotonic()
    assert m.unmount() == 0
    assert time.monotonic() - start < 10, "unmount waited on a hung fetch"
