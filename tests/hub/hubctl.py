"""Start the test hub (testhub.py) as a subprocess and drive it: plain HTTP requests and the /_hub/ control
API. Used by tests/hub/test_*.py and tests/integration/conftest.py. Standard library only.

    hub = start_hub()                       # builds fixtures (cached), waits for the ready line
    r = hub.request("GET", "/api/models/hfm-test/tiny-model")
    r.status, r.headers["X-Repo-Commit"], r.json()
    hub.stats()["requests"]["hub"]["resolve"]
    hub.stop()
"""

import hashlib
import http.client
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.join(HERE, "fixtures_out")
sys.path.insert(0, HERE)
import fixtures  # noqa: E402


def token_fingerprint(token):
    """What the hub log shows of a bearer token (authorization_value_sha256_prefix)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Reply %d %r>" % (self.status, self.body[:200])


def http_request(method, url, headers=None, body=None, timeout=60):
    """One request on a fresh connection; redirects are not followed. `body` may be a dict (sent as JSON)."""
    u = urllib.parse.urlsplit(url)
    headers = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, resp.msg, data)
    finally:
        conn.close()


class HubProcess:
    """A running test hub. url/cdn_url are bases without a trailing slash."""

    def __init__(self, proc, info, stderr_path):
        self.proc, self.info, self.stderr_path = proc, info, stderr_path
        self.url, self.cdn_url, self.control_url = info["hub"], info["cdn"], info["control"]
        self.fixtures_dir = info["fixtures"]
        self.lfs_base = info.get("lfs_base", self.cdn_url)  # where signed LFS URLs point
        self._manifest = None

    @property
    def manifest(self):
        """fixtures.Manifest of the served fixtures (as built: move_branch does not show here)."""
        if self._manifest is None:
            self._manifest = fixtures.load(self.fixtures_dir)
        return self._manifest

    def request(self, method, path, headers=None, body=None, host="hub", timeout=60):
        """`path` is a raw (already percent-encoded) path on the hub or cdn host, or an absolute URL."""
        url = path if "://" in path else (self.url if host == "hub" else self.cdn_url) + path
        return http_request(method, url, headers, body, timeout)

    def _control(self, method, op, body=None):
        r = http_request(method, "%s/%s" % (self.control_url, op), body=body)
        if r.status != 200:
            raise RuntimeError("control %s %s -> %d %s" % (method, op, r.status, r.body[:500]))
        return r.json()

    def stats(self):
        return self._control("GET", "stats")

    def count(self, route, host="hub"):
        """Requests of one route class (api_info, api_revision, tree, paths_info, refs, resolve, raw, cdn,
        other) since the last reset."""
        return self.stats()["requests"].get(host, {}).get(route, 0)

    def log(self):
        return self._control("GET", "log")

    def reset_stats(self):
        self._control("POST", "reset_stats", {})

    def expire_signed_urls(self, ttl=None):
        """Invalidate every signed CDN URL issued so far; `ttl` sets the lifetime of later ones."""
        return self._control("POST", "expire_signed_urls", {} if ttl is None else {"ttl": ttl})

    def move_branch(self, repo, branch, commit, kind="model", create=False):
        """Point a branch at another commit (sha or revision) of the repo. -> {"branch", "old", "new"}."""
        return self._control("POST", "move_branch", {"repo": repo, "kind": kind, "branch": branch,
                                                      "commit": commit, "create": create})

    def reset_refs(self):
        """Every branch back to the fixtures; ends lag()."""
        self._control("POST", "reset_refs", {})

    def lag(self, repo, commit, kind="model"):
        """Serve `repo` like a mirror that last synced at `commit` (sha or revision): newer commits answer
        404 RevisionNotFound and branches that pointed at them point at `commit`. reset_refs() ends it.
        -> {"repo", "at", "hidden": [shas]}."""
        return self._control("POST", "lag", {"repo": repo, "kind": kind, "commit": commit})

    def set_fault(self, rule=None, **kwargs):
        """Add one fault rule (see testhub.py's docstring), e.g.
        set_fault(host="cdn", route="cdn", action="reset", after_bytes=4096). -> rule id."""
        return self._control("POST", "faults", dict(rule or {}, **kwargs))["ids"][0]

    def set_faults(self, rules):
        """Add several rules at once (matched in this order). -> [rule ids]."""
        return self._control("POST", "faults", {"faults": list(rules)})["ids"]

    def faults(self):
        return self._control("GET", "faults")

    # Real-Hub behaviours (hub_realism.py), all off until switched on (or start_hub(behaviour=...)); reset()
    # comes back to how the hub started.

    def behaviour(self, **switches):
        """Set switches of POST /_hub/behaviour (none: just read them). -> every switch's current value."""
        return self._control("POST", "behaviour", switches) if switches else self._control("GET", "behaviour")

    def range_bound_signatures(self, on=True):
        """A GET /resolve with Range gets a CDN URL good for that range only (403 for any other, or none)."""
        return self.behaviour(range_bound_signatures=on)

    def resolver_quota(self, limit, window=300, retry_after=False):
        """Every /resolve and /api/resolve-cache takes one from `limit` per fixed `window` seconds (a fresh
        window from now); past it, 429. limit=None lifts the quota."""
        quota = None if limit is None else {"limit": limit, "window": window, "retry_after": retry_after}
        return self.behaviour(resolver_quota=quota)

    def resolve_cache(self, on=True):
        """A regular file's /resolve answers 307 to a relative /api/resolve-cache/... URL that serves it."""
        return self.behaviour(resolve_cache=on)

    def xet(self, repos=True, unranged_limit=None):
        """LFS files of `repos` (True: all, or a list of repo ids; False: none) are Xet-backed: /resolve sends
        them to the CDN's bridge, which refuses an unranged GET of a file over `unranged_limit` bytes."""
        switches = {"xet": repos if isinstance(repos, bool) else list(repos)}
        if unranged_limit is not None:
            switches["xet_unranged_limit"] = unranged_limit
        return self.behaviour(**switches)

    def redirect_to_upstream(self, base, status=308, path_contains=None, times=10000):
        """This hub answers /resolve (those whose path holds `path_contains`) with `status` to the same path and
        query on `base`, like a mirror sending a file it lacks to huggingface.co. -> fault rule id."""
        rule = {"route": "resolve", "action": "redirect_upstream", "base": base, "status": status, "times": times}
        if path_contains:
            rule["path_contains"] = path_contains
        return self.set_fault(rule)

    def resolve_log(self, file=None, repo=None):
        """Log entries of /resolve requests (each with method, has_range, head, quota_refused, repo, file),
        optionally of one file (its path in the repo) or repo: count them to get /resolve calls per file."""
        return [e for e in self.log() if e["route"] == "resolve" and (file is None or e["file"] == file)
                and (repo is None or e["repo"] == repo)]

    def clear_faults(self):
        self._control("POST", "clear_faults", {})

    def reset(self):
        """Stats, log, faults and branches back to the start."""
        self._control("POST", "reset", {})

    def alive(self):
        return self.proc.poll() is None

    def stderr_tail(self, n=4000):
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - n))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # --watch-stdin: the hub exits on EOF
            except OSError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        for f in (self.proc.stdout, self.proc.stdin):
            if f and not f.closed:
                f.close()


def start_hub(fixtures_dir=None, large_mb=None, verbose=False, url_ttl=None, extra_args=(), timeout=300,
              stderr_path=None, cdn_url=None, bench=None, behaviour=None):
    """Start testhub.py on free ports and wait for its ready line (the fixture build may take a while on
    the first start). The hub exits when this process dies (its stdin closes). `cdn_url`: signed LFS URLs
    point at that server instead (testhub.py --cdn-url). `bench`: True or a dict with shard_mb, st_mb,
    files: add the benchmark's repos (--bench-fixtures). `behaviour`: switches of hub_realism.py set from the
    start (--behaviour); /_hub/reset comes back to them."""
    fixtures_dir = os.path.abspath(fixtures_dir or DEFAULT_FIXTURES)
    os.makedirs(fixtures_dir, exist_ok=True)
    cmd = [sys.executable, os.path.join(HERE, "testhub.py"), "--fixtures", fixtures_dir, "--watch-stdin"]
    if large_mb is not None:
        cmd += ["--large-mb", str(large_mb)]
    if url_ttl is not None:
        cmd += ["--url-ttl", str(url_ttl)]
    if cdn_url is not None:
        cmd += ["--cdn-url", cdn_url]
    if bench:
        cmd.append("--bench-fixtures")
        for key, value in (bench.items() if isinstance(bench, dict) else ()):
            if value is not None:
                cmd += ["--bench-%s" % key.replace("_", "-"), str(value)]
    if behaviour:
        cmd += ["--behaviour", json.dumps(behaviour)]
    if verbose:
        cmd.append("--verbose")
    cmd += list(extra_args)
    if stderr_path is None:
        fd, stderr_path = tempfile.mkstemp(prefix="testhub-", suffix=".stderr")
        os.close(fd)
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            proc.kill()
            proc.wait()
            with open(stderr_path, "rb") as f:
                err_text = f.read().decode("utf-8", "replace")[-4000:]
            raise RuntimeError("test hub did not start (rc=%s): %s" % (proc.returncode, err_text))
        if select.select([proc.stdout], [], [], min(left, 0.5))[0]:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            line += chunk
    return HubProcess(proc, json.loads(line.decode()), stderr_path)
