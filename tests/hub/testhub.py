#!/usr/bin/env python3
"""A local Hugging Face Hub for hfmirror's tests, speaking the protocol of fetch/PROTOCOL.md.

Two listeners in one process: the HUB (default 127.0.0.1) and a CDN on another host (default 127.0.0.2),
so that a client forwarding its token across a redirect can be caught. Ports are free ones unless given.
When ready it prints one JSON line on stdout (and writes it to --port-file):
    {"hub": "http://127.0.0.1:P", "cdn": "http://127.0.0.2:Q", "control": "http://127.0.0.1:P/_hub",
     "fixtures": "<dir>", "pid": N}

Hub protocol served (see the README next to this file for the fixture repos and tokens):
  GET  /api/{models|datasets|spaces}/{ns}/{name}[?blobs=true]            repo info at the default branch
  GET  /api/{kind}s/{ns}/{name}/revision/{rev}[?blobs=true]              repo info at a revision
  GET  /api/{kind}s/{ns}/{name}/tree/{rev}[/{path}]?recursive=&expand=&limit=&cursor=   paginated listing
  POST /api/{kind}s/{ns}/{name}/paths-info/{rev}                         form paths=..&paths=.. or JSON
  GET  /api/{kind}s/{ns}/{name}/refs[?include_prs=1]
  GET|HEAD /[datasets/|spaces/]{ns}/{name}/resolve/{rev}/{path}          200/206/416, or 302 to the CDN
  GET|HEAD /[datasets/|spaces/]{ns}/{name}/raw/{rev}/{path}              LFS pointer text for LFS files
  CDN: GET|HEAD /lfs/{sha256}?X-Amz-...                                  pre-signed; 403 when expired/invalid
Switchable real-Hub behaviours (hub_realism.py; off unless POST /_hub/behaviour or --behaviour sets them):
range-bound signatures, the resolvers quota (429), 307s to /api/resolve-cache/..., Xet bridge URLs
(CDN /xet-bridge-us/...), and the fault action "redirect_upstream" (a mirror's 3xx to huggingface.co).

--cdn-url URL makes the signed LFS URLs `URL/lfs/<sha256>?X-Amz-...` instead: another server (scripts/bench
puts nginx there, serving the fixtures' blobs/ directory) serves the objects and ignores the query. The
built-in CDN listener keeps running; the ready line then also has "lfs_base": URL.
--bench-fixtures adds the benchmark's repos (hfm-bench/...; fixtures.py) to the fixtures.

Test control API (not Hub protocol; on the hub listener only; never counted, logged or faulted):
  GET  /_hub/stats            {"total", "requests": {host: {route: n}}, "methods": {host: {method: n}},
                               "paths": {host: {path: n}}, "bytes": {host: n},
                               "bytes_by_route": {host: {route: n}}}   (hosts "hub" and "cdn"; routes:
                               api_info api_revision tree paths_info refs search resolve resolve_cache raw cdn
                               other); "quota_refused": {route: n}
  POST /_hub/reset_stats      clears the stats and the log
  GET  /_hub/log              [{seq, time, host, method, path, query, route, range, has_authorization,
                                authorization_value_sha256_prefix (first 16 hex of sha256 of the bearer
                                token; never the token), status, bytes, fault, duration_ms, arrived,
                                answered, has_range, head, quota_refused, repo and file (ns/name and
                                path; null off repo routes)}, ...]  (log order and seq: when each request finished; arrived,
                                answered: ticks of one counter taken on arrival and just before the answer's
                                first byte, so "B.arrived > A.answered" means B came after A's answer)
  POST /_hub/expire_signed_urls [{"ttl": seconds}]  invalidates every signed URL issued so far (they now
                               answer 403); "ttl" sets the lifetime of URLs issued from now on.
  POST /_hub/move_branch      {"repo", "kind": "model", "branch", "commit" (sha or revision)} -> old/new
  POST /_hub/reset_refs       every branch back to where the fixtures put it (ends lag)
  POST /_hub/lag              {"repo", "kind": "model", "commit"}: serve the repo like a mirror last synced at
                               `commit`: newer commits answer 404 RevisionNotFound, branches on them point at
                               `commit` -> {"repo", "at", "hidden": [shas]}
  POST /_hub/faults           one rule or {"faults": [rules]} -> {"ids": [...]}; GET /_hub/faults lists them
  POST /_hub/clear_faults     removes all rules and ends running stalls at once
  GET|POST /_hub/behaviour    read or set hub_realism.py's switches -> all of them
  POST /_hub/reset            reset_stats + clear_faults + reset_refs + behaviour as started
A fault rule (all keys but "action" optional):
  {"host": "hub"|"cdn"|"any" or a list, "route": <route class>|"any" or a list (e.g. ["resolve", "cdn"]),
   "method": "GET", "path_contains": "...", "nth": 1, "times": 1, "action": ..., action parameters}
  It applies to the nth, nth+1, ... nth+times-1 requests that match it (counted from when it was added;
  times <= 10000, so every rule ends by itself). Actions:
   "status":   answer {"status": 503, "headers": {...}, "body": "..."} instead of the real response
   "stall":    send nothing ("before_headers": true) or the headers and "after_bytes" (default 0) body
               bytes, then hold the connection for "seconds" (default 30, at most 600), then close it
   "reset":    send the headers and "after_bytes" (default 0) body bytes, then reset the connection (RST)
   "delay":    wait "seconds" (at most 600), then answer normally
   "throttle": send the body at "bytes_per_second", closing after "seconds" (default 60) if unfinished
   "corrupt":  flip the body byte at "offset" (default 0) of the response body
   "truncate": send the full Content-Length but only "after_bytes" (default 0) body bytes, then close cleanly
   "ignore_range": answer a ranged request with 200 and the whole body
   "bad_content_range": 206 whose range starts "shift" (default 4096) bytes off; "mode" "body" (default): the
               bytes of that range, truthfully labelled; "header": the right bytes, a lying Content-Range
   "redirect_loop": 302 to this same URL ("mode": "self") or back and forth with hfm_loop=1 ("pair")
   "big_headers": add "lines" (default 1) headers of "bytes" (default 200000) in all, named "name"
   "hostile_listing": on the tree route, a crafted listing "case" (see hub_hostile.py)
   "redirect_upstream": a "status" (301/302/307/308, default 308) to the same path and query on "base"
   "tampered": on the tree, resolve and cdn routes, list (and name in X-Linked-Etag) the LFS object "sha256"
               with the hash of its flipped bytes and serve those flipped bytes (a consistent liar; see hub_tampered.py)
Standard library only (Debian 12's python3 3.11).
"""

import argparse
import base64
import email.utils
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, quote, urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
import hub_hostile  # noqa: E402
import hub_realism  # noqa: E402
import hub_tampered  # noqa: E402
from hub_http import (HubError, Response, decode_path, header_value, iso_time, json_response,  # noqa: E402
                      ranged_file, s3_error, truthy)
from hub_repos import KINDS, Hub  # noqa: E402

CHUNK = 1024 * 1024
TREE_PAGE = 1000
TREE_PAGE_EXPAND = 50


# ---------------------------------------------------------------------------------------------- routes

def classify(host, method, raw_path):
    """-> (route class, params) from the raw (undecoded) path."""
    segs = raw_path.split("/")[1:]
    added = hub_realism.classify(host, method, segs)  # resolve-cache, the Xet bridge
    if added:
        return added
    if host == "cdn":
        if len(segs) == 2 and segs[0] == "lfs" and method in ("GET", "HEAD"):
            return "cdn", {"sha256": segs[1]}
        return "other", {}
    if segs and segs[0] == "_hub":
        return "control", {"op": "/".join(segs[1:])}
    if len(segs) == 2 and segs[0] == "api" and segs[1] in KINDS and method in ("GET", "HEAD"):
        return "search", {"kind": KINDS[segs[1]]}
    if len(segs) >= 4 and segs[0] == "api" and segs[1] in KINDS:
        base = {"kind": KINDS[segs[1]], "ns": decode_path(segs[2]), "name": decode_path(segs[3])}
        rest = segs[4:]
        if not rest and method in ("GET", "HEAD"):
            return "api_info", base
        if len(rest) == 2 and rest[0] == "revision" and method in ("GET", "HEAD"):
            return "api_revision", dict(base, rev=decode_path(rest[1]))
        if len(rest) >= 2 and rest[0] == "tree" and method in ("GET", "HEAD"):
            return "tree", dict(base, rev=decode_path(rest[1]), path=decode_path("/".join(rest[2:])))
        if len(rest) == 2 and rest[0] == "paths-info" and method == "POST":
            return "paths_info", dict(base, rev=decode_path(rest[1]))
        if rest == ["refs"] and method in ("GET", "HEAD"):
            return "refs", base
        return "other", {}
    kind = "model"
    if segs and segs[0] in ("datasets", "spaces"):
        kind, segs = KINDS[segs[0]], segs[1:]
    if len(segs) >= 5 and segs[2] in ("resolve", "raw") and method in ("GET", "HEAD"):
        return segs[2], {"kind": kind, "ns": decode_path(segs[0]), "name": decode_path(segs[1]),
                         "rev": decode_path(segs[3]), "path": decode_path("/".join(segs[4:]))}
    return "other", {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "testhub/1"
    timeout = 120  # idle keep-alive connections close after this
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers (40 ms on Linux), which the real Hub's servers never add.
    disable_nagle_algorithm = True

    hub = None  # set per listener subclass
    role = None

    def log_message(self, fmt, *args):
        if self.hub.verbose:
            sys.stderr.write("[%s] %s\n" % (self.role, fmt % args))

    def log_request(self, code="-", size="-"):
        pass  # _dispatch writes one line per request (with --verbose) once the body is sent

    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def do_POST(self):
        self._dispatch("POST")

    # ------------------------------------------------------------------------------------ dispatch

    def _dispatch(self, method):
        started = time.monotonic()
        self.sent_status, self.sent_bytes, self.entry = 0, 0, None
        raw_path, _, query = self.path.partition("?")
        self.req_body = self._read_body()
        route, params = classify(self.role, method, raw_path)
        if route == "control":
            self._send(self._control(method, params["op"], query), None, method)
            return
        auth = self.headers.get("Authorization")
        token = auth[7:].strip() if auth and auth.startswith("Bearer ") else auth
        entry = {"time": time.time(), "host": self.role, "method": method, "path": decode_path(raw_path),
                 "query": query, "route": route, "range": self.headers.get("Range"),
                 "has_authorization": auth is not None,
                 "authorization_value_sha256_prefix":
                     hashlib.sha256(token.encode()).hexdigest()[:16] if auth is not None else None,
                 "status": 0, "bytes": 0, "fault": None, "arrived": self.hub.stats.next_event(),
                 "answered": None}
        entry.update(hub_realism.log_fields(method, self.headers, params))
        self.entry = entry
        fault = self.fault = self.hub.faults.match(self.role, route, method, entry["path"])
        try:
            if fault:
                entry["fault"] = fault["action"]
            if fault and fault["action"] == "delay":
                fault["_cancel"].wait(fault["seconds"])
                fault = self.fault = None
            if fault and fault["action"] == "status":
                resp = self._fault_status(fault)
            elif fault and fault["action"] == "redirect_loop":
                resp = self._redirect_loop(fault, raw_path, query)
            elif fault and fault["action"] == "redirect_upstream":
                resp = hub_realism.redirect_upstream(fault, raw_path, query)
            elif fault and fault["action"] == "stall" and fault.get("before_headers"):
                self._stall(fault)
                return
            else:
                real_query = query
                if fault and fault["action"] == "hostile_listing":  # its cursors are its own: list page 1
                    real_query = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                                            if k != "cursor"])
                resp = hub_realism.answer(self, route, method, params, real_query)  # self._route and more
                if fault:
                    resp = self._fault_transform(resp, fault, route, raw_path, query)
            self._send(resp, fault, method)
        except (ConnectionError, socket.timeout, OSError):
            self.close_connection = True
        except Exception:  # a bug in the hub: say so loudly, answer 500 if nothing was sent yet
            traceback.print_exc()
            self.close_connection = True
            if not self.sent_status:
                try:
                    self._send(HubError(500, "testhub internal error").response(), None, method)
                except OSError:
                    pass
        finally:
            entry["status"], entry["bytes"] = self.sent_status, self.sent_bytes
            entry["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
            self.hub.stats.record(entry)
            if self.hub.verbose:
                sys.stderr.write("[%s] %s %s%s -> %s %dB%s\n" % (
                    self.role, method, raw_path, "?" + query if query else "", self.sent_status,
                    self.sent_bytes, " fault=" + entry["fault"] if entry["fault"] else ""))

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _route(self, route, method, params, query):
        q = dict(parse_qsl(query, keep_blank_values=True))
        if route == "cdn":
            return self._cdn(params["sha256"], q)
        if route == "other":
            if self.role == "cdn":
                return s3_error(404, "NoSuchKey", "The specified key does not exist.")
            raise HubError(404, "Sorry, we can't find the page you are looking for.")
        token = self._token()
        redirect = self._renamed(route, params, query)
        if redirect:
            return redirect
        if route in ("resolve", "raw"):
            return self._resolve(route, params, token)
        if route == "search":
            return self._search(params["kind"], q, token)
        repo = self._repo(params, token)
        if route == "api_info":
            return self._info(repo, repo.raw["default_branch"], q)
        if route == "refs":
            return self._refs(repo, q)
        commit = self._commit(repo, params["rev"])
        if route == "api_revision":
            return self._info(repo, params["rev"], q, commit)
        if route == "tree":
            return self._tree(repo, commit, params, q)
        if route == "paths_info":
            return self._paths_info(repo, commit)
        raise HubError(404, "Not Found")

    # ------------------------------------------------------------------------------ access checks

    def _token(self):
        auth = self.headers.get("Authorization")
        if auth is None:
            return None
        token = auth[7:].strip() if auth.startswith("Bearer ") else None
        if not token or token not in self.hub.tokens:
            raise HubError(401, "Invalid credentials in Authorization header")
        return token

    def _renamed(self, route, params, query):
        target = self.hub.renamed.get((params.get("kind"), "%s/%s" % (params.get("ns"), params.get("name"))))
        if not target:
            return None
        old = "%s/%s" % (quote(params["ns"]), quote(params["name"]))
        raw_path = self.path.partition("?")[0]
        location = raw_path.replace("/" + old + "/", "/" + target + "/", 1) if not raw_path.endswith(old) \
            else raw_path[:-len(old)] + target
        if query:
            location += "?" + query
        return Response(307, [("Location", location), ("Content-Type", "text/plain")],
                        ("Temporary Redirect. Redirecting to %s" % location).encode())

    def _repo(self, params, token):
        repo_id = "%s/%s" % (params["ns"], params["name"])
        repo = self.hub.repos.get((params["kind"], repo_id))
        allowed = token is not None and repo_id in self.hub.tokens[token]
        if repo is None or (repo.raw["private"] and not allowed):
            raise HubError(401 if token is None else 404, "Repository not found", "RepoNotFound")
        if repo.raw["disabled"]:
            raise HubError(403, "Access to this resource is disabled.")
        return repo

    def _check_gated(self, repo, token, headers=()):
        if repo.raw["gated"] and not (token is not None and repo.id in self.hub.tokens[token]):
            if token is None:
                msg = ("Access to %s %s is restricted. You must have access to it and be authenticated to "
                       "access it. Please log in." % (repo.kind, repo.id))
                raise HubError(401, msg, "GatedRepo", headers)
            msg = ("Access to %s %s is restricted and you are not in the authorized list. Visit "
                   "%s/%s to ask for access." % (repo.kind, repo.id, self.hub.hub_url, repo.id))
            raise HubError(403, msg, "GatedRepo", headers)

    def _commit(self, repo, rev, headers=()):
        commit = repo.resolve(rev, self.hub.refs_lock)
        if commit is None:
            raise HubError(404, "Invalid rev id: %s" % rev, "RevisionNotFound", headers)
        return commit

    # ---------------------------------------------------------------------------------- handlers

    def _info(self, repo, rev, q, commit=None):
        commit = commit or self._commit(repo, rev)
        c = repo.commits[commit]
        blobs = truthy(q.get("blobs"))
        siblings = []
        for path in sorted(c["files"]):
            f = c["files"][path]
            s = {"rfilename": path}
            if blobs:
                s.update(size=f["size"], blobId=f["oid"])
                if f["lfs"]:
                    s["lfs"] = {"sha256": f["sha256"], "size": f["size"], "pointerSize": f["pointer_size"]}
            siblings.append(s)
        first = repo.commits[repo.raw["commit_order"][0]]
        info = {"_id": hashlib.sha1(("%s/%s" % (repo.kind, repo.id)).encode()).hexdigest()[:24],
                "id": repo.id, "author": repo.id.split("/")[0], "sha": commit,
                "lastModified": iso_time(c["time"]), "createdAt": iso_time(first["time"]),
                "private": repo.raw["private"], "gated": repo.raw["gated"], "disabled": repo.raw["disabled"],
                "downloads": 0, "likes": 0, "tags": [], "siblings": siblings,
                "usedStorage": sum(f["size"] for f in c["files"].values())}
        if repo.kind == "model":
            info["modelId"] = repo.id
        if repo.kind == "space":
            info["sdk"] = "gradio"
        return json_response(info)

    def _search(self, kind, q, token):
        """GET /api/{kind}s?search=Q&limit=N: the repos of that kind whose id contains Q (any case), by id;
        private ones only for a token that may see them. Each item as the Hub gives it: id (and modelId for
        models), private, gated, downloads, likes, lastModified."""
        needle = q.get("search", "").lower()
        try:
            limit = int(q.get("limit") or 1000)
        except ValueError:
            raise HubError(400, "limit must be a number")
        allowed = self.hub.tokens.get(token, ()) if token else ()
        out = []
        for (k, repo_id), repo in sorted(self.hub.repos.items()):
            if k != kind or needle not in repo_id.lower():
                continue
            if repo.raw["private"] and repo_id not in allowed:
                continue
            item = {"_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24], "id": repo_id,
                    "private": bool(repo.raw["private"]), "gated": repo.raw["gated"] or False,
                    "downloads": 0, "likes": 0, "lastModified": "2024-01-01T00:00:00.000Z"}
            if kind == "model":
                item["modelId"] = repo_id
            out.append(item)
        return json_response(out[:max(0, limit)])

    def _refs(self, repo, q):
        with self.hub.refs_lock:
            branches, hidden = sorted(repo.branches.items()), repo.hidden
        tags = [(n, c) for n, c in sorted(repo.tags.items()) if c not in hidden]
        out = {"branches": [{"name": n, "ref": "refs/heads/" + n, "targetCommit": c} for n, c in branches],
               "converts": [],
               "tags": [{"name": n, "ref": "refs/tags/" + n, "targetCommit": c} for n, c in tags]}
        if truthy(q.get("include_prs")):
            out["pullRequests"] = [{"name": "refs/pr/" + n, "ref": "refs/pr/" + n, "targetCommit": c}
                                   for n, c in sorted(repo.prs.items(), key=lambda x: int(x[0]))
                                   if c not in hidden]
        return json_response(out)

    def _tree(self, repo, commit, params, q):
        tree = repo.trees[commit]
        folder = params["path"].strip("/")
        if folder and (folder not in tree["entries"] or tree["entries"][folder]["type"] != "directory"):
            raise HubError(404, "Entry not found", "EntryNotFound")
        if truthy(q.get("recursive")):
            prefix = folder + "/" if folder else ""
            paths = [p for p in tree["all"] if p.startswith(prefix)]
        else:
            paths = tree["children"][folder]
        expand = truthy(q.get("expand"))
        page = TREE_PAGE_EXPAND if expand else TREE_PAGE
        if q.get("limit"):
            try:
                page = max(1, int(q["limit"]))
            except ValueError:
                raise HubError(400, "Invalid limit")
        offset = 0
        if q.get("cursor"):
            try:
                offset = int(json.loads(base64.urlsafe_b64decode(q["cursor"].encode()))["offset"])
            except (ValueError, KeyError, TypeError):
                raise HubError(400, "Invalid cursor")
        entries = [tree["entries"][p] for p in paths[offset:offset + page]]
        if expand:
            c = repo.commits[commit]
            last = {"id": commit, "title": c["message"], "date": iso_time(c["time"])}
            entries = [dict(e, lastCommit=last) for e in entries]
        headers = []
        if offset + page < len(paths):
            cursor = base64.urlsafe_b64encode(json.dumps({"offset": offset + page}).encode()).decode()
            pairs = [(k, v) for k, v in parse_qsl(self.path.partition("?")[2], keep_blank_values=True)
                     if k != "cursor"] + [("cursor", cursor)]
            nxt = "%s%s?%s" % (self.hub.hub_url, self.path.partition("?")[0], urlencode(pairs))
            headers.append(("Link", '<%s>; rel="next"' % nxt))
        return json_response(entries, headers=headers)

    def _paths_info(self, repo, commit):
        ctype = self.headers.get("Content-Type", "")
        paths = []
        try:
            if "json" in ctype:
                paths = json.loads(self.req_body or b"{}").get("paths", [])
            else:
                paths = parse_qs(self.req_body.decode("utf-8"), keep_blank_values=True).get("paths", [])
        except (ValueError, AttributeError):
            raise HubError(400, "Invalid request body")
        if isinstance(paths, str):
            paths = [paths]
        entries = repo.trees[commit]["entries"]
        out, seen = [], set()
        for p in paths:
            p = p.strip("/")
            if p in entries and p not in seen:
                seen.add(p)
                out.append(entries[p])
        return json_response(out)

    def _resolve(self, route, params, token):
        repo = self._repo(params, token)
        commit = self._commit(repo, params["rev"])
        headers = [("X-Repo-Commit", commit)]
        self._check_gated(repo, token, headers)
        f = repo.commits[commit]["files"].get(params["path"])
        if f is None:
            raise HubError(404, "Entry not found", "EntryNotFound", headers)
        if f["lfs"] and route == "raw":
            pointer = fixtures.lfs_pointer(f["sha256"], f["size"])
            return Response(200, headers + [("ETag", '"%s"' % f["oid"]), ("Content-Type", "text/plain; charset=utf-8"),
                                            ("Accept-Ranges", "bytes")], pointer)
        if f["lfs"]:
            location = self.hub.sign(f["sha256"], hub_realism.bound_range(self))
            body = ("Found. Redirecting to %s" % location).encode()
            return Response(302, headers + [
                ("Location", location), ("ETag", '"%s"' % f["oid"]), ("X-Linked-Etag", '"%s"' % f["sha256"]),
                ("X-Linked-Size", str(f["size"])), ("Content-Type", "text/plain; charset=utf-8"),
                ("Accept-Ranges", "bytes")], body)
        return ranged_file(repo.blob_path(f), f["size"], self._range_header(),
                           headers + [("ETag", '"%s"' % f["git_oid"]), ("Content-Type", "application/octet-stream")])

    def _cdn(self, sha256, q):
        obj = self.hub.lfs_objects.get(sha256)
        bad = self.hub.check_signature(sha256, q, self.headers.get("Range"))
        if bad:
            return s3_error(403, *bad)
        if obj is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        path, size = obj
        return ranged_file(path, size, self._range_header(),
                           [("ETag", '"%s"' % sha256), ("Content-Type", "application/octet-stream"),
                            ("Last-Modified", email.utils.formatdate(fixtures.BASE_TIME, usegmt=True))])

    # ------------------------------------------------------------------------------------ faults

    def _range_header(self):
        """The request's Range, or None under an ignore_range fault (the whole body is sent with 200)."""
        if self.fault and self.fault["action"] == "ignore_range":
            return None
        return self.headers.get("Range")

    def _base_url(self):
        return self.hub.hub_url if self.role == "hub" else self.hub.cdn_url

    def _redirect_loop(self, fault, raw_path, query):
        """302 back to this very URL ("self"), or between this URL and the same one with hfm_loop=1 ("pair")."""
        pairs = parse_qsl(query, keep_blank_values=True)
        if fault["mode"] == "pair":
            looped = any(k == "hfm_loop" for k, _ in pairs)
            pairs = [(k, v) for k, v in pairs if k != "hfm_loop"] + ([] if looped else [("hfm_loop", "1")])
        location = self._base_url() + raw_path + ("?" + urlencode(pairs) if pairs else "")
        return Response(302, [("Location", location), ("Content-Type", "text/plain; charset=utf-8")],
                        ("Found. Redirecting to %s" % location).encode())

    def _fault_transform(self, resp, fault, route, raw_path, query):
        """Actions that alter a real response before it is sent."""
        action = fault["action"]
        if action == "bad_content_range" and resp.file_slice and resp.status in (200, 206):
            path, start, length = resp.file_slice
            total = start + length if resp.status == 200 else int(
                header_value(resp.headers, "Content-Range").rpartition("/")[2])
            new_start = min(max(0, start + int(fault["shift"])), max(0, total - 1))
            new_length = max(1, min(length, total - new_start))
            headers = [(k, v) for k, v in resp.headers if k.lower() != "content-range"]
            headers.append(("Content-Range", "bytes %d-%d/%d" % (new_start, new_start + new_length - 1, total)))
            if fault["mode"] == "body":  # the bytes of another range, truthfully labelled: not the ones asked for
                return Response(206, headers, file_slice=(path, new_start, new_length))
            return Response(206, headers, file_slice=resp.file_slice)  # the right bytes, a lying label
        if action == "big_headers":
            per_line = max(1, int(fault["bytes"]) // int(fault["lines"]))
            name = fault.get("name", "X-Hub-Padding")
            for i in range(int(fault["lines"])):
                if name.lower() == "link":
                    value = '<%s%s?pad=%s>; rel="next"' % (self._base_url(), raw_path, "p" * per_line)
                else:
                    value = "v" * per_line
                resp.headers.append((name if int(fault["lines"]) == 1 else "%s-%d" % (name, i), value))
            return resp
        if action == "tampered" and route == "tree" and resp.status == 200:
            entries = hub_tampered.tamper_listing(json.loads(resp.body), fault["sha256"], self.hub.lfs_objects)
            return Response(200, resp.headers, json.dumps(entries).encode())
        if action == "tampered" and route == "resolve":
            return hub_tampered.tamper_resolve(resp, fault["sha256"], self.hub.lfs_objects)
        if action == "tampered" and route == "cdn":
            return hub_tampered.tamper_bytes(resp, raw_path.rstrip("/").rpartition("/")[2], fault["sha256"])
        if action == "hostile_listing" and route == "tree":
            if resp.status != 200:
                return resp
            built = hub_hostile.build(fault["case"], json.loads(resp.body),
                                      hub_hostile.Context(self._base_url(), raw_path, query), fault)
            return Response(built.status, built.headers, built.body, stream=built.stream)
        return resp

    def _fault_status(self, fault):
        status = int(fault.get("status", 503))
        headers = [(k, str(v)) for k, v in fault.get("headers", {}).items()]
        if "body" in fault:
            body = fault["body"].encode() if isinstance(fault["body"], str) else json.dumps(fault["body"]).encode()
            if not any(k.lower() == "content-type" for k, _ in headers):
                headers.append(("Content-Type", "text/plain"))
            return Response(status, headers, body)
        return Response(status, [("Content-Type", "application/json")] + headers,
                        json.dumps({"error": "injected fault: status %d" % status}).encode())

    def _stall(self, fault):
        """Hold the connection, then close it (no response, or a partial one already sent)."""
        deadline = time.monotonic() + fault["seconds"]
        while not self.hub.stopping.is_set() and time.monotonic() < deadline:
            if fault["_cancel"].wait(min(0.2, max(0, deadline - time.monotonic()))):
                break
        self.close_connection = True

    def _reset(self):
        """Abort the connection with an RST."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
        except OSError:
            pass

    # ---------------------------------------------------------------------------------- sending

    def _send(self, resp, fault, method):
        entry = getattr(self, "entry", None)
        if entry is not None and entry["answered"] is None:
            entry["answered"] = self.hub.stats.next_event()  # before the first byte leaves: see next_event
        self.send_response(resp.status)
        self.sent_status = resp.status
        for k, v in resp.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(resp.length))
        self.end_headers()
        action = fault["action"] if fault else None
        limit = 0 if method == "HEAD" else resp.length
        if action in ("stall", "reset", "truncate"):
            limit = min(limit, int(fault.get("after_bytes", 0)))
        throttle_end = time.monotonic() + fault["seconds"] if action == "throttle" else None
        started = time.monotonic()
        for chunk_offset, chunk in self._body_chunks(resp, limit, fault):
            if action == "corrupt":
                at = int(fault.get("offset", 0)) - chunk_offset
                if 0 <= at < len(chunk):
                    chunk = chunk[:at] + bytes([chunk[at] ^ 0xFF]) + chunk[at + 1:]
            if throttle_end is not None:
                rate = float(fault["bytes_per_second"])
                wait = started + (chunk_offset + len(chunk)) / rate - time.monotonic()
                if time.monotonic() + max(0, wait) > throttle_end:
                    fault["_cancel"].wait(max(0, throttle_end - time.monotonic()))
                    self.close_connection = True
                    return
                if wait > 0:
                    fault["_cancel"].wait(wait)
            self.wfile.write(chunk)
            self.sent_bytes += len(chunk)
        if action == "stall":
            self._stall(fault)
        elif action == "reset":
            self._reset()
        elif action == "truncate" and limit < resp.length:
            self._close_cleanly()

    def _close_cleanly(self):
        """End the connection with a FIN after a short body: the client sees EOF before Content-Length."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _body_chunks(self, resp, limit, fault):
        """(offset, bytes) pieces of the first `limit` body bytes. Plain file bodies go by sendfile and
        yield nothing."""
        if resp.stream is not None:
            done = 0
            for piece in resp.stream[1]():
                if done >= limit:
                    return
                piece = piece[:limit - done]
                yield done, piece
                done += len(piece)
            return
        if resp.file_slice is None:
            if limit:
                yield 0, resp.body[:limit]
            return
        path, offset, _ = resp.file_slice
        small = fault and fault["action"] == "throttle"
        step = min(CHUNK, max(1, int(float(fault["bytes_per_second"]) / 10))) if small else CHUNK
        with open(path, "rb") as f:
            if fault is None:
                self._sendfile(f, offset, limit)
                return
            done = 0
            while done < limit:
                chunk = os.pread(f.fileno(), min(step, limit - done), offset + done)
                if not chunk:
                    raise OSError("fixture file shorter than expected: %s" % path)
                yield done, chunk
                done += len(chunk)

    def _sendfile(self, f, offset, length):
        """Zero-copy body. A blocking socket lets one sendfile(2) call move megabytes (Python's timeout mode
        would poll before every call); SO_SNDTIMEO still bounds a client that stops reading."""
        sock = self.connection
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(self.timeout), 0))
        try:
            done = 0
            while done < length:
                n = os.sendfile(sock.fileno(), f.fileno(), offset + done, length - done)
                if n == 0:
                    raise ConnectionError("sendfile sent nothing")
                done += n
                self.sent_bytes += n
        finally:
            sock.settimeout(self.timeout)

    # ----------------------------------------------------------------------------------- control

    def _control(self, method, op, query):
        hub = self.hub
        try:
            body = json.loads(self.req_body) if self.req_body else {}
        except ValueError:
            return json_response({"error": "body is not JSON"}, 400)
        try:
            if op == "stats" and method == "GET":
                return json_response(hub.stats.snapshot())
            if op == "log" and method == "GET":
                return json_response(hub.stats.log_copy())
            if op == "reset_stats" and method == "POST":
                hub.stats.reset()
                return json_response({"ok": True})
            if op == "expire_signed_urls" and method == "POST":
                hub.expire_signed_urls(body.get("ttl"))
                return json_response({"ok": True, "generation": hub.url_generation, "ttl": hub.url_ttl})
            if op == "move_branch" and method == "POST":
                old, new = hub.move_branch(body["repo"], body["branch"], body["commit"],
                                           body.get("kind", "model"), bool(body.get("create")))
                return json_response({"branch": body["branch"], "old": old, "new": new})
            if op == "reset_refs" and method == "POST":
                hub.reset_refs()
                return json_response({"ok": True})
            if op == "lag" and method == "POST":
                at, hidden = hub.lag(body["repo"], body["commit"], body.get("kind", "model"))
                return json_response({"repo": body["repo"], "at": at, "hidden": hidden})
            if op == "behaviour" and method in ("GET", "POST"):
                return json_response(hub_realism.control(hub, method, body))
            if op == "faults" and method == "GET":
                return json_response(hub.faults.describe())
            if op == "faults" and method == "POST":
                specs = body["faults"] if "faults" in body else [body]
                return json_response({"ids": [hub.faults.add(s) for s in specs]})
            if op == "clear_faults" and method == "POST":
                hub.faults.clear()
                return json_response({"ok": True})
            if op == "reset" and method == "POST":
                hub.stats.reset()
                hub.faults.clear()
                hub.reset_refs()
                hub.behaviour.reset()
                return json_response({"ok": True})
        except (ValueError, KeyError, TypeError) as e:
            return json_response({"error": "%s: %s" % (type(e).__name__, e)}, 400)
        return json_response({"error": "unknown control call %s %s" % (method, op)}, 404)


# ------------------------------------------------------------------------------------------------ main

class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def _use_external_cdn(hub, base):
    """Signed LFS URLs point at `base` instead of the built-in CDN listener (same path and query)."""
    base = base.rstrip("/")
    builtin_sign = hub.sign

    def sign(object_id, rng=None, path=None):
        url = builtin_sign(object_id, rng, path)
        return url if path else base + url[len(hub.cdn_url):]  # the Xet bridge (a path) stays built in
    hub.sign = sign


def serve(args):
    if args.bench_fixtures:
        # fixtures.build() inside Hub() reads the bench repos' sizes from the environment (as it does
        # large_mb), so the hub builds and serves them.
        os.environ["HFM_HUB_BENCH"] = json.dumps({"shard_mb": args.bench_shard_mb, "st_mb": args.bench_st_mb,
                                                  "files": args.bench_files})
    hub = Hub(args.fixtures, large_mb=args.large_mb, url_ttl=args.url_ttl, verbose=args.verbose)
    if args.behaviour:
        hub.behaviour.start_with(args.behaviour)
    servers = []
    for role, host, port in (("hub", args.host, args.port), ("cdn", args.cdn_host, args.cdn_port)):
        handler = type("%sHandler" % role.capitalize(), (Handler,), {"hub": hub, "role": role})
        servers.append(Server((host, port), handler))
    hub.hub_url = "http://%s:%d" % servers[0].server_address[:2]
    hub.cdn_url = "http://%s:%d" % servers[1].server_address[:2]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    info = {"hub": hub.hub_url, "cdn": hub.cdn_url, "control": hub.hub_url + "/_hub",
            "fixtures": os.path.abspath(args.fixtures), "pid": os.getpid()}
    if args.cdn_url:
        _use_external_cdn(hub, args.cdn_url)
        info["lfs_base"] = args.cdn_url.rstrip("/")
    line = json.dumps(info)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.replace(tmp, args.port_file)
    print(line, flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    if args.watch_stdin:
        def watch():
            while sys.stdin.buffer.read(65536):
                pass
            done.set()
        threading.Thread(target=watch, daemon=True).start()
    while not done.wait(0.5):
        pass
    hub.stopping.set()
    hub.faults.clear()
    for s in servers:
        s.shutdown()
        s.server_close()


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=os.path.join(here, "fixtures_out"),
                    help="fixture directory (built if missing or stale; default tests/hub/fixtures_out)")
    ap.add_argument("--large-mb", type=int, default=None,
                    help="size of hfm-test/large-model's large.bin in MiB (default $HFM_HUB_LARGE_MB or 64)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cdn-host", default="127.0.0.2")
    ap.add_argument("--cdn-port", type=int, default=0)
    ap.add_argument("--port-file", help="also write the ready JSON line to this file")
    ap.add_argument("--url-ttl", type=int, default=3600, help="lifetime of signed CDN URLs, seconds")
    ap.add_argument("--watch-stdin", action="store_true", help="exit when stdin reaches EOF (parent died)")
    ap.add_argument("--verbose", action="store_true", help="one line per request on stderr")
    ap.add_argument("--behaviour", type=json.loads, default=None,
                    help='real-Hub switches set from the start, as POST /_hub/behaviour takes them (JSON, e.g. '
                         '\'{"range_bound_signatures": true}\'; see hub_realism.py)')
    ap.add_argument("--cdn-url", help="signed LFS URLs point at URL/lfs/<sha256>?X-Amz-... (an external "
                                      "server that serves the fixtures' blobs by sha256) instead of the built-in CDN")
    ap.add_argument("--bench-fixtures", action="store_true",
                    help="also build and serve the benchmark's repos hfm-bench/shards, st-model, 10k-files")
    ap.add_argument("--bench-shard-mb", type=int, default=None,
                    help="size of each of hfm-bench/shards' 8 files in MiB (default %d)"
                         % fixtures.BENCH_DEFAULTS["shard_mb"])
    ap.add_argument("--bench-st-mb", type=int, default=None,
                    help="tensor data in hfm-bench/st-model's model.safetensors, MiB (default %d)"
                         % fixtures.BENCH_DEFAULTS["st_mb"])
    ap.add_argument("--bench-files", type=int, default=None,
                    help="files in hfm-bench/10k-files (default %d)" % fixtures.BENCH_DEFAULTS["files"])
    serve(ap.parse_args(argv))


if __name__ == "__main__":
    main()
