#!/usr/bin/env python3
"""Core read benchmark: the largest fixture file (hfm-test/large-model/large.bin) read through a real
hfmirror mount, cold (fresh cache, fresh mount) and warm (remount on the same cache: served from LMDB, and a
second read on the same mount: served from the kernel's page cache), beside curl from the same test hub
(`curl -sL URL -o /dev/null` and `curl -sL URL | sha256sum`, the by-hand download-and-verify).

Prints medians of --runs runs, ratios against curl, and the LMDB data file's size beside the bytes cached.
Traffic stays on loopback. Run as root (FUSE mounts):

    scripts/bench_core.py [--size-mb 512] [--runs 3] [--binary build/mount.hfmirror]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hub"))
import hubctl  # noqa: E402

REPO, FILE = "hfm-test/large-model", "large.bin"


def timed(cmd, **kw):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def wait_mounted(path, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/self/mountinfo") as f:
            if any(line.split()[4] == str(path) for line in f):
                return
        if proc.poll() is not None:
            raise SystemExit("mount.hfmirror exited early")
        time.sleep(0.05)
    raise SystemExit("mount did not appear")


class Mount:
    def __init__(self, binary, hub_url, cache, mnt, log):
        self.proc = subprocess.Popen([binary, str(mnt), "-f", "-o", f"endpoint={hub_url},cache={cache}"],
                                     stdout=log, stderr=log)
        self.mnt = mnt
        wait_mounted(mnt, self.proc)

    def close(self):
        subprocess.run(["fusermount3", "-u", str(self.mnt)], check=False)
        self.proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--binary", default=str(ROOT / "build" / "mount.hfmirror"))
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="hfm-bench-"))
    hub = hubctl.start_hub(fixtures_dir=str(work / "fixtures"), large_mb=args.size_mb)
    size = args.size_mb << 20
    url = f"{hub.url}/{REPO}/resolve/main/{FILE}"
    results = {k: [] for k in ("curl", "curl_sha256", "cold", "warm_lmdb", "warm_pagecache")}
    lmdb_sizes = []
    try:
        log = open(work / "mount.log", "ab")
        for run in range(args.runs):
            results["curl"].append(timed(["curl", "-sfL", url, "-o", "/dev/null"]))
            results["curl_sha256"].append(timed(["bash", "-c", f"curl -sfL '{url}' | openssl dgst -sha256"]))
            cache, mnt = work / f"cache{run}", work / f"mnt{run}"
            mnt.mkdir()
            m = Mount(args.binary, hub.url, cache, mnt, log)
            path = mnt / REPO / FILE
            dd = ["dd", f"if={path}", "of=/dev/null", "bs=1M"]
            try:
                results["cold"].append(timed(dd, stderr=subprocess.DEVNULL))
                results["warm_pagecache"].append(timed(dd, stderr=subprocess.DEVNULL))
            finally:
                m.close()
            m = Mount(args.binary, hub.url, cache, mnt, log)
            try:
                results["warm_lmdb"].append(timed(dd, stderr=subprocess.DEVNULL))
            finally:
                m.close()
            lmdb_sizes.append(os.path.getsize(cache / "data.mdb"))
            shutil.rmtree(cache)
    finally:
        hub.stop()

    med = {k: statistics.median(v) for k, v in results.items()}
    gbps = lambda t: size / t / 1e9  # noqa: E731
    print(f"file: {REPO}/{FILE}, {args.size_mb} MiB, median of {args.runs} runs, loopback test hub")
    print(f"{'reader':<34}{'seconds':>10}{'GB/s':>8}{'vs curl|openssl':>16}{'vs curl':>10}")
    names = {"curl": "curl -o /dev/null", "curl_sha256": "curl | openssl sha256",
             "cold": "hfmirror cold (dd bs=1M)", "warm_lmdb": "hfmirror warm, remounted (LMDB)",
             "warm_pagecache": "hfmirror warm, page cache"}
    for k in ("curl", "curl_sha256", "cold", "warm_lmdb", "warm_pagecache"):
        print(f"{names[k]:<34}{med[k]:>10.3f}{gbps(med[k]):>8.2f}"
              f"{med['curl_sha256'] / med[k]:>15.2f}x{med['curl'] / med[k]:>9.2f}x")
    lm = statistics.median(lmdb_sizes)
    print(f"LMDB data.mdb: {lm / 2**20:.1f} MiB for {size / 2**20:.1f} MiB cached ({lm / size:.3f}x)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
