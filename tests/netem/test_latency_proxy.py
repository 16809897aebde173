"""Tests of tests/netem/latency_proxy: the delays it adds, that bytes and closes pass unchanged, that its memory
stays bounded when a reader stalls, and a clean exit on SIGTERM.

Delays are asserted from below only (the proxy may be late on a busy machine, never early); where an upper
bound matters (a kept-alive request must not pay the handshake) it is relative to a fresh connection
measured the same way, with half an RTT of slack.
"""

import hashlib
import os
import socket
import threading
import time

import pytest

import netem

MIB = 1 << 20


class Server:
    """A TCP server on 127.0.0.1 that runs `handler(conn)` in a thread per connection."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.addr = self.sock.getsockname()
        self.handler = handler
        self.threads = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn):
        with conn:
            try:
                self.handler(conn)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def pong(conn):
    """Answers every line with "pong\\n" until EOF: a request/response protocol on one connection."""
    f = conn.makefile("rb")
    for _ in f:
        conn.sendall(b"pong\n")


def echo(conn):
    """Sends back everything, then half-closes when the client has."""
    while True:
        data = conn.recv(1 << 18)
        if not data:
            break
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)


@pytest.fixture
def servers():
    made = []

    def start(handler):
        made.append(Server(handler))
        return made[-1]
    yield start
    for s in made:
        s.close()


@pytest.fixture
def proxies():
    made = []

    def start(upstream, rtt_ms, **kw):
        made.append(netem.LatencyProxy(upstream, rtt_ms, **kw))
        return made[-1]
    yield start
    for p in made:
        p.stop()


def request(f, sock):
    sock.sendall(b"ping\n")
    assert f.readline() == b"pong\n"


def test_fresh_connection_costs_two_rtts_and_a_kept_alive_one_rtt(servers, proxies):
    rtt = 0.2
    proxy = proxies(servers(pong).addr, rtt * 1000)
    start = time.perf_counter()
    sock = socket.create_connection((proxy.host, proxy.port))
    with sock, sock.makefile("rb") as f:
        request(f, sock)
        fresh = time.perf_counter() - start
        start = time.perf_counter()
        request(f, sock)
        kept = time.perf_counter() - start
    assert fresh >= 2 * rtt, "first answer on a fresh connection after %.3fs, RTT %.3fs" % (fresh, rtt)
    assert kept >= rtt, "a kept-alive request answered after %.3fs, RTT %.3fs" % (kept, rtt)
    assert kept < fresh - rtt / 2, "a kept-alive request (%.3fs) paid a handshake too (fresh: %.3fs)" % (
        kept, fresh)


def test_bytes_and_half_close_pass_unchanged_both_ways(servers, proxies):
    proxy = proxies(servers(echo).addr, 10)
    payload = os.urandom(48 * MIB)
    got = hashlib.sha256()
    received = [0]
    sock = socket.create_connection((proxy.host, proxy.port))

    def reader():
        while True:
            data = sock.recv(1 << 20)
            if not data:  # the echo server's half-close, passed on after our own
                return
            got.update(data)
            received[0] += len(data)
    t = threading.Thread(target=reader)
    t.start()
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    t.join(120)
    sock.close()
    assert not t.is_alive(), "no EOF came back through the proxy"
    assert received[0] == len(payload)
    assert got.hexdigest() == hashlib.sha256(payload).hexdigest()


def test_a_stalled_reader_bounds_the_proxys_memory(servers, proxies):
    """The client reads nothing: the proxy queues at most its window, then stops reading the server."""
    window_kb = 1024
    sent = [0]
    blocked = threading.Event()

    def flood(conn):
        conn.settimeout(0.5)  # a send that makes no progress for 0.5 s: the proxy has stopped reading
        chunk = b"x" * (1 << 16)
        try:
            while sent[0] < 512 * MIB:
                sent[0] += conn.send(chunk)
        except socket.timeout:
            blocked.set()
    proxy = proxies(servers(flood).addr, 20, window_kb=window_kb)
    sock = socket.create_connection((proxy.host, proxy.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    with sock:
        sock.sendall(b"go\n")  # nothing is read from here on
        assert blocked.wait(60), "the server sent %d bytes and never blocked" % sent[0]
        rss_kib = next(int(line.split()[1]) for line in open("/proc/%d/status" % proxy.pid)
                       if line.startswith("VmRSS:"))
    # the window plus one read chunk and the program itself; the kernel's socket buffers hold the rest
    assert rss_kib < window_kb + 256 + 4096, "proxy RSS %d KiB with a %d KiB window" % (rss_kib, window_kb)
    assert sent[0] < 256 * MIB, "the server sent %d MiB into a stalled reader" % (sent[0] // MIB)


def test_sigterm_ends_it_cleanly_with_connections_open(servers, proxies):
    proxy = proxies(servers(pong).addr, 10)
    sock = socket.create_connection((proxy.host, proxy.port))
    with sock, sock.makefile("rb") as f:
        request(f, sock)
        assert proxy.stop() == 0
        assert sock.recv(1) == b""  # its close reaches the client
