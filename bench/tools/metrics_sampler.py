#!/usr/bin/python3
"""Polls Myriad's /metrics and writes one TSV row per poll, for bench/users_cached.sh.

Usage: metrics_sampler.py --port P [--interval 0.5] --out FILE [--route /api/users/{id}]
Columns: unix time, then the counters below (blank when a poll failed, with the error in
the last column). Runs until SIGTERM/SIGINT; every row is flushed as written, so a killed
sampler still leaves a usable file.
  ok          http_requests_total{route=ROUTE,status="200"}
  non2xx      http_requests_total{route=ROUTE} with a status outside 2xx
  redis_up    myriad_redis_connections{state="up"}  (gauge)
  redis_down  myriad_redis_connections{state="down"}
  local_hit   myriad_cache_requests_total{layer="local"}, outcome hit + negative_hit
  local_all   ... every outcome of the local layer (one per lookup)
  redis_hit   myriad_cache_requests_total{layer="redis"}, outcome hit + negative_hit
  redis_all   ... every outcome of the redis layer
  redis_bypass  outcome bypass + error of the redis layer (Redis skipped or failed)
  waits       myriad_cache_load_waits_total{cache="user"}: local misses that waited for
              another request's lookup of the same id (single-flight) instead of their own
  loads       myriad_cache_loads_total{cache="user"}
  db_queries  myriad_db_query_duration_seconds_count{statement="users_get"}
The parser (parse_metrics) is shared with cached_report.py. Standard library only.
"""

import argparse
import re
import signal
import sys
import time
import urllib.request

ROUTE = "/api/users/{id}"
COLUMNS = ["time", "ok", "non2xx", "redis_up", "redis_down", "local_hit", "local_all",
           "redis_hit", "redis_all", "redis_bypass", "waits", "loads", "db_queries", "error"]
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list:
    """Prometheus text format -> [(name, {label: value}, float)], comments skipped."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")), value))
    return out


def total(samples: list, name: str, **labels) -> float:
    """Sum of the series of `name` whose labels include `labels` (a value may be a
    predicate)."""
    s = 0.0
    for n, lab, v in samples:
        if n != name:
            continue
        ok = True
        for k, want in labels.items():
            have = lab.get(k)
            if callable(want):
                ok = have is not None and want(have)
            else:
                ok = have == want
            if not ok:
                break
        if ok:
            s += v
    return s


def summarize(samples: list, route: str = ROUTE) -> dict:
    """The counters users_cached.sh reports, from one /metrics scrape."""
    hit = lambda o: o in ("hit", "negative_hit")  # noqa: E731
    req = "myriad_cache_requests_total"
    return {
        "ok": total(samples, "http_requests_total", route=route, status="200"),
        "non2xx": total(samples, "http_requests_total", route=route,
                        status=lambda s: not s.startswith("2")),
        "redis_up": total(samples, "myriad_redis_connections", state="up"),
        "redis_down": total(samples, "myriad_redis_connections", state="down"),
        "local_hit": total(samples, req, cache="user", layer="local", outcome=hit),
        "local_all": total(samples, req, cache="user", layer="local"),
        "redis_hit": total(samples, req, cache="user", layer="redis", outcome=hit),
        "redis_all": total(samples, req, cache="user", layer="redis"),
        "redis_bypass": total(samples, req, cache="user", layer="redis",
                              outcome=lambda o: o in ("bypass", "error")),
        "waits": total(samples, "myriad_cache_load_waits_total", cache="user"),
        "loads": total(samples, "myriad_cache_loads_total", cache="user"),
        "db_queries": total(samples, "myriad_db_query_duration_seconds_count",
                            statement="users_get"),
    }


def scrape(url: str, timeout: float) -> list:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return parse_metrics(r.read().decode("utf-8", "replace"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--interval", type=float, default=0.5)
    ap.add_argument("--out", required=True)
    ap.add_argument("--route", default=ROUTE)
    args = ap.parse_args()
    url = f"http://127.0.0.1:{args.port}/metrics"
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\t".join(COLUMNS) + "\n")
        f.flush()
        next_t = time.monotonic()
        while not stop:
            now = time.time()
            try:
                s = summarize(scrape(url, timeout=max(args.interval * 4, 1.0)), args.route)
                row = [f"{now:.3f}"] + [f"{s[c]:.0f}" for c in COLUMNS[1:-1]] + [""]
            except (OSError, ValueError) as e:  # URLError is an OSError
                row = [f"{now:.3f}"] + [""] * (len(COLUMNS) - 2) + [str(e).replace("\t", " ")]
            f.write("\t".join(row) + "\n")
            f.flush()
            next_t += args.interval
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_t = time.monotonic()
    return 0


if __name__ == "__main__":
    sys.exit(main())
