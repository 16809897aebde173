"""/.hfmirror/ through a real mount: stats.json (parsed) and metrics (Prometheus text, every sample typed)
follow what reads did, and the folder is hidden from `ls` of the root."""

import errno
import json
import os
import re
import time

TINY = "hfm-test/tiny-model"


def parse_prometheus(text):
    """{metric name with labels: value}; fails on a sample whose metric has no # TYPE line before it."""
    typed, samples = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line[7:].split()
            assert kind in ("counter", "gauge"), line
            typed.add(name)
        elif line and not line.startswith("#"):
            m = re.match(r'^(hfmirror_[a-z_]+)(\{[^}]*\})? (\S+)$', line)
            assert m, "not a sample: %r" % line
            assert m.group(1) in typed, "no # TYPE for %s" % m.group(1)
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def test_stats_and_metrics_follow_the_reads(hub, mount):
    m = mount()
    ctl = m.path / ".hfmirror"
    assert ".hfmirror" not in os.listdir(m.path)
    assert sorted(os.listdir(ctl)) == ["metrics", "stats.json"]
    before = json.loads((ctl / "stats.json").read_text())
    assert before["bytes_fetched"] == 0
    assert [e["url"] for e in before["endpoints"]] == [hub.url]

    repo = hub.manifest.repo(TINY)
    total = 0
    for path in repo.files():
        total += len((m.path / "hfm-test" / "tiny-model" / path).read_bytes())
    # A reader gets a block's bytes as they arrive; the endpoint's own count
    # is taken when its GET returns, a moment later.
    deadline = time.monotonic() + 30
    after = json.loads((ctl / "stats.json").read_text())
    while after["fetches_in_flight"] > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        after = json.loads((ctl / "stats.json").read_text())
    assert after["fetches_in_flight"] == 0, after
    assert after["bytes_served"] >= total > 0
    assert after["bytes_fetched"] >= total
    assert after["endpoints"][0]["healthy"] is True and after["endpoints"][0]["bytes"] >= total
    assert after["open_files"] == 0

    metrics = parse_prometheus((ctl / "metrics").read_text())
    assert metrics["hfmirror_fetched_bytes_total"] >= total
    assert metrics['hfmirror_endpoint_up{endpoint="%s"}' % hub.url] == 1
    assert 0 <= metrics["hfmirror_cache_hit_ratio"] <= 1


def test_control_files_are_read_only(hub, mount):
    m = mount()
    for attempt in (lambda: open(m.path / ".hfmirror" / "stats.json", "w"),
                    lambda: os.mkdir(m.path / ".hfmirror" / "x")):
        try:
            attempt()
        except OSError as e:
            assert e.errno == errno.EROFS
        else:
            raise AssertionError("a write into the control folder succeeded")
