"""pytest fixtures for hfmirror's integration tests: a test hub, and real FUSE mounts of the binary on it.

Fixtures
  hub              (session) a running tests/hub/testhub.py: .url, .cdn_url, .control_url, .manifest
                   (fixtures.Manifest), .fixtures_dir, .request(method, path, headers, body, host),
                   .stats(), .count(route, host), .log(), .reset_stats(), .expire_signed_urls(ttl=None),
                   .move_branch(repo, branch, commit, kind="model"), .reset_refs(),
                   .set_fault(rule=None, **rule) -> id, .faults(), .clear_faults(), .reset().
                   Every test that uses it starts with empty stats/log, no faults and the fixture branches.
  mirror_hub       (session) a second, independent test hub on the same fixtures (its own ports, CDN, faults,
                   stats and branches), e.g. a lagging mirror: mirror_hub.lag(repo, commit). Reset like `hub`
                   around every test that uses it.
  mount            (function) factory: mount(extra_options=(), env=None, cache_dir=None, mountpoint=None,
                   timeout=20, binary=None, endpoint=None) -> Mount. Starts `$HFM_BINARY MOUNTPOINT -f -o
                   endpoint=<endpoint or hub url>,cache=<cache dir>[,extra options]` and returns once the
                   mount is in /proc/self/mountinfo. `endpoint` may be a mirror list "URL1;URL2" (the whole
                   -o value is one argv element, so ';' needs no quoting). Always unmounted at teardown, even
                   when the test fails; the daemon's stderr tail is attached to the failure report.
  wan_hub          (session) factory: wan_hub(rtt_ms) -> WanHub, a test hub of its own (one per RTT, started on
                   first use, reset on every call) whose hub and CDN ports are reached only through
                   tests/netem/latency_proxy: every byte waits RTT/2 each way, a fresh connection one RTT more.
                   Mount it with mount(endpoint=w.url). WanHub: .url (the hub through its proxy), .hub (the
                   test hub itself, hubctl.HubProcess: stats, faults, ...; its .url bypasses the delay),
                   .hub_proxy, .cdn_proxy (netem.LatencyProxy), .rtt_ms. Signed LFS URLs point at the CDN's
                   proxy. Not delayed: the `next` links of listings over 1000 entries (the hub writes its own
                   address into them).
  drop_page_cache  (function) callable: drop_page_cache(path=None) -> bool. With a path, drops the page
                   cache of that file (or every file under that directory) with posix_fadvise(DONTNEED);
                   without, writes 3 to /proc/sys/vm/drop_caches. False when not permitted.

Mount: .path (mountpoint, pathlib.Path), .cache_dir, .options, .endpoint, .env, .proc, .stderr_path,
       .is_mounted(), .unmount() -> daemon exit status, .remount(extra_options=None, env=None, endpoint=None)
       (same cache dir and mountpoint), .stderr_tail(n), .stderr_text() (everything since the last start),
       .vm_hwm_kib() (the daemon's peak resident memory).

Reports: a test may append (title, text) to `config._hfm_reports` (see add_report); they are printed in the
terminal summary, so they show without -s.

Environment: HFM_BINARY (default <repo>/build/mount.hfmirror); HFM_HUB_FIXTURES (fixture dir, default
tests/hub/fixtures_out); HFM_HUB_LARGE_MB (size of hfm-test/large-model's large.bin, default 64);
HFM_HUB_VERBOSE=1 logs every hub request to the hub's stderr file. The daemon never sees the outer
HF_TOKEN, HUGGING_FACE_HUB_TOKEN, HF_TOKEN_PATH, HF_ENDPOINT, HF_HUB_OFFLINE or HFMIRROR_CACHE unless passed
in `env`; HF_HOME points to an empty per-test directory unless passed.

Test files here named hubtest_*.py are collected too.
"""

import fnmatch
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "hub"))
import hubctl  # noqa: E402
sys.path.insert(0, str(REPO_ROOT / "tests" / "netem"))
import netem  # noqa: E402

SCRUBBED_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_OFFLINE",
                "HFMIRROR_CACHE", "HF_HOME")
UNMOUNT_WAIT_S = 15
LAZY_UNMOUNT_WAIT_S = 3


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".py" and file_path.name.startswith("hubtest_"):
        if parent.session.isinitpath(file_path) or any(
                fnmatch.fnmatch(file_path.name, p) for p in parent.config.getini("python_files")):
            return None  # pytest collects it itself: named on the command line, or matched by python_files
        return pytest.Module.from_parent(parent, path=file_path)
    return None


# ------------------------------------------------------------------------------------------------- hub

@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    fixtures_dir = os.environ.get("HFM_HUB_FIXTURES") or hubctl.DEFAULT_FIXTURES
    stderr = tmp_path_factory.mktemp("hub") / "testhub.stderr"
    h = hubctl.start_hub(fixtures_dir, verbose=os.environ.get("HFM_HUB_VERBOSE") == "1", stderr_path=str(stderr))
    yield h
    h.stop()


@pytest.fixture(scope="session")
def mirror_hub(tmp_path_factory):
    fixtures_dir = os.environ.get("HFM_HUB_FIXTURES") or hubctl.DEFAULT_FIXTURES
    stderr = tmp_path_factory.mktemp("mirror_hub") / "testhub.stderr"
    h = hubctl.start_hub(fixtures_dir, verbose=os.environ.get("HFM_HUB_VERBOSE") == "1", stderr_path=str(stderr))
    yield h
    h.stop()


class WanHub:
    """A test hub behind two latency proxies: one in front of its hub port, one in front of its CDN port."""

    def __init__(self, fixtures_dir, rtt_ms, work_dir):
        self.rtt_ms = rtt_ms
        self.hub = self.hub_proxy = self.cdn_proxy = None
        try:
            # The CDN's port is chosen here, so that its proxy can be up before the hub, which must be told
            # the proxy's address to sign URLs with (--cdn-url; the signature does not cover the host).
            with socket.socket() as s:
                s.bind(("127.0.0.2", 0))
                cdn_port = s.getsockname()[1]
            self.cdn_proxy = netem.LatencyProxy(("127.0.0.2", cdn_port), rtt_ms, listen_host="127.0.0.2",
                                                log_path=work_dir / "cdn_proxy.log")
            self.hub = hubctl.start_hub(fixtures_dir, extra_args=["--cdn-port", str(cdn_port)],
                                        cdn_url=self.cdn_proxy.url, stderr_path=str(work_dir / "testhub.stderr"))
            port = int(self.hub.url.rsplit(":", 1)[1])
            self.hub_proxy = netem.LatencyProxy(("127.0.0.1", port), rtt_ms, log_path=work_dir / "hub_proxy.log")
        except BaseException:
            self.stop()
            raise
        self.url = self.hub_proxy.url

    def stop(self):
        for part in (self.hub_proxy, self.hub, self.cdn_proxy):
            if part is not None:
                part.stop()


@pytest.fixture(scope="session")
def wan_hub(tmp_path_factory):
    fixtures_dir = os.environ.get("HFM_HUB_FIXTURES") or hubctl.DEFAULT_FIXTURES
    hubs = {}

    def factory(rtt_ms):
        if rtt_ms not in hubs:
            hubs[rtt_ms] = WanHub(fixtures_dir, rtt_ms, tmp_path_factory.mktemp("wan_hub_%gms" % rtt_ms))
        w = hubs[rtt_ms]
        w.hub.reset()
        return w
    yield factory
    for w in hubs.values():
        w.stop()


@pytest.fixture(autouse=True)
def _hub_isolation(request):
    hubs = [request.getfixturevalue(name) for name in ("hub", "mirror_hub") if name in request.fixturenames]
    for h in hubs:
        h.reset()
    yield
    for h in hubs:
        if h.alive():
            h.clear_faults()
            h.reset_refs()


def add_report(config, title, text):
    """Print `text` under `title` in the terminal summary of this run."""
    if not hasattr(config, "_hfm_reports"):
        config._hfm_reports = []
    config._hfm_reports.append((title, text))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for title, text in getattr(config, "_hfm_reports", []):
        terminalreporter.write_sep("=", title)
        terminalreporter.write_line(text)


# ----------------------------------------------------------------------------------------------- mounts

class MountError(Exception):
    pass


def _unescape_mountinfo(field):
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text):
    """[(mountpoint, fstype)] from /proc/self/mountinfo text."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split(" ")
        if not sep or len(fields) < 5:
            continue
        mounts.append((_unescape_mountinfo(fields[4]), right.split(" ")[0]))
    return mounts


def mounted_fstype(mountpoint):
    """fstype of the topmost mount at `mountpoint`, or None."""
    with open("/proc/self/mountinfo") as f:
        found = [fs for mp, fs in parse_mountinfo(f.read()) if mp == str(mountpoint)]
    return found[-1] if found else None


def _is_fuse(fstype):
    return fstype is not None and (fstype == "fuse" or fstype.startswith("fuse."))


class Mount:
    def __init__(self, hub, binary, mountpoint, cache_dir, extra_options, env, stderr_path, hf_home, timeout,
                 endpoint=None):
        self.hub, self.binary, self.endpoint = hub, binary, endpoint
        self.path, self.cache_dir = Path(mountpoint), Path(cache_dir)
        self.extra_options, self.env_overrides = list(extra_options), dict(env or {})
        self.stderr_path, self.hf_home, self.timeout = Path(stderr_path), Path(hf_home), timeout
        self.proc = None
        self.starts = 0
        self.stderr_offset = 0

    @property
    def options(self):
        return ",".join(["endpoint=" + (self.endpoint or self.hub.url), "cache=%s" % self.cache_dir] +
                        self.extra_options)

    @property
    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        env["HF_HOME"] = str(self.hf_home)
        for k, v in self.env_overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        return env

    def command(self):
        return [str(self.binary), str(self.path), "-f", "-o", self.options]

    def start(self):
        for d in (self.path, self.cache_dir, self.hf_home):
            d.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with open(self.stderr_path, "ab") as err:
            self.stderr_offset = err.tell()
            err.write(("\n==== start %d: %s\n" % (self.starts, " ".join(self.command()))).encode())
            err.flush()
            self.proc = subprocess.Popen(self.command(), env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        deadline = time.monotonic() + self.timeout
        while True:
            if _is_fuse(mounted_fstype(self.path)):
                return self
            if self.proc.poll() is not None:
                raise MountError("%s exited with %d before mounting %s; stderr:\n%s" % (
                    self.binary, self.proc.returncode, self.path, self.stderr_tail()))
            if time.monotonic() > deadline:
                self._stop(0)
                raise MountError("%s did not mount %s within %ss; stderr:\n%s" % (
                    self.binary, self.path, self.timeout, self.stderr_tail()))
            time.sleep(0.02)  # polling the mount table, bounded by the deadline above

    def is_mounted(self):
        return _is_fuse(mounted_fstype(self.path))

    def unmount(self):
        """Unmount (fusermount3 -u, then lazy -uz) and make sure the daemon is gone. -> its exit status."""
        if self.hub.alive():
            self.hub.clear_faults()  # a stalled fetch must not hold the unmount up
        fusermount = shutil.which("fusermount3") or shutil.which("fusermount") or "fusermount3"
        grace = 0
        if self.is_mounted():
            grace = UNMOUNT_WAIT_S
            r = subprocess.run([fusermount, "-u", str(self.path)], capture_output=True, timeout=30)
            if r.returncode != 0 and self.is_mounted():
                self._note("fusermount -u failed (%s); lazy unmount" % r.stderr.decode(errors="replace").strip())
                subprocess.run([fusermount, "-uz", str(self.path)], capture_output=True, timeout=30)
                grace = LAZY_UNMOUNT_WAIT_S  # open files keep a lazily unmounted daemon busy
        return self._stop(grace)

    def _stop(self, grace):
        """Wait `grace` seconds for the daemon to exit, then SIGTERM, then SIGKILL. -> exit status."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self._note("daemon still running %ss after unmount: SIGTERM" % grace)
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self._note("daemon ignored SIGTERM: SIGKILL")
            self.proc.kill()
            return self.proc.wait(5)

    def remount(self, extra_options=None, env=None, endpoint=None):
        """Unmount and mount again on the same mountpoint and cache dir (options/env/endpoint replaced if
        given)."""
        self.unmount()
        if extra_options is not None:
            self.extra_options = list(extra_options)
        if env is not None:
            self.env_overrides = dict(env)
        if endpoint is not None:
            self.endpoint = endpoint
        return self.start()

    def stderr_text(self):
        """The daemon's stderr since its last start."""
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(self.stderr_offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def vm_hwm_kib(self):
        """Peak resident set of the running daemon (VmHWM), KiB; None once it has exited."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, AttributeError):
            return None
        return None

    def stderr_tail(self, n=8000):
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - n))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _note(self, text):
        with open(self.stderr_path, "ab") as err:
            err.write(("==== conftest: %s\n" % text).encode())


def default_binary():
    return os.environ.get("HFM_BINARY") or str(REPO_ROOT / "build" / "mount.hfmirror")


@pytest.fixture
def mount(hub, tmp_path, request):
    mounts = []
    request.node._hfm_mounts = mounts

    def factory(extra_options=(), env=None, cache_dir=None, mountpoint=None, timeout=20, binary=None,
                endpoint=None):
        binary = binary or default_binary()
        if not os.access(binary, os.X_OK):
            pytest.fail("hfmirror binary %s is missing or not executable (build it, or set HFM_BINARY)" % binary)
        if not os.path.exists("/dev/fuse"):
            pytest.fail("/dev/fuse is missing: these tests mount through the kernel")
        n = len(mounts)
        m = Mount(hub, binary, mountpoint or tmp_path / ("mnt%d" % n), cache_dir or tmp_path / ("cache%d" % n),
                  extra_options, env, tmp_path / ("hfmirror%d.stderr" % n), tmp_path / ("hf_home%d" % n), timeout,
                  endpoint)
        mounts.append(m)
        return m.start()

    factory.Error = MountError
    yield factory
    problems = []
    for m in reversed(mounts):
        try:
            m.unmount()
        except Exception as e:  # keep unmounting the others
            problems.append("%s: %r" % (m.path, e))
        if m.is_mounted():
            problems.append("%s is still mounted" % m.path)
    if problems:
        pytest.fail("teardown could not unmount cleanly: " + "; ".join(problems))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for m in getattr(item, "_hfm_mounts", []):
            report.sections.append(("hfmirror stderr (%s)" % m.path, m.stderr_tail()))


# ---------------------------------------------------------------------------------------- page cache

def _drop_page_cache(path=None):
    if path is not None:
        p = Path(path)
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
        try:
            for f in files:
                fd = os.open(f, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
            return True
        except OSError:
            return False
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


@pytest.fixture
def drop_page_cache():
    return _drop_page_cache
