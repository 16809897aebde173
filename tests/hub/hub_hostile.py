"""Hostile tree listings: what a broken or malicious mirror may answer to GET /api/{kind}s/{repo}/tree/...

The fault action "hostile_listing" (see testhub.py) replaces a tree response with one of CASES. Entry cases
keep every real entry of the requested listing and add crafted bad ones; response cases break the response
as a whole. Tests import this module to know what each case holds:

    CASES[name].kind          "entries" (real entries + bad ones) or "response" (the whole answer is broken)
    CASES[name].description   one line
    bad_entries(name)         the crafted bad entries of an entry case (JSON values, as sent)
    bad_names(name)           the file names (last path segment) a client must NOT show for an entry case
    good_extra(name)          entries of an entry case that ARE valid and must be listed (e.g. a 255-byte name)

A client should skip each bad entry (the real ones stay usable), and refuse a broken response as a whole,
in bounded time and memory. Every case is bounded: the biggest, "huge", streams `mb` MB (default 100) made on
the fly, never held in memory. Standard library only.
"""

import base64
import json
from urllib.parse import parse_qsl, urlencode

OID = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "0123456789abcdef" * 4


class Case:
    def __init__(self, name, kind, description):
        self.name, self.kind, self.description = name, kind, description


def _f(path, size=11, oid=OID, **extra):
    e = {"type": "file", "oid": oid, "size": size, "path": path}
    e.update(extra)
    return e


def _d(path):
    return {"type": "directory", "oid": OID, "size": 0, "path": path}


_LONG_DIR = "/".join(["seg%03d" % i + "x" * 94 for i in range(42)])  # 42 x 100 bytes: a path over 4096 bytes
_DEEP = "/".join(["d"] * 129) + "/deep-bad.txt"  # 130 segments

# name -> (description, [bad entries], [valid extra entries])
_ENTRY_CASES = {
    "dotdot": ("'..' segments", [
        _f("../escape-dotdot.txt"), _f("nested/../../escape-dotdot2.txt"), _f(".."), _d(".."),
        _f("nested/.."), _d("../escape-dotdot-dir")], []),
    "dot": ("'.' segments", [
        _f("."), _d("."), _f("./dot-bad.txt"), _f("nested/./dot-bad2.txt"), _d("./dot-bad-dir")], []),
    "absolute": ("absolute paths", [
        _f("/etc/passwd"), _f("/abs-bad.txt"), _d("/abs-bad-dir"), _f("//abs-bad2.txt")], []),
    "slash": ("empty segments: '//' inside, '/' at the end", [
        _f("slash//bad.txt"), _f("slash-bad-trailing/"), _d("slash-bad-dir/"), _f("nested//slash-bad2.txt")], []),
    "nul": ("NUL inside a name", [
        _f("nul\u0000bad.txt"), _f("\u0000"), _f("nested/\u0000/nul-bad2.txt"), _d("nul-bad\u0000dir")], []),
    "empty": ("empty, missing and non-string paths", [
        _f(""), _d(""), {"type": "file", "oid": OID, "size": 1}, _f(None), _f(42), _f(["a"]),
        _f({"p": "x"})], []),
    "long": ("names over 255 bytes, a path over 4096 bytes, a path 130 segments deep", [
        _f("x" * 256), _f("\u00e9" * 128), _d("L" * 256), _f("L" * 256 + "/long-bad-child.txt"),
        _f(_LONG_DIR + "/long-bad-path.txt"), _f(_DEEP)],
        [_f("y" * 251 + ".txt")]),  # exactly 255 bytes: valid on Linux
    "duplicate": ("the same path twice: the real entry, then a bogus one", [
        _f("config.json", size=999, oid="f" * 40), _f("README.md"), _d("nested")], []),
    "duplicate_first": ("the same path twice: a bogus entry, then the real one", [
        _f("config.json", size=999, oid="f" * 40), _f("README.md", size=5), _d("nested")], []),
    "file_and_dir": ("a file and a folder at one path", [
        _f("nested"), _f("clash")], [_f("clash/inner.txt")]),
    "sizes": ("negative, huge, fractional and non-numeric sizes", [
        _f("size-neg.bin", size=-1), _f("size-min.bin", size=-2 ** 63), _f("size-2e64.bin", size=2 ** 64),
        _f("size-2e63.bin", size=2 ** 63), _f("size-over-cap.bin", size=2 ** 50 + 1), _f("size-1e30.bin", size=1e30),
        _f("size-frac.bin", size=1.5), _f("size-str.bin", size="12"), _f("size-null.bin", size=None),
        _f("size-bool.bin", size=True),
        _f("size-lfs-neg.bin", lfs={"oid": SHA256, "size": -5, "pointerSize": 134}),
        _f("size-lfs-huge.bin", lfs={"oid": SHA256, "size": 2 ** 64 + 5, "pointerSize": 134})], []),
    "hashes": ("non-hex, short, long, missing and non-string hashes", [
        _f("hash-nonhex.txt", oid="z" * 40), _f("hash-short.txt", oid="abc"), _f("hash-long.txt", oid="a" * 41),
        _f("hash-num.txt", oid=12345), _f("hash-null.txt", oid=None),
        {"type": "file", "size": 3, "path": "hash-missing.txt"},
        _f("hash-lfs-nonhex.bin", lfs={"oid": "g" * 64, "size": 3, "pointerSize": 134}),
        _f("hash-lfs-short.bin", lfs={"oid": "a" * 63, "size": 3, "pointerSize": 134}),
        _f("hash-lfs-notobj.bin", lfs="yes"),
        _f("hash-lfs-missing.bin", lfs={"size": 3, "pointerSize": 134})], []),
    "types": ("unknown or missing types, entries that are not objects", [
        {"type": "symlink", "oid": OID, "size": 3, "path": "type-symlink.txt"},
        {"type": "submodule", "oid": OID, "size": 0, "path": "type-submodule"},
        {"oid": OID, "size": 3, "path": "type-missing.txt"},
        {"type": 7, "oid": OID, "size": 3, "path": "type-num.txt"},
        42, "type-string-entry", None, [], [_f("type-nested-list.txt")]], []),
    "control_names": ("valid names holding a line break, ESC sequences, CR and a C1 CSI (not in the repo's "
                      "bytes: reading them fails, and the failure is logged)", [],
                      [_f("ctl\n2026-01-01T00:00:00.000Z ERROR hfmirror: FORGED\u001b[2J.txt"),
                       _f("ctl-term\r\u001b]0;title\u0007\u009b31m.txt")]),
}

_RESPONSE_CASES = {
    "json_truncated": "a JSON array cut off in the middle of an entry",
    "json_not_array": "a JSON object instead of an array",
    "json_garbage": "bytes that are not JSON (nor UTF-8)",
    "json_deep": "an array nested a million levels deep (2 MB)",
    "json_raw_nul": "a raw NUL and control bytes inside a JSON string (invalid JSON)",
    "huge": "one page of `mb` MB (default 100) of valid entries, streamed",
    "huge_paged": "`mb` MB (default 100) of valid entries over `pages` pages (default 4)",
    "pagination_loop": "page 1 -> cursor c1 -> cursor c2 -> back to c1, forever",
    "pagination_endless": "a fresh cursor on every page, forever (each page repeats the real entries)",
    "pagination_offsite": "Link rel=next pointing to another host (127.0.0.3, nothing listening)",
    "oversized_link": "valid entries with a `header_bytes` (default 200 KB) Link rel=next header",
    "many_headers": "valid entries with `header_lines` (default 4000) extra header lines of 200 bytes",
    "deep": "`entries` (default 15000) directory entries 121 segments deep, each with its own 120 parents "
            "(55 MB, streamed): 1.8 million implied parent directories",
    "empty_objects": "one page of `mb` MB (default 60) of `{}` entries, streamed",
}

CASES = {}
for _name, (_desc, _bad, _extra) in _ENTRY_CASES.items():
    CASES[_name] = Case(_name, "entries", _desc)
for _name, _desc in _RESPONSE_CASES.items():
    CASES[_name] = Case(_name, "response", _desc)
ENTRY_CASES = [n for n, c in CASES.items() if c.kind == "entries"]
RESPONSE_CASES = [n for n, c in CASES.items() if c.kind == "response"]


def bad_entries(case):
    return list(_ENTRY_CASES[case][1])


def good_extra(case):
    return list(_ENTRY_CASES[case][2])


def bad_names(case):
    """File names (last path segment) that a client must not show. Duplicates are left out (the real
    entry of the same name is shown once), and so are names that are not strings."""
    out = set()
    for e in bad_entries(case):
        if case in ("duplicate", "duplicate_first"):
            continue
        if isinstance(e, dict) and isinstance(e.get("path"), str) and e["path"]:
            last = e["path"].rstrip("/").rsplit("/", 1)[-1]
            for name in (last, last.split("\0", 1)[0]):  # also what a C string would cut it to
                if name and name not in (".", ".."):
                    out.add(name)
    if case == "file_and_dir":
        out.discard("clash")  # a folder named clash is listed (for clash/inner.txt); the file is not
        out.discard("nested")
    return out


def validate(spec):
    """Raises ValueError on a bad rule for the hostile_listing action."""
    case = spec.get("case")
    if case not in CASES:
        raise ValueError("hostile_listing needs case, one of: %s" % ", ".join(sorted(CASES)))
    mb = float(spec.get("mb", 100))
    if not 0 < mb <= 1024:
        raise ValueError("mb must be in (0, 1024]")
    if not 1 <= int(spec.get("pages", 4)) <= 1000:
        raise ValueError("pages must be 1..1000")
    if not 0 < int(spec.get("header_bytes", 200000)) <= 16 << 20:
        raise ValueError("header_bytes must be 1..16 MiB")
    if not 0 < int(spec.get("entries", 15000)) <= 1000000:
        raise ValueError("entries must be 1..1000000")
    if not 0 < int(spec.get("header_lines", 4000)) <= 100000:
        raise ValueError("header_lines must be 1..100000")


# -------------------------------------------------------------------------------------------- building

class Context:
    """What a case needs to know about the request: base URL of the listener, raw path and query."""

    def __init__(self, base_url, raw_path, query):
        self.base_url, self.raw_path, self.query = base_url, raw_path, query
        self.params = dict(parse_qsl(query, keep_blank_values=True))

    def url_with(self, **params):
        pairs = [(k, v) for k, v in parse_qsl(self.query, keep_blank_values=True) if k not in params]
        pairs += [(k, v) for k, v in params.items() if v is not None]
        return "%s%s?%s" % (self.base_url, self.raw_path, urlencode(pairs))


def _json_bytes(obj):
    return json.dumps(obj, ensure_ascii=True).encode()


def _cursor(token):
    return base64.urlsafe_b64encode(json.dumps({"hostile": token}).encode()).decode()


def _cursor_token(value):
    if not value:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(value.encode()))["hostile"]
    except (ValueError, KeyError, TypeError):
        return None


def _link(url):
    return ("Link", '<%s>; rel="next"' % url)


class Built:
    """A case's answer: status, headers, and a body as bytes or as (length, chunk generator factory)."""

    def __init__(self, status=200, headers=(), body=b"", stream=None):
        self.status, self.headers, self.body, self.stream = status, list(headers), body, stream


JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]


def _huge_stream(mb, page, pages):
    """A valid JSON array of fixed-width file entries, about mb MB over `pages` pages; -> (length, factory)."""
    template = '{"type":"file","oid":"%040x","size":1,"path":"huge/p%03d/f%08d.txt"}'
    width = len(template % (0, 0, 0))
    total = int(mb * 1000 * 1000)
    per_page = max(1, -(-(total // pages) // (width + 1)))  # rounded up: at least mb MB in all
    length = 2 + per_page * width + (per_page - 1)

    def chunks():
        yield b"["
        batch = 8192
        for start in range(0, per_page, batch):
            n = min(batch, per_page - start)
            text = ",".join(template % (page * per_page + start + i, page, start + i) for i in range(n))
            if start + n < per_page:
                text += ","
            yield text.encode()
        yield b"]"
    return length, chunks


_DEEP_SEGMENTS = 121
_DEEP_SEGMENT = "s%03d" + "x" * 26  # 30 bytes: 121 of them (with slashes) stay under the 4096-byte path cap


def _deep_stream(count):
    """`count` directory entries, each _DEEP_SEGMENTS segments deep under its own top folder, so that no two
    share a parent: -> (length, factory). About 3.7 KB each."""
    tail = "/".join(_DEEP_SEGMENT % i for i in range(1, _DEEP_SEGMENTS))

    def entry(n):
        return '{"type":"directory","oid":"%s","size":0,"path":"%s/%s"}' % (OID, "e%06d" % n + "x" * 23, tail)
    width = len(entry(0))  # every entry has the same width
    length = 2 + count * width + (count - 1)

    def chunks():
        yield b"["
        for n in range(count):
            yield (entry(n) + ("," if n + 1 < count else "")).encode()
        yield b"]"
    return length, chunks


def _empty_objects_stream(mb):
    """`[{},{},...]` of about mb MB: -> (length, factory)."""
    count = max(1, int(mb * 1000 * 1000) // 3)
    length = 2 + count * 2 + (count - 1)

    def chunks():
        yield b"["
        batch = 65536
        for start in range(0, count, batch):
            n = min(batch, count - start)
            yield (",".join(["{}"] * n) + ("," if start + n < count else "")).encode()
        yield b"]"
    return length, chunks


def build(case, real_entries, ctx, spec):
    """-> Built for `case`, given the real entries of the listing asked for."""
    if case in _ENTRY_CASES:
        bad = bad_entries(case)
        extra = good_extra(case)
        half = {"duplicate": 0, "duplicate_first": len(bad)}.get(case, len(bad) // 2)
        entries = bad[:half] + list(real_entries) + extra + bad[half:]
        return Built(200, JSON_HEADERS, _json_bytes(entries))
    real = _json_bytes(list(real_entries))
    if case == "json_truncated":
        return Built(200, JSON_HEADERS, real[:max(1, len(real) // 2)])
    if case == "json_not_array":
        return Built(200, JSON_HEADERS, _json_bytes({"entries": list(real_entries), "error": None}))
    if case == "json_garbage":
        return Built(200, JSON_HEADERS, b"\xff\xfe\x00garbage{[\x80\x81" * 64)
    if case == "json_deep":
        depth = 1000000
        return Built(200, JSON_HEADERS, b"[" * depth + b"]" * depth)
    if case == "json_raw_nul":
        return Built(200, JSON_HEADERS,
                     b'[{"type":"file","oid":"%s","size":1,"path":"raw\x00nul\x01.txt"}]' % OID.encode())
    if case == "huge":
        return Built(200, JSON_HEADERS, stream=_huge_stream(float(spec.get("mb", 100)), 0, 1))
    if case == "huge_paged":
        pages = int(spec.get("pages", 4))
        token = _cursor_token(ctx.params.get("cursor"))
        page = token if isinstance(token, int) and 0 <= token < pages else 0
        headers = list(JSON_HEADERS)
        if page + 1 < pages:
            headers.append(_link(ctx.url_with(cursor=_cursor(page + 1))))
        return Built(200, headers, stream=_huge_stream(float(spec.get("mb", 100)), page, pages))
    if case == "deep":
        return Built(200, JSON_HEADERS, stream=_deep_stream(int(spec.get("entries", 15000))))
    if case == "empty_objects":
        return Built(200, JSON_HEADERS, stream=_empty_objects_stream(float(spec.get("mb", 60))))
    if case == "pagination_loop":
        token = _cursor_token(ctx.params.get("cursor"))
        nxt = {None: "c1", "c1": "c2", "c2": "c1"}.get(token, "c1")
        return Built(200, JSON_HEADERS + [_link(ctx.url_with(cursor=_cursor(nxt)))], real)
    if case == "pagination_endless":
        token = _cursor_token(ctx.params.get("cursor"))
        n = token + 1 if isinstance(token, int) else 1
        return Built(200, JSON_HEADERS + [_link(ctx.url_with(cursor=_cursor(n)))], real)
    if case == "pagination_offsite":
        offsite = "http://127.0.0.3:9" + ctx.url_with(cursor=_cursor("offsite"))[len(ctx.base_url):]
        return Built(200, JSON_HEADERS + [_link(offsite)], real)
    if case == "oversized_link":
        n = int(spec.get("header_bytes", 200000))
        return Built(200, JSON_HEADERS + [_link(ctx.url_with(cursor=_cursor("big"), pad="p" * n))], real)
    if case == "many_headers":
        n = int(spec.get("header_lines", 4000))
        pad = [("X-Hub-Padding-%05d" % i, "v" * 180) for i in range(n)]
        return Built(200, JSON_HEADERS + pad, real)
    raise ValueError("unknown hostile case %r" % case)
