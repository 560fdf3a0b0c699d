#!/usr/bin/python3
"""Summary for bench/scale: the SLO table of the virtual-user run, its tasks, and the ab run
next to myriad-load's equivalent of it.

Usage: scale_report.py RESULTS_DIR [AB_REQUESTS AB_CONNS]
Reads scale.json (myriad-load --json), ab.txt (ab's output) and ab-equivalent.json when
present; prints Markdown and writes results.json. Exit 1 when scale.json is missing.
Standard library only.
"""

import json
import os
import re
import sys


def ab_figures(text: str) -> dict:
    def num(pattern: str, default=None):
        m = re.search(pattern, text, re.M)
        return float(m.group(1)) if m else default

    out = {
        "requests_per_second": num(r"^Requests per second:\s+([0-9.]+)"),
        "complete": num(r"^Complete requests:\s+(\d+)", 0),
        "failed": num(r"^Failed requests:\s+(\d+)", 0),
        "non2xx": num(r"^Non-2xx responses:\s+(\d+)", 0),
        "time_s": num(r"^Time taken for tests:\s+([0-9.]+)"),
    }
    for pct in ("50", "95", "99", "100"):
        out[f"p{pct}_ms"] = num(rf"^\s+{pct}%\s+(\d+)")
    return out


def main() -> int:
    folder = sys.argv[1]
    path = os.path.join(folder, "scale.json")
    if not os.path.exists(path):
        print(f"no {path}: the virtual-user run did not finish", file=sys.stderr)
        return 1
    run = json.load(open(path))
    lat = run["latency_ms"]
    err = run["errors"]
    print(f"## Scale: {run['users']:,} virtual users, {run['duration_s']:.0f} s measured "
          f"(after {run['warmup_s']:.0f} s of ramp-up and warm-up)\n")
    print(f"{run['requests']:,} requests, {run['requests_per_second']:,.0f} req/s, "
          f"p50 {lat['p50']:.2f} ms, p90 {lat['p90']:.2f} ms, p95 {lat['p95']:.2f} ms, "
          f"p99 {lat['p99']:.2f} ms, p99.9 {lat['p99.9']:.2f} ms, max {lat['max']:.2f} ms; "
          f"errors {err['total']} (connect {err['connect']}, timeout {err['timeout']}, "
          f"reset {err['reset']}, protocol {err['protocol']}, status {err['status']} "
          f"{err.get('by_status', {})})\n")
    at_read = run.get("latency_at_read_ms")
    if at_read and run.get("latency_end") == "arrival":
        print(f"Latencies end when a response reached the host (myriad-load's default). Ending "
              f"them when myriad-load read it instead (as wrk and ab do, its own wait included): "
              f"p50 {at_read['p50']:.2f} ms, p95 {at_read['p95']:.2f} ms, p99 {at_read['p99']:.2f} ms, "
              f"p99.9 {at_read['p99.9']:.2f} ms, max {at_read['max']:.2f} ms.\n")
    print("| objective | measured | result |\n|---|---|---|")
    for o in run.get("slo") or []:
        print(f"| {o['objective']} | {o['measured']} | {'PASS' if o['pass'] else 'FAIL'} |")
    print("\n| task | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|---|---|---|")
    for t in run["tasks"]:
        tl = t["latency_ms"]
        # A task with no measured request (the login, done while users were spawned in the
        # warm-up) has no latencies to show.
        ms = [f"{tl[k]:.2f}" if t["requests"] else "-" for k in ("p50", "p95", "p99", "max")]
        print(f"| {t['name']} | {t['requests']:,} | {t['requests_per_second']:,.0f} | "
              f"{' | '.join(ms)} | {t['errors']['total']} |")
    idle = [t["name"] for t in run["tasks"] if not t["requests"]]
    if idle:
        print(f"\n{', '.join(idle)}: no request in the measured time. In the accounts scenarios the "
              f"login is the on_start task: each user runs it once, as it is spawned, and all are "
              f"spawned during the warm-up (bench/login.sh measures logins).")
    summary = {"scale": {k: run.get(k) for k in ("users", "duration_s", "requests", "requests_per_second",
                                                 "latency_end", "latency_ms", "latency_at_read_ms",
                                                 "errors", "slo", "slo_pass")}}

    ab_path = os.path.join(folder, "ab.txt")
    if os.path.exists(ab_path):
        ab = ab_figures(open(ab_path).read())
        summary["ab"] = ab
        n, c = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("100000", "10000")
        print(f"\n## ab -n {n} -c {c} /api/health, and myriad-load's equivalent\n")
        print("| tool | req/s | p50 ms | p95 ms | p99 ms | max ms | failed / non-2xx |\n|---|---|---|---|---|---|---|")
        rps = ab["requests_per_second"]
        print(f"| ab (a new connection per request) | {rps if rps is None else f'{rps:,.0f}'} | {ab['p50_ms']} "
              f"| {ab['p95_ms']} | {ab['p99_ms']} | {ab['p100_ms']} | {ab['failed']:.0f} / {ab['non2xx']:.0f} |")
        eq_path = os.path.join(folder, "ab-equivalent.json")
        if os.path.exists(eq_path):
            eq = json.load(open(eq_path))
            el = eq["latency_ms"]
            summary["ab_equivalent"] = {k: eq[k] for k in ("requests", "requests_per_second", "latency_ms", "errors")}
            print(f"| myriad-load -n {n} -c {c} (keep-alive) | {eq['requests_per_second']:,.0f} | {el['p50']:.1f} "
                  f"| {el['p95']:.1f} | {el['p99']:.1f} | {el['max']:.1f} | {eq['errors']['total']} |")
    print(f"\nHTML report: {os.path.join(folder, 'scale.html')}")
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
