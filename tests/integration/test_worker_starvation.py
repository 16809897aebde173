"""Data reads can never take every FUSE worker (issue 14, "also seen"): with the CDN stalling, more reads
than the FUSE loop has workers (64) wait on the network at once, and listings and lookups of other paths
still answer promptly; every read still ends (data or EIO) near its timeout, and the mount unmounts.

The reads go to hfm-test/huge-files (tests/hub/hub_huge.py): eight uncached files of 2^40 bytes, so each
reader has a block of its own and the kernel cannot merge two readers into one request."""

import errno
import mmap
import os
import threading
import time

import hub_huge

HUGE = ("hfm-test", "huge-files")
TINY = ("hfm-test", "tiny-model")
READERS = 200  # more than the FUSE loop's 64 workers, by far: the kernel queues what they do not take
TIMEOUT = 8


class Reader(threading.Thread):
    def __init__(self, path, offset, issued):
        super().__init__(daemon=True)
        self.path, self.offset, self.issued = path, offset, issued
        self.result = self.elapsed = None

    def run(self):
        # O_DIRECT: one FUSE request per reader, as many at once as there are readers (through the page
        # cache the kernel's readahead would decide how many go out).
        fd = os.open(self.path, os.O_RDONLY | os.O_DIRECT)
        buf = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT wants
        try:
            start = time.monotonic()
            self.issued.release()
            try:
                n = os.preadv(fd, [buf], self.offset)
                self.result = bytes(buf[:n])
            except OSError as e:
                self.result = e.errno
            self.elapsed = time.monotonic() - start
        finally:
            os.close(fd)


def test_metadata_answers_while_more_reads_than_workers_stall(hub, mount):
    m = mount(extra_options=["timeout=%d" % TIMEOUT])
    huge, tiny = m.path.joinpath(*HUGE), m.path.joinpath(*TINY)
    names = hub_huge.file_names()
    assert sorted(os.listdir(huge)) == sorted(names)  # listings known before the stall
    tiny_names = sorted(os.listdir(tiny))
    hub.set_fault(host="cdn", route="any", action="stall", before_headers=True, seconds=120, times=10000)

    issued = threading.Semaphore(0)
    readers = [Reader(huge / names[i % len(names)], (i // len(names)) * (1 << 30), issued) for i in range(READERS)]
    for r in readers:
        r.start()
    for _ in readers:
        assert issued.acquire(timeout=30), "a reader thread never got to its read"
    # The hub logs a request once answered: a resolve (answered by the hub, not stalled) of a huge file
    # means its read has gone on to the stalled CDN.
    deadline = time.monotonic() + 30
    while not any(e["route"] == "resolve" and "huge-files" in e["path"] for e in hub.log()):
        assert time.monotonic() < deadline, "no read got as far as the CDN"
        time.sleep(0.05)  # polling the hub's log, bounded by the deadline above

    # While the reads hang: listings (readdir always reaches the daemon) and lookups of names never asked
    # before (nothing in the kernel's caches) must each answer well within one read timeout.
    slowest, probes, n = 0.0, 0, 0
    while any(r.is_alive() for r in readers) or probes < 3:
        start = time.monotonic()
        assert sorted(os.listdir(tiny)) == tiny_names
        try:
            os.stat(tiny / ("never-listed-%d" % n))
            raise AssertionError("a name the listing lacks was found")
        except FileNotFoundError:
            pass
        assert os.stat(huge / names[n % len(names)]).st_size == hub_huge.HUGE_SIZE
        slowest = max(slowest, time.monotonic() - start)
        probes, n = probes + 1, n + 1
        if slowest > TIMEOUT / 2:
            break
    assert slowest < TIMEOUT / 2, "metadata waited %.1fs behind stalled reads" % slowest

    for r in readers:
        r.join(timeout=4 * TIMEOUT + 30)
        assert not r.is_alive(), "a read never ended"
        assert r.result == errno.EIO or isinstance(r.result, bytes), r.result
        # At most one timeout in the queue, then at most one timeout (and a second's grace) running: the read
        # path alone let a read run 52s here, behind other stalled fetches on the shared fetch threads.
        assert r.elapsed < 2 * TIMEOUT + 6, "a read took %.1fs" % r.elapsed
    print("%d stalled reads: %d metadata probes, slowest %.2fs; reads ended within %.1fs" % (
        READERS, probes, slowest, max(r.elapsed for r in readers)))
    hub.clear_faults()
    assert m.unmount() == 0
