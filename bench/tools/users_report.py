#!/usr/bin/python3
"""Summary of a users_read.sh / users_list.sh run, from its results folder.

Usage: users_report.py read|list RESULTS_DIR
Reads meta.tsv (key<TAB>value lines the script wrote) and runs.jsonl (one object per
measured wrk run: tools/wrk_parse.py --json plus name, conns, raw). Prints a markdown
summary with the targets, and writes RESULTS_DIR/results.json (meta, runs, verdicts).
Standard library only.
"""

import json
import os
import sys

# name of the run -> (label, p99 target in ms or None)
LIST_RUNS = {
    "list_deep": ("list, limit=20 at the deep cursor", 10.0),
    "search": ("search q=<random term>, limit=20", 30.0),
}
READ_RATIO_TARGET = 0.5
READ_P99_TARGET_MS = 150.0
READ_P99_LEVEL = 10000


def load(results_dir: str) -> tuple[dict, list]:
    meta = {}
    with open(os.path.join(results_dir, "meta.tsv"), encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value
    runs = []
    path = os.path.join(results_dir, "runs.jsonl")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            runs = [json.loads(line) for line in f if line.strip()]
    return meta, runs


def sock_errs(run: dict) -> int:
    return sum(run.get(k, 0) for k in ("connect", "read", "write", "timeout"))


def sock_text(run: dict) -> str:
    total = sock_errs(run)
    if total == 0:
        return "0"
    return (f"{total} (connect {run['connect']}, read {run['read']}, write {run['write']}, "
            f"timeout {run['timeout']})")


def auth_check(label: str, run: dict, checks: list) -> None:
    """The users API needs a token: a run whose wrk script sent none (tools/auth.lua's
    "authorization (lua):" line) measured 401s, whatever its numbers say."""
    if run.get("auth"):
        checks.append((f"{label}: sent the admin token", run["auth"] == "bearer", run["auth"]))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(runs: list, first_col: str, first, ratio=None) -> list[str]:
    head = f"| {first_col} | req/s |" + (" x pgbench |" if ratio else "") + \
        " p50 ms | p99 ms | sock errs | non-2xx | statuses |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in runs:
        if "error" in r:
            lines.append(f"| {first(r)} | ERROR: {r['error']} ({r['raw']}) |")
            continue
        statuses = " ".join(f"{k}={v}" for k, v in sorted(r.get("statuses", {}).items()))
        lines.append(
            f"| {first(r)} | {r['rps']:.0f} |" + (f" {ratio(r):.2f}x |" if ratio else "") +
            f" {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {sock_text(r)} | {r['non2xx']} |"
            f" {statuses} |")
    return lines


def report_read(meta: dict, runs: list, out: list, checks: list) -> None:
    tps = float(meta["pgbench_tps"]) if meta.get("pgbench_tps") else None
    out.append(f"pgbench point select (same rows, same server): "
               f"{f'{tps:.0f} TPS' if tps else 'not measured'}")
    out.append(f"  {meta.get('pgbench_cmd', '')}")
    out.append("")
    if not runs:
        return
    out += table(runs, "conns", lambda r: r["conns"],
                 (lambda r: r["rps"] / tps) if tps else None)
    out.append("")
    for r in runs:
        if "error" in r:
            checks.append((f"{r['conns']} conns: wrk output", False, r["error"]))
            continue
        if tps:
            checks.append((f"{r['conns']} conns: req/s >= {READ_RATIO_TARGET}x pgbench",
                           r["rps"] / tps >= READ_RATIO_TARGET, f"{r['rps'] / tps:.2f}x"))
        if r["conns"] == READ_P99_LEVEL:
            checks.append((f"{r['conns']} conns: p99 <= {READ_P99_TARGET_MS:.0f} ms",
                           r["p99_ms"] <= READ_P99_TARGET_MS, f"{r['p99_ms']:.1f} ms"))
        checks.append((f"{r['conns']} conns: 0 socket errors", sock_errs(r) == 0,
                       str(sock_errs(r))))
        checks.append((f"{r['conns']} conns: 0 non-2xx", r["non2xx"] == 0, str(r["non2xx"])))
        auth_check(f"{r['conns']} conns", r, checks)
    if not any(r["conns"] == READ_P99_LEVEL for r in runs):
        out.append(f"(the p99 target applies at {READ_P99_LEVEL} connections, "
                   "which this run did not include)")
        out.append("")


def report_list(meta: dict, runs: list, results_dir: str, out: list, checks: list) -> None:
    if meta.get("cursor_depth"):
        out.append(f"deep cursor: after {meta['cursor_depth']} rows (last id "
                   f"{meta.get('cursor_last_id', '?')}), walked in {meta.get('walk_s', '?')} s "
                   f"over {meta.get('walk_requests', '?')} requests")
        out.append("")
    if runs:
        out += table(runs, "run (conns)",
                     lambda r: f"{LIST_RUNS.get(r['name'], (r['name'],))[0]} ({r['conns']})")
        out.append("")
    for r in runs:
        label, p99_target = LIST_RUNS.get(r["name"], (r["name"], None))
        if "error" in r:
            checks.append((f"{label}: wrk output", False, r["error"]))
            continue
        if p99_target is not None:
            checks.append((f"{label}: p99 <= {p99_target:.0f} ms", r["p99_ms"] <= p99_target,
                           f"{r['p99_ms']:.2f} ms"))
        checks.append((f"{label}: 0 socket errors", sock_errs(r) == 0, str(sock_errs(r))))
        checks.append((f"{label}: 0 non-2xx", r["non2xx"] == 0, str(r["non2xx"])))
        auth_check(label, r, checks)
    for name, title in (("term_counts.txt", "Search terms and their matching rows"),
                        ("explain.txt", "EXPLAIN (ANALYZE, BUFFERS)")):
        path = os.path.join(results_dir, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                out += [f"### {title}", "", "```", f.read().rstrip("\n"), "```", ""]


def finish(kind: str, meta: dict, runs: list, checks: list, out: list, results_dir: str) -> int:
    """Appends the targets to `out`, prints it, writes results.json; shared with
    cached_report.py."""
    if checks:
        out.append("Targets:")
        for name, ok, value in checks:
            out.append(f"- {name}: {value} {verdict(ok)}")
        passed = sum(1 for _, ok, _ in checks if ok)
        out.append("")
        out.append(f"targets: {passed} PASS, {len(checks) - passed} MISS")
    out.append(f"raw output: {results_dir}")
    print("\n".join(out))
    with open(os.path.join(results_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"kind": kind, "meta": meta, "runs": runs,
                   "targets": [{"target": n, "pass": ok, "value": v} for n, ok, v in checks]},
                  f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("read", "list"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, results_dir = sys.argv[1], sys.argv[2]
    meta, runs = load(results_dir)
    out = [f"## Myriad users benchmark: {meta.get('kind', kind)}", ""]
    for key in ("started", "machine", "limits", "users", "seed_s", "db_total_mb", "pool",
                "myriad_cmd", "wrk", "finished"):
        if key in meta:
            out.append(f"- {key}: {meta[key]}")
    out.append("")
    checks: list = []
    if kind == "read":
        report_read(meta, runs, out, checks)
    else:
        report_list(meta, runs, results_dir, out, checks)
    if meta.get("http_error"):
        out.append(f"HTTP NOT MEASURED: {meta['http_error']} (expected 200; the users API "
                   "is missing from this build or broken)")
        checks.append(("users API answers 200", False, meta["http_error"]))
    return finish(kind, meta, runs, checks, out, results_dir)


if __name__ == "__main__":
    sys.exit(main())
