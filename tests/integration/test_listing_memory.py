"""Bounded memory whatever the listing (issue 14, probe 1), through a real FUSE mount.

Two hostile tree pages from the test hub (tests/hub/hub_hostile.py, streamed): "deep", 15,000 directory
entries 121 segments deep (55 MB of JSON implying 1.8 million parent directories), and "empty_objects", a
60 MB page of `{}`. Either must make `ls` of the repo fail with EIO (not an empty listing, not a dead mount),
keep the daemon's peak RSS (VmHWM) under MAX_HWM_KIB, and leave the mount serving other repos. The memory cap
is named in one log line with the repo, the commit and the endpoint.
"""

import errno
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_hostile import TINY, TIMEOUT_S, assert_daemon_healthy, hostile  # noqa: E402

MAX_HWM_KIB = 512 << 10  # 512 MiB; main's binary reached 5.5 GiB (deep) and 2.0 GiB (empty_objects)
if os.environ.get("HFM_SANITIZER"):  # scripts/sanitize.sh: TSan's shadow memory, ASan's quarantine and redzones
    MAX_HWM_KIB *= 8
if "TSAN_OPTIONS" in os.environ:  # TSan's shadow memory is 5-8x the heap
    MAX_HWM_KIB *= 8


def list_errno(path):
    try:
        names = os.listdir(path)
    except OSError as e:
        return e.errno, None
    return None, names


@pytest.mark.parametrize("case", ["deep", "empty_objects"])
def test_hostile_listing_is_eio_within_bounded_memory(hub, mount, case, request):
    hostile(hub, case)
    m = mount(extra_options=["timeout=%d" % TIMEOUT_S])
    base = m.path / "hfm-test" / "tiny-model"
    err, names = list_errno(base)
    hwm = m.vm_hwm_kib()
    if not hasattr(request.config, "_hfm_reports"):
        request.config._hfm_reports = []
    request.config._hfm_reports.append(("listing memory", "%s: ls errno %s, daemon VmHWM %s KiB" % (
        case, errno.errorcode.get(err, err), hwm)))
    assert err == errno.EIO, "ls gave %s, names %r" % (errno.errorcode.get(err), (names or [])[:10])
    refusals = [line for line in m.stderr_text().splitlines() if "refused" in line or "listing is broken" in line]
    assert len(refusals) == 1, refusals  # one line per failed listing, not one per entry
    assert hwm is not None and hwm < MAX_HWM_KIB, "daemon peak memory %s KiB" % hwm
    # A second try is refused the same way, not served as an empty directory.
    assert list_errno(base)[0] == errno.EIO
    assert_daemon_healthy(m, hub)
    if case == "deep":  # refused for its memory: the line names repo, commit, endpoint and cap
        line = refusals[0]
        assert TINY in line and hub.url in line and "cap of 64 MiB" in line, line
        assert hub.manifest.repo(TINY).commit() in line, line


def test_a_small_budget_refuses_a_listing_that_fits_the_default(hub, mount):
    # max_listing_memory is the admin's knob: at 4 MiB (2 MiB per listing) a listing of ~25,000 entries
    # that the default takes is refused, with the cap in the log.
    hostile(hub, "huge", mb=2)
    m = mount(extra_options=["timeout=%d" % TIMEOUT_S, "max_listing_memory=4M"])
    assert list_errno(m.path / "hfm-test" / "tiny-model")[0] == errno.EIO
    assert "cap of 2 MiB" in m.stderr_text()
    assert_daemon_healthy(m, hub)
