"""Start tests/netem/latency_proxy (a TCP proxy that adds a round-trip time) from Python: used by the proxy's
own tests, the `wan_hub` fixture of tests/integration and scripts/bench's WAN targets. Standard library only.

    proxy = LatencyProxy(("127.0.0.1", 8080), rtt_ms=50)      # listens on a free port of 127.0.0.1
    proxy.url                                                  # "http://127.0.0.1:P"
    proxy.stop()                                               # SIGTERM; -> its exit status

The binary: $HFM_LATENCY_PROXY, else latency_proxy beside $HFM_BINARY (the build dir), else build/, else
compiled here with cc into a temporary directory (one C file, a second), keyed by the source's hash so an
edited source is never run stale.
"""

import hashlib
import os
import select
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "latency_proxy.c"
REPO_ROOT = HERE.parents[1]


def _fresh(binary):
    """A built binary is used only when it is newer than the source (a stale build dir is not)."""
    try:
        return os.access(binary, os.X_OK) and binary.stat().st_mtime >= SOURCE.stat().st_mtime
    except OSError:
        return False


def proxy_binary():
    """Path of a latency_proxy built from the current source (see the module docstring)."""
    env = os.environ.get("HFM_LATENCY_PROXY")
    if env:
        return Path(env)
    candidates = []
    if os.environ.get("HFM_BINARY"):
        candidates.append(Path(os.environ["HFM_BINARY"]).resolve().parent / "latency_proxy")
    candidates.append(REPO_ROOT / "build" / "latency_proxy")
    for c in candidates:
        if _fresh(c):
            return c
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / ("hfm-latency-proxy-%s" % digest)
    if not os.access(out, os.X_OK):
        tmp = out.with_name(out.name + ".%d" % os.getpid())
        subprocess.run(["cc", "-O2", "-Wall", "-o", str(tmp), str(SOURCE)], check=True, capture_output=True)
        os.replace(tmp, out)  # atomic: a concurrent run sees the whole binary or none
    return out


class LatencyProxy:
    """A running latency_proxy in front of `upstream` (host, port). RTT 0 is a plain proxy.
    `window_kb`: bytes queued per direction per connection (the proxy's default: 8 MiB)."""

    def __init__(self, upstream, rtt_ms, listen_host="127.0.0.1", window_kb=None, log_path=None, timeout=10):
        self.upstream, self.rtt_ms, self.host = tuple(upstream), rtt_ms, listen_host
        argv = [str(proxy_binary()), "--listen", "%s:0" % listen_host, "--upstream", "%s:%d" % self.upstream,
                "--rtt-ms", str(rtt_ms)]
        if window_kb is not None:
            argv += ["--window-kb", str(window_kb)]
        err = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                         start_new_session=True)  # a Ctrl-C reaches its parent, who stops it
        finally:
            if log_path:
                err.close()
        # The proxy prints its port once it listens: wait for that line, not for a while.
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("latency_proxy did not start (%s): %r" % (" ".join(argv), line))
        self.port = int(line)
        self.url = "http://%s:%d" % (self.host, self.port)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM and wait; SIGKILL if it does not go. -> exit status (0 for a clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdout and not self.proc.stdout.closed:
            self.proc.stdout.close()
        return self.proc.returncode
