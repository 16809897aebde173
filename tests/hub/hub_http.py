"""HTTP pieces the test hub answers with: responses, Hub-style errors, S3-style errors, byte ranges.

A Response body is bytes or a file slice (path, offset, length) that the handler streams from disk.
"""

import json
import time
from urllib.parse import unquote_to_bytes


def truthy(value):
    return value is not None and value.lower() in ("1", "true", "yes")


def iso_time(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ts))


def decode_path(raw):
    """Percent-decode a raw path piece to text. Raw UTF-8 arrives as latin-1 from http.server."""
    return unquote_to_bytes(raw.encode("latin-1", "replace")).decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------ responses

class Response:
    """status, headers [(name, value)], and a body: bytes, a file slice (path, offset, length), or a stream
    (length, factory): factory() yields the body's bytes in pieces, `length` in all, made as they are sent."""

    def __init__(self, status, headers=(), body=b"", file_slice=None, stream=None):
        self.status, self.headers, self.body, self.file_slice = status, list(headers), body, file_slice
        self.stream = stream

    @property
    def length(self):
        if self.stream:
            return self.stream[0]
        return self.file_slice[2] if self.file_slice else len(self.body)


class HubError(Exception):
    def __init__(self, status, message, code=None, headers=()):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, list(headers)

    def response(self):
        headers = [("Content-Type", "application/json; charset=utf-8"), ("X-Error-Message", self.message)]
        if self.code:
            headers.append(("X-Error-Code", self.code))
        return Response(self.status, headers + self.headers, json.dumps({"error": self.message}).encode())


def json_response(obj, status=200, headers=()):
    body = json.dumps(obj, ensure_ascii=False).encode()
    return Response(status, [("Content-Type", "application/json; charset=utf-8")] + list(headers), body)


def s3_error(status, code, message):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>TESTHUB</RequestId><HostId>testhub</HostId></Error>' % (code, message)).encode()
    return Response(status, [("Content-Type", "application/xml")], body)


def header_value(headers, name):
    """The first value of header `name` (any case) in a [(name, value)] list, or None."""
    name = name.lower()
    return next((v for k, v in headers if k.lower() == name), None)


def parse_range(header, size):
    """-> None (serve all), (start, end) inclusive, or 'unsatisfiable'. Malformed or multi-range headers are
    ignored, as S3 and the Hub do."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    spec = header[6:].strip()
    first, dash, last = spec.partition("-")
    if not dash:
        return None
    try:
        if first == "":
            n = int(last)
            if n <= 0 or size == 0:
                return "unsatisfiable"
            return (max(0, size - n), size - 1)
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start > end and last:
        return None  # syntactically invalid: ignored
    if start >= size:
        return "unsatisfiable"
    return (start, min(end, size - 1))


def ranged_file(path, size, range_header, headers):
    """200/206/416 Response for a file of `size` bytes at `path`; `headers` go on all of them."""
    r = parse_range(range_header, size)
    headers = headers + [("Accept-Ranges", "bytes")]
    if r == "unsatisfiable":
        return Response(416, headers + [("Content-Range", "bytes */%d" % size),
                                        ("Content-Type", "text/plain")], b"Range Not Satisfiable")
    if r is None:
        return Response(200, headers, file_slice=(path, 0, size))
    start, end = r
    return Response(206, headers + [("Content-Range", "bytes %d-%d/%d" % (start, end, size))],
                    file_slice=(path, start, end - start + 1))
