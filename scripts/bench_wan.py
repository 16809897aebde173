"""scripts/bench's WAN targets (11-14): hfmirror against its peers over an emulated wide-area network.

This machine has no netem, so tests/netem/latency_proxy stands in for the network: every byte waits RTT/2
each way and a fresh connection one RTT more (the handshake). One proxy sits in front of nginx (the data
server) and one in front of the test hub; the hub signs LFS URLs for the data server's proxy, so hfmirror
and the peers (aria2c, curl) reach the same bytes through the same delay. Unless a row says "no cap", nginx
paces every TCP connection at 25 MiB/s (scripts/bench_pace_shim.c), as a CDN's per-flow limit would; the
proxy keeps one upstream connection per client connection, so the cap stays per connection.

  11  cold sequential read of the WAN file (hfm-bench/st-model's model.safetensors, --wan-mb, default
      1 GiB) at each RTT of --wan-rtts, capped: >= 1.1x aria2c -x16 -s16 of the same signed URL; at one RTT
      (50 ms if listed) with no cap: >= 1.0x aria2c
  12  header read on a cold file (listing already seen): open + pread 8 @0 + pread 1 MiB @0, at 50 and
      100 ms: <= 1.0x one raw 1 MiB range GET by curl on a fresh connection
  13  200 random 64 KiB preads of hfm-bench/table's data file at 50 ms: median latency <= 1.2 RTT; bytes
      fetched per read <= 1 block (1 MiB)
  14  daemon peak VmRSS during the cold read at 100 ms: <= 192 MiB

An RTT a target names but --wan-rtts lacks is replaced by the nearest one listed (the smoke run lists one).
scripts/bench imports this module and hands it its own helpers (`h`: Row, dd_seconds, cold_start, ...).
"""

import os
import shutil
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "netem"))
import netem  # noqa: E402

MIB = 1 << 20
RSS_LIMIT_MIB = 192
TITLES = {11: "WAN: cold sequential read", 12: "WAN: header read, cold file", 13: "WAN: 200 random 64 KiB reads",
          14: "WAN: daemon peak RSS"}


def nearest(rtts, want):
    return min(rtts, key=lambda r: (abs(r - want), r))


class WanPath:
    """nginx behind a latency proxy, and a test hub behind another whose signed URLs point at the first."""

    def __init__(self, b, h, rtt_ms, capped):
        self.rtt_ms, self.capped = rtt_ms, capped
        self.nginx = b.paced if capped else b.fast
        name = "wan-%gms-%s" % (rtt_ms, "capped" if capped else "nocap")
        self.cdn = netem.LatencyProxy((self.nginx.host, self.nginx.port), rtt_ms, listen_host=self.nginx.host,
                                      log_path=b.work / ("%s-cdn-proxy.log" % name))
        b.stack.callback(self.cdn.stop)
        self.hub = b._start_hub(name + "-hub", self.cdn)  # signed URLs: http://<cdn proxy>/lfs/<sha256>?...
        port = int(self.hub.url.rsplit(":", 1)[1])
        self.hub_proxy = netem.LatencyProxy(("127.0.0.1", port), rtt_ms, log_path=b.work / ("%s-hub-proxy.log" % name))
        b.stack.callback(self.hub_proxy.stop)
        self.url = self.hub_proxy.url  # what hfmirror mounts (b.hfm reads .url)
        self.h = h
        # in WORK/pids too, so that a later run ends the proxies of one that was killed (Children.reap_leftovers)
        with open(b.children.path, "a") as pids:
            for p in (self.cdn, self.hub_proxy):
                pids.write("%d %s\n" % (p.pid, os.path.basename(p.proc.args[0])))

    def signed_url(self, f):
        """The signed URL the hub redirects a download of `f` to (asked directly: not part of any timing)."""
        r = self.hub.request("GET", "/%s/resolve/main/%s" % (f.repo, f.path))
        location = r.headers.get("Location")
        if r.status != 302 or not location:
            raise self.h.BenchError("resolve of %s/%s -> %d, no redirect" % (f.repo, f.path, r.status))
        return location

    def cpu_seconds(self):
        """CPU time the data server's proxy has used so far: compared with a transfer's wall time, it shows
        whether the proxy could have been the bottleneck."""
        with open("/proc/%d/stat" % self.cdn.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def label(self):
        return "RTT %g ms, %s" % (self.rtt_ms, "25 MiB/s per connection" if self.capped else "no cap")


def wan_path(b, h, rtt_ms, capped=True):
    """One WanPath per (RTT, cap) for the whole run: its hub and proxies start on first use."""
    key = (rtt_ms, capped)
    if not hasattr(b, "_wan_paths"):
        b._wan_paths = {}
    paths = b._wan_paths
    if key not in paths:
        paths[key] = WanPath(b, h, rtt_ms, capped)
    return paths[key]


def proxy_load(w, fn):
    """Runs fn(). -> (its result, the share of fn's wall time (mount and cache drop included, for hfmirror)
    the data server's proxy spent on a CPU)."""
    cpu, start = w.cpu_seconds(), time.perf_counter()
    mbps = fn()
    return mbps, (w.cpu_seconds() - cpu) / (time.perf_counter() - start)


def aria2c_mbps(b, h, url, f):
    dl = b.work / "aria2-wan"
    shutil.rmtree(dl, ignore_errors=True)
    dl.mkdir()
    secs, _ = h.timed(["aria2c", "-x16", "-s16", "-q", "--allow-overwrite=true", "--auto-file-renaming=false",
                       "-d", dl, "-o", "out.bin", url])
    got = (dl / "out.bin").stat().st_size
    shutil.rmtree(dl, ignore_errors=True)
    if got != f.size:
        raise h.BenchError("aria2c downloaded %d bytes, expected %d" % (got, f.size))
    return h.mbps(f.size, secs)


def make_targets(h):
    """{target number: function(b)} for scripts/bench; `h` is scripts/bench's module (its helpers)."""

    def cold_reads(b, w, f, sampler=None):
        """One cold read through a fresh mount on `w`. -> (MB/s, (bytes, requests, connections) at nginx)."""
        h.cold_start(f.blob)
        mark = w.nginx.log_offset()
        with b.hfm(b.fresh_cache(), hub=w) as m:
            if sampler is None:
                mbps = h.mbps(f.size, h.dd_seconds(f.in_mount(m.path), f.size))
            else:
                with sampler(m.pid) as s:
                    mbps = h.mbps(f.size, h.dd_seconds(f.in_mount(m.path), f.size))
                b._wan_rss.append(s)
        time.sleep(0.2)  # nginx logs a transfer when its connection closes (as target 5 does)
        return mbps, w.nginx.traffic_since(mark)

    def target_11(b):
        """WAN cold sequential read against aria2c -x16 -s16 of the same signed URL, capped and not."""
        f = b.st
        rtts = b.args.wan_rtts
        cases = [(r, True) for r in rtts] + [(nearest(rtts, 50), False)]
        for rtt, capped in cases:
            w = wan_path(b, h, rtt, capped)
            url = w.signed_url(f)
            if capped and rtt == rtts[0]:
                h.cold_start(f.blob)
                n = min(f.size, 64 * MIB)
                _, r = h.timed(["curl", "-sf", "-r", "0-%d" % (n - 1), url, "-o", "/dev/null",
                                "-w", "%{speed_download}"])
                b.add(11, "pacing check through the proxy (no hfmirror figure)", "MB/s", None,
                      "1 curl connection, %s" % w.label(), float(r.stdout.decode().strip().replace(",", ".")) / 1e6,
                      note="the cap is 25 MiB/s = 26.2 MB/s; %d MiB, 2 RTTs of setup included" % (n // MIB))
            ours, aria, traffic, load = [], [], [], []
            for _ in range(b.runs):
                (mbps, t), busy = proxy_load(w, lambda: cold_reads(b, w, f))
                ours.append(mbps)
                traffic.append(t)
                h.cold_start(f.blob)
                mbps, busy_aria = proxy_load(w, lambda: aria2c_mbps(b, h, url, f))
                aria.append(mbps)
                load.append((busy, busy_aria))
            sent, reqs, conns = traffic[-1]
            b.add(11, "cold read %d MiB, %s" % (f.size // MIB, w.label()), "MB/s", h.median(ours),
                  "aria2c -x16 -s16", h.median(aria), ">=", 1.1 if capped else 1.0, ours_samples=ours,
                  peer_samples=aria, label="%g ms%s" % (rtt, "" if capped else " no cap"),
                  note="hfmirror: %.0f MiB in %d GETs on %d connection(s) (nginx's log, last run); the data "
                  "proxy was on a CPU %.0f%% of the hfmirror run, %.0f%% of the aria2c run (max over runs)" % (
                      sent / MIB, reqs, conns, 100 * max(x[0] for x in load), 100 * max(x[1] for x in load)))

    def target_12(b):
        """Header read of a cold file (listing seen) against one raw 1 MiB range GET on a fresh connection."""
        f = b.st
        rtts = sorted({nearest(b.args.wan_rtts, r) for r in (50, 100)})
        for rtt in rtts:
            w = wan_path(b, h, rtt)
            url = w.signed_url(f)
            ours, opens, raw = [], [], []
            for _ in range(b.runs):
                h.cold_start(f.blob)
                with b.hfm(b.fresh_cache(), hub=w) as m:
                    path = f.in_mount(m.path)
                    os.listdir(path.parent)  # the listing is seen: not what is measured
                    os.stat(path)
                    start = time.perf_counter()
                    fd = os.open(path, os.O_RDONLY)
                    opened = time.perf_counter()
                    try:
                        head = os.pread(fd, 8, 0)
                        body = os.pread(fd, MIB, 0)
                        done = time.perf_counter()
                    finally:
                        os.close(fd)
                if len(body) != min(MIB, f.size) or struct.unpack("<Q", head)[0] > f.size:
                    raise h.BenchError("%s: short or implausible header read" % path)
                ours.append((done - start) * 1000)
                opens.append((opened - start) * 1000)
                # curl's own clock (-w time_total): connect, request, 1 MiB; not its process start
                _, r = h.timed(["curl", "-sf", "-r", "0-%d" % (MIB - 1), "-o", "/dev/null", "-w", "%{time_total}",
                                url])
                raw.append(float(r.stdout.decode().strip().replace(",", ".")) * 1000)
            b.add(12, "header: open + pread 8 @0 + 1 MiB @0, cold, %s" % w.label(), "ms", h.median(ours),
                  "curl 1 MiB range GET, fresh connection", h.median(raw), "<=", 1.0, higher_better=False,
                  ours_samples=ours, peer_samples=raw, label="%g ms" % rtt,
                  note="of which open(): %.1f ms (median)" % h.median(opens))

    def target_13(b):
        """200 random 64 KiB preads on a cold mount at 50 ms: latency in RTTs, bytes fetched per read."""
        f = b.table
        rtt = nearest(b.args.wan_rtts, 50)
        w = wan_path(b, h, rtt)
        offsets = h.random_offsets(f.size)
        ours, per_read = [], []
        for _ in range(b.runs):
            h.cold_start(f.blob)
            mark = w.nginx.log_offset()
            with b.hfm(b.fresh_cache(), hub=w) as m:
                path = f.in_mount(m.path)
                os.stat(path)  # the listing is not what is measured
                lat = h.pread_latencies(path, offsets)
            ours.append(h.median(lat) * 1000 / rtt)
            time.sleep(0.2)  # nginx logs a cancelled transfer when its connection closes
            per_read.append(w.nginx.traffic_since(mark)[0] / len(offsets) / MIB)
        what = "%d random 64 KiB preads, %s" % (h.RANDOM_READS, w.label())
        b.add(13, what + ": median latency", "RTT", h.median(ours), "limit", 1.2, "<=", 1.0, higher_better=False,
              ours_samples=ours, label="latency (RTTs)",
              note="%.1f ms at RTT %g ms; file %d MiB" % (h.median(ours) * rtt, rtt, f.size // MIB))
        b.add(13, what + ": bytes fetched per read", "MiB", h.median(per_read), "one cache block",
              h.BLOCK / MIB, "<=", 1.0, higher_better=False, ours_samples=per_read, label="MiB per read",
              note="nginx's $body_bytes_sent summed over the run / %d reads" % h.RANDOM_READS)

    def target_14(b):
        """The daemon's peak resident memory during the cold read at 100 ms."""
        f = b.st
        rtt = nearest(b.args.wan_rtts, 100)
        w = wan_path(b, h, rtt)
        peaks, speeds = [], []
        b._wan_rss = []
        for _ in range(b.runs):
            mbps, _ = cold_reads(b, w, f, sampler=h.RssSampler)
            speeds.append(mbps)
            peaks.append(b._wan_rss[-1].peak_mib("VmRSS"))
        b.raw["14"] = [s.summary() for s in b._wan_rss]
        b.add(14, "daemon peak VmRSS, cold read %d MiB, %s" % (f.size // MIB, w.label()), "MiB", h.median(peaks),
              "limit", RSS_LIMIT_MIB, "<=", 1.0, higher_better=False, ours_samples=peaks, label="%g ms" % rtt,
              note="read at %.0f MB/s (median); peak RssAnon %.1f MiB (last run)" % (
                  h.median(speeds), b._wan_rss[-1].peak_mib("RssAnon")))

    return {11: target_11, 12: target_12, 13: target_13, 14: target_14}
