"""Real-Hub behaviours the test hub can switch on (POST /_hub/behaviour), all off by default so that older
tests see the plain protocol. Each copies a fact of the research notes in ../shared/HUB_PROTOCOL.md (beside
the repository; summed up in fetch/PROTOCOL.md):

  range_bound_signatures  a GET /resolve that carries Range gets a CDN URL signed for that range only
                          (S3 style: X-Amz-SignedHeaders=host;range); the CDN answers 403 to any other range
                          or none. /resolve without Range, and HEAD, sign a URL good for any range.
  resolver_quota          {"limit": q, "window": w, "retry_after": bool}: every /resolve and /api/resolve-cache
                          request (GET or HEAD) takes one from a fixed window of w seconds; answers carry
                          RateLimit-Policy and RateLimit; past q, 429 with the same headers. CDN GETs never count.
  resolve_cache           a regular file's /resolve answers 307 with a relative Location
                          /api/resolve-cache/{kind}s/{ns}/{name}/{commit}/{path}?{orig path}=&etag=..., which
                          serves the bytes (Range honoured) on the hub host.
  xet                     true, or a list of repo ids: their LFS files are Xet-backed. /resolve answers 302 to the
                          CDN's bridge /xet-bridge-us/{repo _id}/{xet hash}?X-Amz-... with X-Xet-Hash and a Link
                          (rel xet-auth, xet-reconstruction-info); listings gain xetHash. The bridge serves
                          ranges; an unranged GET of a file over xet_unranged_limit bytes answers 400.
  xet_unranged_limit      bytes (real Hub: about 50 GB; tests set it small).

The fault action "redirect_upstream" (a mirror sending a file it lacks to huggingface.co) is built here too.
State is shared by handler threads and guarded by Behaviour.lock. Standard library only.
"""

import hashlib
import json
import math
import threading
import time
from urllib.parse import parse_qsl, quote

from hub_http import HubError, Response, decode_path, header_value, ranged_file, s3_error

# Flip to True once clients never send Range to /resolve (the real Hub may bind either way).
RANGE_BOUND_SIGNATURES_DEFAULT = True
REAL_XET_UNRANGED_LIMIT = 50 * 10 ** 9
DEFAULTS = {"range_bound_signatures": RANGE_BOUND_SIGNATURES_DEFAULT, "resolver_quota": None,
            "resolve_cache": False, "xet": False, "xet_unranged_limit": REAL_XET_UNRANGED_LIMIT}
RESOLVER_ROUTES = ("resolve", "resolve_cache")
REDIRECT_STATUSES = (301, 302, 307, 308)
XET_CAS = "http://127.0.0.3:1"  # the reconstruction host is named, never served: clients here use the bridge
KIND_SEGMENTS = {"models": "model", "datasets": "dataset", "spaces": "space"}


def xet_hash(sha256):
    """A stand-in for the Merkle hash of a Xet file: 64 hex, stable, and not the sha256 (clients mix them up)."""
    return hashlib.sha256(("xet:" + sha256).encode()).hexdigest()


def repo_object_id(kind, repo_id):
    """The 24-hex repo id the bridge URL carries (the same as the repo info's _id)."""
    return hashlib.sha1(("%s/%s" % (kind, repo_id)).encode()).hexdigest()[:24]


class Quota:
    """One answer of the quota: whether it was allowed, what is left, seconds until the window resets."""

    def __init__(self, allowed, left, reset, limit, window, retry_after):
        self.allowed, self.left, self.reset = allowed, left, reset
        self.limit, self.window, self.retry_after = limit, window, retry_after

    def headers(self):
        headers = [("RateLimit-Policy", '"fixed window";"resolvers";q=%d;w=%d' % (self.limit, self.window)),
                   ("RateLimit", '"resolvers";r=%d;t=%d' % (self.left, self.reset))]
        if not self.allowed and self.retry_after:
            headers.append(("Retry-After", str(self.reset)))
        return headers


class Behaviour:
    """The switches and the quota's window."""

    def __init__(self, lfs_objects):
        self.lock = threading.Lock()
        self.xet_objects = {xet_hash(sha): sha for sha in lfs_objects}  # bridge hash -> listed sha256
        self.initial = dict(DEFAULTS)
        self.reset()

    def start_with(self, body):
        """Switches set from the start (testhub.py --behaviour): reset() comes back to them, not to DEFAULTS."""
        self.update(body)
        with self.lock:
            self.initial = dict(self.values)

    def reset(self):
        with self.lock:
            self.values = json.loads(json.dumps(self.initial))
            self.window_start, self.used = time.monotonic(), 0

    def update(self, body):
        if not isinstance(body, dict):
            raise ValueError("behaviour takes a JSON object")
        checked = {k: _check(k, v) for k, v in body.items()}
        with self.lock:
            self.values.update(checked)
            if "resolver_quota" in checked:  # a new quota starts a fresh window
                self.window_start, self.used = time.monotonic(), 0

    def snapshot(self):
        with self.lock:
            out = json.loads(json.dumps(self.values))
            quota = self.values["resolver_quota"]
            if quota:
                out["resolver_quota"]["used"] = self.used
        return out

    def get(self, key):
        with self.lock:
            return self.values[key]

    def is_xet(self, repo_id):
        xet = self.get("xet")
        return xet is True or (isinstance(xet, list) and repo_id in xet)

    def take_resolver(self):
        """-> Quota, or None when no quota is set. Fixed windows of `window` seconds from when it was set."""
        with self.lock:
            quota = self.values["resolver_quota"]
            if not quota:
                return None
            limit, window = quota["limit"], quota["window"]
            now = time.monotonic()
            if now >= self.window_start + window:
                self.window_start += math.floor((now - self.window_start) / window) * window
                self.used = 0
            allowed = self.used < limit
            if allowed:
                self.used += 1
            reset = max(0, math.ceil(self.window_start + window - now))
            return Quota(allowed, limit - self.used, reset, limit, window, quota["retry_after"])


def _check(key, value):
    if key == "range_bound_signatures" or key == "resolve_cache":
        if not isinstance(value, bool):
            raise ValueError("%s is true or false" % key)
        return value
    if key == "resolver_quota":
        if value is None:
            return None
        limit, window = int(value["limit"]), int(value["window"])
        if limit < 0 or window < 1:
            raise ValueError("resolver_quota needs limit >= 0 and window >= 1 second")
        return {"limit": limit, "window": window, "retry_after": bool(value.get("retry_after", False))}
    if key == "xet":
        if isinstance(value, bool) or (isinstance(value, list) and all(isinstance(r, str) for r in value)):
            return value
        raise ValueError("xet is true, false or a list of repo ids")
    if key == "xet_unranged_limit":
        if int(value) < 0:
            raise ValueError("xet_unranged_limit must be >= 0")
        return int(value)
    raise ValueError("unknown behaviour %r (one of %s)" % (key, ", ".join(DEFAULTS)))


def control(hub, method, body):
    """GET /_hub/behaviour, POST /_hub/behaviour {switches}, POST /_hub/behaviour {"reset": true}."""
    if method == "POST":
        body = dict(body)
        if body.pop("reset", False):
            hub.behaviour.reset()
        hub.behaviour.update(body)
    return hub.behaviour.snapshot()


# ------------------------------------------------------------------------------------------ routing

def classify(host, method, segs):
    """The routes this module adds -> (route, params), or None."""
    if method not in ("GET", "HEAD"):
        return None
    if host == "cdn" and len(segs) == 3 and segs[0] == "xet-bridge-us":
        return "cdn", {"xet": segs[2], "repo_object": segs[1]}
    if host == "hub" and len(segs) >= 7 and segs[:2] == ["api", "resolve-cache"] and segs[2] in KIND_SEGMENTS:
        return "resolve_cache", {"kind": KIND_SEGMENTS[segs[2]], "ns": decode_path(segs[3]),
                                 "name": decode_path(segs[4]), "rev": decode_path(segs[5]),
                                 "path": decode_path("/".join(segs[6:]))}
    return None


def log_fields(method, headers, params):
    """What each log entry adds: enough to count /resolve calls per file, with and without Range."""
    repo = "%s/%s" % (params["ns"], params["name"]) if "ns" in params and "name" in params else None
    return {"has_range": headers.get("Range") is not None, "head": method == "HEAD", "quota_refused": False,
            "repo": repo, "file": params.get("path") if repo else None}


def bound_range(handler):
    """The Range a signed URL is bound to: that of a GET /resolve when range_bound_signatures is on."""
    if handler.command == "GET" and handler.hub.behaviour.get("range_bound_signatures"):
        return handler.headers.get("Range")
    return None


def answer(handler, route, method, params, query):
    """The real answer to a request (before fault transforms), with this module's behaviours applied."""
    behaviour = handler.hub.behaviour
    quota = behaviour.take_resolver() if route in RESOLVER_ROUTES else None
    if quota is not None and not quota.allowed:
        handler.entry["quota_refused"] = True
        return _with(_too_many(quota).response(), quota.headers())
    try:
        if route == "resolve_cache":
            resp = _resolve_cache(handler, params)
        elif route == "cdn" and "xet" in params:
            resp = _xet_bridge(handler, params, query)
        else:
            resp = handler._route(route, method, params, query)
    except HubError as e:
        resp = e.response()
    if route == "resolve" and behaviour.is_xet("%s/%s" % (params["ns"], params["name"])):
        resp = _as_xet(handler, resp, params)
    elif route == "resolve" and behaviour.get("resolve_cache"):
        resp = _as_resolve_cache(handler, resp, params)
    if route in ("tree", "paths_info") and resp.status == 200 and behaviour.is_xet(
            "%s/%s" % (params["ns"], params["name"])):
        entries = [dict(e, xetHash=xet_hash(e["lfs"]["oid"])) if "lfs" in e else e for e in json.loads(resp.body)]
        resp = Response(200, resp.headers, json.dumps(entries).encode())
    return _with(resp, quota.headers()) if quota is not None else resp


def _with(resp, headers):
    resp.headers.extend(headers)
    return resp


def _too_many(quota):
    period = "5 minutes" if quota.window == 300 else "%d seconds" % quota.window
    return HubError(429, "We had to rate limit you, you hit the quota of %d resolvers requests per %s period. "
                         "Upgrade to a PRO user or Team/Enterprise organization account (https://hf.co/pricing) "
                         "to get higher limits. See https://huggingface.co/docs/hub/rate-limits"
                    % (quota.limit, period))


# --------------------------------------------------------------------------------- resolve-cache

def _as_resolve_cache(handler, resp, params):
    """A regular file's /resolve answer turned into the Hub's 307 to its resolve-cache URL."""
    commit = header_value(resp.headers, "X-Repo-Commit")
    etag = header_value(resp.headers, "ETag")
    if resp.status not in (200, 206, 416) or header_value(resp.headers, "X-Linked-Etag") or not (commit and etag):
        return resp
    original = handler.path.partition("?")[0]
    location = "/api/resolve-cache/%ss/%s/%s/%s/%s?%s=&etag=%s" % (
        params["kind"], quote(params["ns"], safe=""), quote(params["name"], safe=""), commit,
        quote(params["path"], safe="/"), quote(decode_path(original), safe=""), quote(etag, safe=""))
    return Response(307, [("Location", location), ("X-Repo-Commit", commit),
                          ("Content-Type", "text/plain; charset=utf-8")],
                    ("Temporary Redirect. Redirecting to %s" % location).encode())


def _resolve_cache(handler, params):
    """GET|HEAD /api/resolve-cache/{kind}s/{ns}/{name}/{commit}/{path}: the file's bytes at that commit. Like the
    Hub, it takes a full commit only (a branch name is a 400)."""
    token = handler._token()
    repo = handler._repo(params, token)
    rev = params["rev"]
    if len(rev) != 40 or any(c not in "0123456789abcdef" for c in rev):
        raise HubError(400, "Invalid commit id: %s" % rev)
    commit = handler._commit(repo, rev)
    headers = [("X-Repo-Commit", commit)]
    handler._check_gated(repo, token, headers)
    f = repo.commits[commit]["files"].get(params["path"])
    if f is None:
        raise HubError(404, "Entry not found", "EntryNotFound", headers)
    etag = f["sha256"] if f["lfs"] else f["git_oid"]
    return ranged_file(repo.blob_path(f), f["size"], handler._range_header(),
                       headers + [("ETag", '"%s"' % etag), ("Content-Type", "application/octet-stream")])


# ------------------------------------------------------------------------------------------- xet

def _as_xet(handler, resp, params):
    """An LFS file's 302 turned into the Xet one: to the bridge, with X-Xet-Hash and the xet Link rels."""
    linked = header_value(resp.headers, "X-Linked-Etag")
    commit = header_value(resp.headers, "X-Repo-Commit")
    if resp.status != 302 or not linked:
        return resp
    hub, sha256 = handler.hub, linked.strip('"')
    xhash = xet_hash(sha256)
    path = "/xet-bridge-us/%s/%s" % (repo_object_id(params["kind"], "%s/%s" % (params["ns"], params["name"])),
                                     xhash)
    location = hub.sign(xhash, bound_range(handler), path)
    api = "%s/api/%ss/%s/%s" % (hub.hub_url, params["kind"], params["ns"], params["name"])
    link = '<%s/xet-read-token/%s>; rel="xet-auth", <%s/v1/reconstructions/%s>; rel="xet-reconstruction-info"' % (
        api, commit, XET_CAS, xhash)
    headers = [(k, v) for k, v in resp.headers if k.lower() != "location"]
    return Response(302, headers + [("Location", location), ("X-Xet-Hash", xhash), ("Link", link)],
                    ("Found. Redirecting to %s" % location).encode())


def _xet_bridge(handler, params, query):
    """GET|HEAD /xet-bridge-us/{repo _id}/{xet hash}?X-Amz-...: ranges like the LFS CDN; an unranged GET of a
    file over xet_unranged_limit is refused (the bridge will not stream a whole huge file in one answer)."""
    hub = handler.hub
    bad = hub.check_signature(params["xet"], dict(parse_qsl(query, keep_blank_values=True)),
                              handler.headers.get("Range"))
    if bad:
        return s3_error(403, *bad)
    sha256 = hub.behaviour.xet_objects.get(params["xet"])
    if sha256 is None or sha256 not in hub.lfs_objects:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    path, size = hub.lfs_objects[sha256]
    if handler.command == "GET" and handler.headers.get("Range") is None \
            and size > hub.behaviour.get("xet_unranged_limit"):
        return Response(400, [("Content-Type", "text/plain; charset=utf-8")],
                        b"Bad Request: a Range header is required for a file of this size")
    return ranged_file(path, size, handler._range_header(),
                       [("ETag", '"%s"' % sha256), ("Content-Type", "application/octet-stream")])


# ------------------------------------------------------------------------------ redirect upstream

def validate_redirect_upstream(rule):
    base = rule.get("base")
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        raise ValueError("redirect_upstream needs a base URL (http:// or https://)")
    if int(rule.setdefault("status", 308)) not in REDIRECT_STATUSES:
        raise ValueError("redirect_upstream status is one of %s" % (REDIRECT_STATUSES,))


def redirect_upstream(fault, raw_path, query):
    """A mirror's answer for a file it has not cached: a 3xx to the same path and query on `base`."""
    location = fault["base"].rstrip("/") + raw_path + ("?" + query if query else "")
    words = {301: "Moved Permanently", 302: "Found", 307: "Temporary Redirect", 308: "Permanent Redirect"}
    status = int(fault["status"])
    return Response(status, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")],
                    ("%s. Redirecting to %s" % (words[status], location)).encode())
