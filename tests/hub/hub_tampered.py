"""A tampering mirror: the fault action "tampered" (see testhub.py) makes this hub lie consistently about the
LFS object "sha256" (its true hash): its tree listings and its /resolve answers (X-Linked-Etag) give the sha256 of
the file's bytes with every bit flipped, and the CDN serves those flipped bytes. A client that believes this hub's listing verifies the wrong bytes as right; one
that takes its hashes from another (trusted) endpoint sees them fail verification. Standard library only.
"""

import hashlib

from hub_http import Response


def _flip(data):
    return bytes(b ^ 0xFF for b in data)


def flipped_sha256(blob_path):
    """The sha256 of the file at `blob_path` with every bit flipped."""
    h = hashlib.sha256()
    with open(blob_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(_flip(chunk))
    return h.hexdigest()


def validate(rule):
    sha = rule.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64:
        raise ValueError("tampered needs the file's true sha256")


def tamper_listing(entries, sha256, lfs_objects):
    """The listing `entries` with each LFS entry of object `sha256` naming the sha256 of its flipped bytes."""
    out = []
    for e in entries:
        lfs = e.get("lfs") if isinstance(e, dict) else None
        if isinstance(lfs, dict) and lfs.get("oid") == sha256 and sha256 in lfs_objects:
            blob_path, _ = lfs_objects[lfs["oid"]]
            e = dict(e, lfs=dict(lfs, oid=flipped_sha256(blob_path)))
        out.append(e)
    return out


def tamper_resolve(resp, sha256, lfs_objects):
    """The /resolve answer for object `sha256` naming the hash of its flipped bytes (X-Linked-Etag), as a
    consistent liar's would."""
    linked = [v for k, v in resp.headers if k.lower() == "x-linked-etag"]
    if not linked or linked[0].strip('"') != sha256 or sha256 not in lfs_objects:
        return resp
    blob_path, _ = lfs_objects[sha256]
    headers = [(k, v) for k, v in resp.headers if k.lower() != "x-linked-etag"]
    return Response(resp.status, headers + [("X-Linked-Etag", '"%s"' % flipped_sha256(blob_path))], resp.body,
                    file_slice=resp.file_slice, stream=resp.stream)


def tamper_bytes(resp, requested, sha256):
    """The CDN response for object `requested` with its body flipped, when it is the tampered object `sha256`."""
    if requested != sha256 or not resp.file_slice or resp.status not in (200, 206):
        return resp
    path, start, length = resp.file_slice
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(length)
    headers = [(k, v) for k, v in resp.headers if k.lower() != "etag"]
    return Response(resp.status, headers + [("ETag", '"%s"' % hashlib.sha256(_flip(data)).hexdigest())], _flip(data))
