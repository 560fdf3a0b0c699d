#!/usr/bin/python3
"""Summary of a users_cached.sh run, from its results folder.

Usage: cached_report.py RESULTS_DIR
Reads meta.tsv, runs.jsonl (one object per measured wrk run: tools/wrk_parse.py --json plus
name, conns, kind, t0/t1 and the snapshot labels), snapshots.tsv with metrics/<label>.prom
(Myriad's /metrics and PostgreSQL's counters before and after each run), and for the
Redis-down runs the sampler's TSV and the events TSV. Prints a markdown summary with the
targets and writes RESULTS_DIR/results.json. Standard library only.
"""

import csv
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers it imports
from metrics_sampler import parse_metrics, summarize  # noqa: E402
from users_report import auth_check, finish, load, sock_errs, sock_text  # noqa: E402

RPS_RATIO_TARGET = 0.7
P99_RATIO_TARGET = 2.0


def load_snapshots(results_dir: str) -> dict:
    snaps = {}
    path = os.path.join(results_dir, "snapshots.tsv")
    if not os.path.exists(path):
        return snaps
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            prom = os.path.join(results_dir, "metrics", row["label"] + ".prom")
            counters = None
            if os.path.exists(prom) and os.path.getsize(prom) > 0:
                with open(prom, encoding="utf-8", errors="replace") as p:
                    counters = summarize(parse_metrics(p.read()))
            num = lambda v: float(v) if v not in (None, "") else None  # noqa: E731
            snaps[row["label"]] = {"time": float(row["time"]), "metrics": counters,
                                   "xact": num(row.get("xact_commit")),
                                   "selects": num(row.get("point_selects"))}
    return snaps


def cache_stats(d: dict, seconds: float) -> dict:
    """Hit ratios and rates from counter deltas `d` (summarize() keys) over `seconds`."""
    lookups = d["local_all"] or d["redis_all"]  # every lookup starts in the local layer
    hits = d["local_hit"] + d["redis_hit"]
    out = {"lookups": lookups, "hit_ratio": hits / lookups if lookups else None,
           "local_hit_ratio": d["local_hit"] / lookups if lookups else None,
           "redis_share": d["redis_hit"] / lookups if lookups else None,
           "redis_hit_ratio": d["redis_hit"] / d["redis_all"] if d["redis_all"] else None,
           "waits_share": d.get("waits", 0) / lookups if lookups else None,
           "no_db_ratio": 1 - d["loads"] / lookups if lookups else None,
           "redis_bypass": d["redis_bypass"], "loads": d["loads"], "waits": d.get("waits", 0),
           "db_qps": d["db_queries"] / seconds if seconds > 0 else None,
           "ok": d["ok"], "non2xx": d["non2xx"]}
    return out


def run_stats(run: dict, snaps: dict) -> dict:
    """Cache and database figures of one measured Myriad run (snapshot deltas)."""
    b, a = snaps.get(run.get("snap_before")), snaps.get(run.get("snap_after"))
    if not b or not a or not b["metrics"] or not a["metrics"]:
        return {}
    seconds = run["t1"] - run["t0"]
    d = {k: a["metrics"][k] - b["metrics"][k] for k in a["metrics"]}
    out = cache_stats(d, seconds)
    out["seconds"] = seconds
    if a["xact"] is not None and b["xact"] is not None:
        out["pg_xact_s"] = (a["xact"] - b["xact"]) / seconds
    if a["selects"] is not None and b["selects"] is not None:
        out["pg_selects_s"] = (a["selects"] - b["selects"]) / seconds
    return out


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def num(x, fmt="{:.0f}") -> str:
    return "-" if x is None else fmt.format(x)


def errors(run: dict) -> int:
    return sock_errs(run) + run.get("non2xx", 0)


def report_levels(runs: list, snaps: dict, out: list, checks: list) -> None:
    levels = sorted({r["conns"] for r in runs})
    by = {(r["name"], r["conns"]): r for r in runs}
    out += ["| conns | server | req/s | x nginx | p50 ms | p99 ms | x nginx | sock errs | "
            "non-2xx | statuses |", "|" + "---|" * 10]
    for c in levels:
        ng = by.get(("nginx", c))
        for name in ("nginx", "myriad"):
            r = by.get((name, c))
            if r is None:
                continue
            if "error" in r:
                out.append(f"| {c} | {name} | ERROR: {r['error']} ({r['raw']}) |")
                continue
            ok_ng = name == "myriad" and ng and "error" not in ng
            rps_x = f"{r['rps'] / ng['rps']:.2f}x" if ok_ng and ng["rps"] else ""
            p99_x = f"{r['p99_ms'] / ng['p99_ms']:.2f}x" if ok_ng and ng["p99_ms"] else ""
            statuses = " ".join(f"{k}={v}" for k, v in sorted(r.get("statuses", {}).items()))
            out.append(f"| {c} | {name} | {r['rps']:.0f} | {rps_x} | {r['p50_ms']:.2f} | "
                       f"{r['p99_ms']:.2f} | {p99_x} | {sock_text(r)} | {r['non2xx']} | "
                       f"{statuses} |")
    out.append("")
    out += ["Cache and database during each Myriad run (deltas of /metrics and PostgreSQL's "
            "statistics between just before and just after the run):", "",
            "| conns | lookups | hit ratio | local hits | Redis hits | coalesced | DB loads | "
            "without DB | Myriad DB queries/s | PG xact/s | PG point selects/s |",
            "|" + "---|" * 11]
    for c in levels:
        r = by.get(("myriad", c))
        if r is None or "error" in r:
            continue
        s = run_stats(r, snaps)
        r["cache"] = s
        if not s:
            out.append(f"| {c} | (no /metrics snapshot) |")
            continue
        out.append(f"| {c} | {s['lookups']:.0f} | {pct(s['hit_ratio'])} | "
                   f"{pct(s['local_hit_ratio'])} | {pct(s['redis_share'])} | "
                   f"{pct(s['waits_share'])} | {s['loads']:.0f} | {pct(s['no_db_ratio'])} | "
                   f"{num(s['db_qps'], '{:.1f}')} | {num(s.get('pg_xact_s'), '{:.1f}')} | "
                   f"{num(s.get('pg_selects_s'), '{:.1f}')} |")
    out += ["", "lookups: one per request (myriad_cache_requests_total, local layer). hit ratio = "
            "(local + Redis hits, a cached \"not found\" included) / lookups; local hits, Redis "
            "hits and coalesced are shares of all lookups; coalesced = local misses that waited "
            "for another request's lookup of the same id (myriad_cache_load_waits_total); "
            "without DB = 1 - DB loads / lookups. In-process entries live --cache-local-ttl "
            "(1 min by default) while the invalidation feed is up, --cache-local-ttl-degraded "
            "(5 s) while it is down. "
            "Myriad DB queries/s: myriad_db_query_duration_seconds_count{statement=\"users_get\"}; "
            "PG xact/s (pg_stat_database, flushed by backends about once a second) includes "
            "the benchmark's own statistics query after the run; PG point selects/s: "
            "pg_stat_statements calls of the users point select.", ""]
    for c in levels:
        r, ng = by.get(("myriad", c)), by.get(("nginx", c))
        if r is None or "error" in r:
            checks.append((f"{c} conns: Myriad wrk output", False, r["error"] if r else "missing"))
            continue
        if ng and "error" not in ng and ng["rps"] and ng["p99_ms"]:
            x = r["rps"] / ng["rps"]
            checks.append((f"{c} conns: req/s >= {RPS_RATIO_TARGET}x nginx", x >= RPS_RATIO_TARGET,
                           f"{x:.2f}x ({r['rps']:.0f} / {ng['rps']:.0f})"))
            x = r["p99_ms"] / ng["p99_ms"]
            checks.append((f"{c} conns: p99 <= {P99_RATIO_TARGET:.0f}x nginx",
                           x <= P99_RATIO_TARGET,
                           f"{x:.2f}x ({r['p99_ms']:.2f} / {ng['p99_ms']:.2f} ms)"))
        else:
            checks.append((f"{c} conns: nginx ceiling", False, "not measured"))
        checks.append((f"{c} conns: 0 errors (socket + non-2xx)", errors(r) == 0,
                       f"{sock_errs(r)} socket, {r['non2xx']} non-2xx"))
        auth_check(f"{c} conns, Myriad", r, checks)


def load_samples(path: str) -> list:
    rows = []
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row.get("error") or not row.get("ok"):
                continue
            rows.append({k: float(v) for k, v in row.items() if k != "error" and v != ""})
    return rows


def window(rows: list, t0: float, t1: float):
    """Counter deltas between the first and last sample inside [t0, t1] and the seconds."""
    inside = [r for r in rows if t0 <= r["time"] <= t1]
    if len(inside) < 2:
        return None, 0.0
    a, b = inside[0], inside[-1]
    return {k: b[k] - a[k] for k in b if k != "time"}, b["time"] - a["time"]


def report_down(run: dict, recovery, snaps: dict, results_dir: str, out: list,
                checks: list) -> None:
    c = run["conns"]
    out.append(f"### Redis stopped mid-run, {c} connections")
    out.append("")
    if "error" in run:
        out.append(f"wrk output: ERROR {run['error']} ({run['raw']})")
        checks.append((f"Redis down, {c} conns: wrk output", False, run["error"]))
        return
    events = {}
    with open(os.path.join(results_dir, run["events"]), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            events[k] = float(v)
    rows = load_samples(os.path.join(results_dir, run["samples"]))
    t0 = events["wrk_start"]
    t_end = events.get("wrk_end", run["t1"])
    stop, stopped = events.get("redis_stop"), events.get("redis_stopped")
    start, started = events.get("redis_start"), events.get("redis_started")
    up_before = run.get("redis_up_before", 0)
    seen_down = next((r["time"] for r in rows if stop and r["time"] >= stop
                      and r.get("redis_down", 0) > 0), None)
    back = next((r["time"] for r in rows if started and r["time"] >= started
                 and r.get("redis_up", 0) >= up_before and r.get("redis_down", 0) == 0), None)
    rel = lambda t: "-" if t is None else f"{t - t0:.1f} s"  # noqa: E731
    out.append(f"wrk {run.get('duration_s', '?')} s: {run['rps']:.0f} req/s overall, p50 "
               f"{run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.2f} ms, {sock_text(run)} socket "
               f"errors, {run['non2xx']} non-2xx")
    out.append(f"Redis stopped at {rel(stop)} (down by {rel(stopped)}), Myriad saw it down at "
               f"{rel(seen_down)}; started again at {rel(start)} (answering by "
               f"{rel(started)}); Myriad's connections up again at {rel(back)}"
               + (f" ({back - started:.1f} s after the restart)" if back and started else
                  " (NOT reconnected)"))
    out.append("")
    phases = [("before", t0, stop or t_end), ("stopping Redis", stop, stopped),
              ("Redis down", stopped, start), ("restart to reconnect", start, back),
              ("after (reconnected)", back, t_end)]
    out += ["| phase | seconds | req/s (200) | non-2xx | hit ratio | local hits | "
            "Redis hits | Redis skipped/failed | without DB | DB queries/s |", "|" + "---|" * 10]
    stats = {}
    for label, a, b in phases:
        if a is None or b is None:
            out.append(f"| {label} | - |")
            continue
        d, secs = window(rows, a, b)
        if d is None or secs <= 0:
            out.append(f"| {label} | {max(b - a, 0):.1f} | (fewer than 2 samples) |")
            continue
        s = cache_stats(d, secs)
        s["rps"] = d["ok"] / secs
        stats[label] = s
        out.append(f"| {label} | {secs:.1f} | {s['rps']:.0f} | {d['non2xx']:.0f} | "
                   f"{pct(s['hit_ratio'])} | {pct(s['local_hit_ratio'])} | "
                   f"{pct(s['redis_share'])} | {d['redis_bypass']:.0f} | "
                   f"{pct(s['no_db_ratio'])} | {num(s['db_qps'], '{:.0f}')} |")
    out.append("")
    per_s = []
    prev = None
    for r in rows:
        if r["time"] < t0 - 0.25 or r["time"] > t_end + 0.25:
            continue
        if prev is not None and r["time"] > prev["time"]:
            rate = (r["ok"] - prev["ok"]) / (r["time"] - prev["time"])
            mark = "*" if r.get("redis_down", 0) > 0 else " "
            per_s.append(f"{r['time'] - t0:5.1f}s {rate / 1000:6.1f}k{mark}")
        prev = r
    if per_s:
        out.append("req/s (200) per 0.5 s sample, * = Myriad counts Redis connections down:")
        out.append("```")
        for i in range(0, len(per_s), 6):
            out.append("  ".join(per_s[i:i + 6]))
        out.append("```")
        out.append("")
    before, down = stats.get("before"), stats.get("Redis down")
    if before and down and before["rps"]:
        out.append(f"throughput while Redis was down: {down['rps']:.0f} req/s, "
                   f"{down['rps'] / before['rps']:.2f}x the {before['rps']:.0f} before the outage")
    after = stats.get("after (reconnected)")
    if after:
        out.append(f"rest of the run after reconnecting: {after['rps']:.0f} req/s, hit ratio "
                   f"{pct(after['hit_ratio'])} (Redis restarts empty and refills from the "
                   "database as in-process entries expire)")
    run["phases"] = stats
    run["reconnected_after_s"] = (back - started) if back and started else None
    checks.append((f"Redis down, {c} conns: 0 errors (socket + non-2xx)", errors(run) == 0,
                   f"{sock_errs(run)} socket, {run['non2xx']} non-2xx"))
    checks.append((f"Redis down, {c} conns: Myriad reconnects after the restart", back is not None,
                   f"{back - started:.1f} s" if back and started else "not within 10 s"))
    rec = recovery
    if rec is None:
        out.append("")
        return
    if "error" in rec:
        out.append(f"after recovery: wrk output ERROR {rec['error']} ({rec['raw']})")
        out.append("")
        return
    s = run_stats(rec, snaps)
    rec["cache"] = s
    out.append(f"after recovery, a fresh {rec['t1'] - rec['t0']:.0f} s run at {c} connections: "
               f"{rec['rps']:.0f} req/s, p99 {rec['p99_ms']:.2f} ms, {sock_text(rec)} socket "
               f"errors, {rec['non2xx']} non-2xx; hit ratio {pct(s.get('hit_ratio'))} (local "
               f"{pct(s.get('local_hit_ratio'))}, Redis {pct(s.get('redis_share'))}), without DB "
               f"{pct(s.get('no_db_ratio'))}, Myriad DB queries/s {num(s.get('db_qps'), '{:.1f}')}")
    out.append("")
    checks.append((f"after recovery, {c} conns: 0 errors (socket + non-2xx)", errors(rec) == 0,
                   f"{sock_errs(rec)} socket, {rec['non2xx']} non-2xx"))


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results_dir = sys.argv[1]
    meta, runs = load(results_dir)
    snaps = load_snapshots(results_dir)
    out = ["## Myriad users benchmark: cached GET /api/users/{id} against nginx", ""]
    for key in ("started", "machine", "limits", "users", "hot", "seed_s", "db_total_mb",
                "redis", "pool", "myriad_cmd", "rate_limit", "nginx", "response_myriad",
                "response_nginx", "wrk", "pg_stats", "fill_start", "levels", "finished"):
        if key in meta:
            out.append(f"- {key}: {meta[key]}")
    out.append("")
    checks: list = []
    level_runs = [r for r in runs if r.get("kind", "level") == "level"]
    down_runs = [r for r in runs if r.get("kind") == "redis_down"]
    recoveries = {r["conns"]: r for r in runs if r.get("kind") == "recovery"}
    if level_runs:
        report_levels(level_runs, snaps, out, checks)
    if down_runs:
        out.append(f"Redis-down runs: {meta.get('redis_down', '')}")
        out.append("")
        for r in down_runs:
            key = f"fill_{r['name']}"
            if key in meta:
                out.append(f"cache fill before it: {meta[key]}")
                out.append("")
            report_down(r, recoveries.get(r["conns"]), snaps, results_dir, out, checks)
    if meta.get("http_error"):
        out.append(f"HTTP NOT MEASURED: {meta['http_error']}")
        checks.append(("users API answers 200 with the cache", False, meta["http_error"]))
    return finish("cached", meta, runs, checks, out, results_dir)


if __name__ == "__main__":
    sys.exit(main())
