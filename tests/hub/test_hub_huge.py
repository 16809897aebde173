"""The huge-files repo (hub_huge.py): listed at 2^40 bytes per file, served in ranges from a sparse blob."""

import hub_huge


def test_huge_files_are_listed_at_their_size_and_served_in_ranges(hub):
    listing = hub.request("GET", "/api/models/%s/tree/main" % hub_huge.REPO).json()
    assert sorted(e["path"] for e in listing) == sorted(hub_huge.file_names())
    assert all(e["size"] == hub_huge.HUGE_SIZE and e["lfs"]["size"] == hub_huge.HUGE_SIZE for e in listing)
    assert len({e["lfs"]["oid"] for e in listing}) == hub_huge.HUGE_COUNT
    loc = hub.request("GET", "/%s/resolve/main/%s" % (hub_huge.REPO, hub_huge.file_names()[0])).headers["Location"]
    size = hub_huge.HUGE_SIZE
    for start, want in ((0, hub_huge.HEAD), (size - 8, hub_huge.TAIL), (size // 2, b"\0" * 8)):
        r = hub.request("GET", loc, {"Range": "bytes=%d-%d" % (start, start + 7)})
        assert r.status == 206 and r.body == want
        assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (start, start + 7, size)
