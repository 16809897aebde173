"""Test instrumentation of the hub: the fault table and the request statistics/log.

Both are shared by all handler threads and guarded by their own lock. A fault rule ends by itself: it
applies to at most MAX_FAULT_TIMES requests and holds a connection at most MAX_FAULT_SECONDS; clear()
ends running stalls at once through each rule's cancel event. The actions themselves are carried out by
testhub.py's handler (and hub_hostile.py for hostile listings); here they are only validated and matched.
"""

import json
import threading

import hub_hostile
import hub_realism
import hub_tampered

MAX_FAULT_TIMES = 10000
MAX_FAULT_SECONDS = 600
LOG_LIMIT = 200000
FAULT_ACTIONS = ("status", "stall", "reset", "delay", "throttle", "corrupt", "truncate", "ignore_range",
                 "bad_content_range", "redirect_loop", "big_headers", "hostile_listing",
                 "tampered", "redirect_upstream")
HOSTS = ("hub", "cdn", "any")
ROUTES = ("api_info", "api_revision", "tree", "paths_info", "refs", "search", "resolve", "resolve_cache", "raw",
          "cdn", "other", "any")


class Faults:
    """The fault table: rules matched in order against (host, route, method, path)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1

    def add(self, spec):
        action = spec.get("action")
        if action not in FAULT_ACTIONS:
            raise ValueError("unknown fault action %r" % action)
        rule = dict(spec)
        rule.setdefault("host", "any")
        rule.setdefault("route", "any")
        rule["_hosts"] = set(_names(rule["host"], HOSTS, "host"))
        rule["_routes"] = set(_names(rule["route"], ROUTES, "route"))
        rule["nth"] = max(1, int(rule.get("nth", 1)))
        rule["times"] = int(rule.get("times", 1))
        if not 1 <= rule["times"] <= MAX_FAULT_TIMES:
            raise ValueError("times must be 1..%d" % MAX_FAULT_TIMES)
        default_seconds = {"stall": 30, "delay": 1, "throttle": 60}.get(action, 0)
        rule["seconds"] = min(float(rule.get("seconds", default_seconds)), MAX_FAULT_SECONDS)
        if action == "throttle" and float(rule.get("bytes_per_second", 0)) <= 0:
            raise ValueError("throttle needs bytes_per_second > 0")
        if int(rule.get("after_bytes", 0)) < 0:
            raise ValueError("after_bytes must be >= 0")
        if action == "bad_content_range":
            if int(rule.setdefault("shift", 4096)) == 0:
                raise ValueError("bad_content_range needs a shift other than 0")
            if rule.setdefault("mode", "body") not in ("body", "header"):
                raise ValueError("bad_content_range mode is body or header")
        if action == "redirect_loop" and rule.setdefault("mode", "pair") not in ("self", "pair"):
            raise ValueError("redirect_loop mode is self or pair")
        if action == "big_headers":
            if not 0 < int(rule.setdefault("bytes", 200000)) <= 16 << 20:
                raise ValueError("big_headers bytes must be 1..16 MiB")
            if not 1 <= int(rule.setdefault("lines", 1)) <= 100000:
                raise ValueError("big_headers lines must be 1..100000")
        if action == "hostile_listing":
            hub_hostile.validate(rule)
        if action == "tampered":
            hub_tampered.validate(rule)
        if action == "redirect_upstream":
            hub_realism.validate_redirect_upstream(rule)
        with self.lock:
            rule["id"], rule["seen"], rule["applied"] = self.next_id, 0, 0
            rule["_cancel"] = threading.Event()
            self.next_id += 1
            self.rules.append(rule)
        return rule["id"]

    def match(self, host, route, method, path):
        chosen = None
        with self.lock:
            for rule in self.rules:
                if not ({host, "any"} & rule["_hosts"]) or not ({route, "any"} & rule["_routes"]):
                    continue
                if rule.get("method") not in (None, method):
                    continue
                if rule.get("path_contains") and rule["path_contains"] not in path:
                    continue
                rule["seen"] += 1
                if chosen is None and rule["nth"] <= rule["seen"] < rule["nth"] + rule["times"]:
                    rule["applied"] += 1
                    chosen = rule
        return chosen

    def clear(self):
        with self.lock:
            for rule in self.rules:
                rule["_cancel"].set()
            self.rules = []

    def describe(self):
        with self.lock:
            return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rules]


def _names(value, allowed, what):
    """A rule's host or route: one name or a list of names -> list."""
    names = [value] if isinstance(value, str) else list(value)
    bad = [n for n in names if n not in allowed]
    if not names or bad:
        raise ValueError("unknown %s %r (one of %s, or a list of them)" % (what, bad or value, ", ".join(allowed)))
    return names


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.total = 0
            self.requests, self.methods, self.paths = {}, {}, {}
            self.bytes, self.bytes_by_route = {}, {}
            self.quota_refused = {}  # route -> requests refused by hub_realism's resolver quota
            self.log, self.seq = [], 0
            self.events = 0

    def next_event(self):
        """One tick of a counter shared by every request's arrival and answer: a request a client sends in
        reaction to an answer arrives with a larger tick than that answer's (the log's order and `seq` are the
        order in which requests finished, which a quick reaction can overtake)."""
        with self.lock:
            self.events += 1
            return self.events

    def record(self, entry):
        host, route = entry["host"], entry["route"]
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.total += 1
            for table, key in ((self.requests, route), (self.methods, entry["method"]),
                               (self.paths, entry["path"])):
                t = table.setdefault(host, {})
                t[key] = t.get(key, 0) + 1
            self.bytes[host] = self.bytes.get(host, 0) + entry["bytes"]
            t = self.bytes_by_route.setdefault(host, {})
            t[route] = t.get(route, 0) + entry["bytes"]
            if entry.get("quota_refused"):
                self.quota_refused[route] = self.quota_refused.get(route, 0) + 1
            self.log.append(entry)
            if len(self.log) > LOG_LIMIT:
                del self.log[:len(self.log) - LOG_LIMIT]

    def snapshot(self):
        with self.lock:
            return json.loads(json.dumps({
                "total": self.total, "requests": self.requests, "methods": self.methods, "paths": self.paths,
                "bytes": self.bytes, "bytes_by_route": self.bytes_by_route, "quota_refused": self.quota_refused}))

    def log_copy(self):
        with self.lock:
            return list(self.log)
