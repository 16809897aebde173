"""The hub's repos (fixtures plus mutable branches) and its signed CDN URLs.

Branches are the only mutable state (move_branch / reset_refs), guarded by Hub.refs_lock; everything else
is read-only after start, so handler threads share it freely.
"""

import calendar
import hashlib
import hmac
import json
import os
import threading
import time
from urllib.parse import urlencode

import fixtures
import hub_huge
import hub_realism
from hub_faults import Faults, Stats

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}


class RepoState:
    """A fixture repo plus its mutable branches. Per-commit listings are precomputed."""

    def __init__(self, raw, blobs_dir):
        self.raw, self.kind, self.id = raw, raw["kind"], raw["id"]
        self.blobs_dir = blobs_dir
        self.initial_branches = dict(raw["branches"])
        self.branches = dict(raw["branches"])
        self.hidden = frozenset()  # commits a lagging mirror does not have yet (see Hub.lag)
        self.tags, self.prs = raw["tags"], raw["prs"]
        self.commits = raw["commits"]
        self.trees = {sha: self._tree(c) for sha, c in self.commits.items()}

    @staticmethod
    def _tree(commit):
        """{path: entry json}, with directories, and children {dir: [paths]}."""
        entries, children = {}, {"": []}
        for d, oid in commit["dirs"].items():
            if d:
                entries[d] = {"type": "directory", "oid": oid, "size": 0, "path": d}
                children.setdefault(d, [])
        for path, f in commit["files"].items():
            e = {"type": "file", "oid": f["oid"], "size": f["size"], "path": path}
            if f["lfs"]:
                e["lfs"] = {"oid": f["sha256"], "size": f["size"], "pointerSize": f["pointer_size"]}
            entries[path] = e
        for path in entries:
            children[path.rpartition("/")[0]].append(path)
        order = lambda p: (entries[p]["type"] != "directory", p)  # noqa: E731
        for k in children:
            children[k].sort(key=order)
        return {"entries": entries, "children": children, "all": sorted(entries, key=order)}

    def resolve(self, rev, lock):
        """-> the commit `rev` names here, or None (unknown, or hidden by a lag)."""
        with lock:
            sha, hidden = self._resolve(rev, lock), self.hidden
        return None if sha in hidden else sha

    def _resolve(self, rev, lock):
        if rev in self.branches:
            return self.branches[rev]
        if rev.startswith("refs/heads/") and rev[11:] in self.branches:
            return self.branches[rev[11:]]
        if rev in self.tags:
            return self.tags[rev]
        if rev.startswith("refs/tags/") and rev[10:] in self.tags:
            return self.tags[rev[10:]]
        if rev.startswith("refs/pr/") and rev[8:] in self.prs:
            return self.prs[rev[8:]]
        if len(rev) == 40 and rev in self.commits:
            return rev
        return None

    def blob_path(self, f):
        return os.path.join(self.blobs_dir, f["blob"])


class Hub:
    """Everything both listeners share: repos, tokens, CDN objects, signing, faults and stats."""

    def __init__(self, fixtures_dir, large_mb=None, url_ttl=3600, verbose=False):
        manifest_path = fixtures.build(fixtures_dir, large_mb)
        with open(manifest_path) as f:
            manifest = json.load(f)
        blobs = os.path.join(fixtures_dir, "blobs")
        hub_huge.add_to(manifest["repos"], blobs)  # files listed at 2^40 bytes, served from a sparse blob
        self.fixtures_dir = fixtures_dir
        self.repos = {(r["kind"], r["id"]): RepoState(r, blobs) for r in manifest["repos"].values()}
        self.renamed = {(KINDS[k.split("/", 1)[0]], k.split("/", 1)[1]): v for k, v in manifest["renamed"].items()}
        self.tokens = {t: set(repos) for t, repos in manifest["tokens"].items()}
        # sha256 (as listed) -> served file, for the CDN
        self.lfs_objects = {}
        for repo in self.repos.values():
            for c in repo.commits.values():
                for f in c["files"].values():
                    if f["lfs"]:
                        self.lfs_objects[f["sha256"]] = (repo.blob_path(f), f["size"])
        self.refs_lock = threading.Lock()
        self.faults, self.stats = Faults(), Stats()
        self.behaviour = hub_realism.Behaviour(self.lfs_objects)
        self.secret = os.urandom(32)
        self.url_generation = 0
        self.url_ttl = url_ttl
        self.verbose = verbose
        self.hub_url = self.cdn_url = None
        self.stopping = threading.Event()

    # signed CDN URLs: the signature covers the object, issue time, lifetime and a generation that
    # expire_signed_urls bumps, so every URL issued before it stops working at once. A URL bound to a byte
    # range (hub_realism's range_bound_signatures) signs the Range header too, as S3 does for
    # X-Amz-SignedHeaders=host;range: any other Range, or none, no longer matches.
    def _signature(self, object_id, date, expires, generation, rng=None):
        msg = "%s\n%s\n%s\n%s" % (object_id, date, expires, generation)
        if rng is not None:
            msg += "\nrange:" + rng
        return hmac.new(self.secret, msg.encode(), hashlib.sha256).hexdigest()

    def sign(self, object_id, rng=None, path=None):
        """A signed CDN URL for `object_id` at `path` (default /lfs/<id>), bound to Range `rng` when given."""
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        expires, gen = self.url_ttl, self.url_generation
        query = urlencode([("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
                           ("X-Amz-Credential", "TESTHUB/%s/us-east-1/s3/aws4_request" % date[:8]),
                           ("X-Amz-Date", date), ("X-Amz-Expires", str(expires)),
                           ("X-Amz-Signature", self._signature(object_id, date, expires, gen, rng)),
                           ("X-Amz-SignedHeaders", "host" if rng is None else "host;range"), ("x-id", "GetObject")])
        return "%s%s?%s" % (self.cdn_url, path or "/lfs/" + object_id, query)

    def check_signature(self, object_id, params, range_header=None):
        """-> None if valid, else (S3 code, message). `range_header`: the request's Range, which a URL signed
        with SignedHeaders host;range must repeat exactly."""
        date, expires, sig = params.get("X-Amz-Date"), params.get("X-Amz-Expires"), params.get("X-Amz-Signature")
        if not (date and expires and sig):
            return ("AccessDenied", "Query-string authentication requires the Signature, Expires and "
                                    "AWSAccessKeyId parameters")
        rng = None
        if "range" in params.get("X-Amz-SignedHeaders", "host").split(";"):
            if range_header is None:
                return ("AccessDenied", "The URL was signed for a byte range; the request has no Range header")
            rng = range_header
        generation = next((g for g in range(self.url_generation, -1, -1)
                           if hmac.compare_digest(sig, self._signature(object_id, date, expires, g, rng))), None)
        if generation is None:
            return ("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                             "signature you provided.")
        if generation < self.url_generation:  # issued before expire_signed_urls
            return ("AccessDenied", "Request has expired")
        try:
            issued = calendar.timegm(time.strptime(date, "%Y%m%dT%H%M%SZ"))
            if time.time() > issued + int(expires):
                return ("AccessDenied", "Request has expired")
        except (ValueError, OverflowError):
            return ("AccessDenied", "Invalid date")
        return None

    def expire_signed_urls(self, ttl=None):
        self.url_generation += 1
        if ttl is not None:
            self.url_ttl = int(ttl)

    def move_branch(self, repo_id, branch, commit, kind="model", create=False):
        """Point `branch` at `commit` (a sha or any revision of the repo). -> (old commit, new commit)."""
        repo = self.repos.get((kind, repo_id))
        if repo is None:
            raise KeyError("no %s repo %s" % (kind, repo_id))
        sha = repo.resolve(commit, self.refs_lock)
        if sha is None:
            raise ValueError("no commit %s in %s" % (commit, repo_id))
        with self.refs_lock:
            old = repo.branches.get(branch)
            if old is None and not create:
                raise KeyError("no branch %s (pass create: true to create it)" % branch)
            repo.branches[branch] = sha
        return old, sha

    def reset_refs(self):
        with self.refs_lock:
            for repo in self.repos.values():
                repo.branches = dict(repo.initial_branches)
                repo.hidden = frozenset()

    def lag(self, repo_id, commit, kind="model"):
        """Serve the repo as a mirror that last synced at `commit` (a sha or revision): every commit that is
        not `commit` or one of its ancestors is hidden (RevisionNotFound on every route), and every branch
        that points at a hidden commit points at `commit`. -> (commit sha, [hidden shas]). reset_refs ends it."""
        repo = self.repos.get((kind, repo_id))
        if repo is None:
            raise KeyError("no %s repo %s" % (kind, repo_id))
        sha = repo.resolve(commit, self.refs_lock)
        if sha is None:
            raise ValueError("no commit %s in %s" % (commit, repo_id))
        keep, c = set(), sha
        while c:
            keep.add(c)
            c = repo.commits[c]["parent"]
        hidden = frozenset(repo.commits) - keep
        with self.refs_lock:
            repo.hidden = hidden
            for name, target in list(repo.branches.items()):
                if target in hidden:
                    repo.branches[name] = sha
        return sha, sorted(hidden)
