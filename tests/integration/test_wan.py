"""The wan_hub fixture: a mount on a test hub reached through tests/netem/latency_proxy pays the round trips
on both the hub and the CDN, and reads the right bytes."""

import time

RTT_MS = 40


def test_a_read_through_the_wan_hub_pays_round_trips_and_gets_the_bytes(wan_hub, mount):
    w = wan_hub(RTT_MS)
    m = mount(endpoint=w.url)
    path = m.path / "hfm-test" / "large-model" / "large.bin"
    want = w.hub.manifest.repo("hfm-test/large-model").read("large.bin")[:1 << 20]
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        got = f.read(1 << 20)
    elapsed = time.perf_counter() - start
    assert got == want
    # the bytes came from the CDN, whose only way in is its proxy (the signed URLs name the proxy)
    assert w.hub.count("cdn", host="cdn") >= 1
    assert w.hub.count("resolve") + w.hub.count("tree") + w.hub.count("paths_info") >= 1
    # at least a fresh connection to the CDN (two RTTs); the lookup on the hub costs more on top
    assert elapsed >= 2 * RTT_MS / 1000, "read in %.3fs through an RTT of %d ms" % (elapsed, RTT_MS)
    assert w.hub_proxy.alive() and w.cdn_proxy.alive()
