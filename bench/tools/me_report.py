#!/usr/bin/python3
"""Summary of a users_me.sh run, from its results folder: GET /api/users/me with a bearer
token against the same read without authentication (--insecure-anonymous-user).

Usage: me_report.py RESULTS_DIR
Reads meta.tsv and runs.jsonl (one object per measured wrk run: tools/wrk_parse.py --json
plus name = anonymous|bearer, conns, raw). Prints a markdown summary with the targets and
writes RESULTS_DIR/results.json. Standard library only.
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the helpers it imports
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from users_report import finish, load, sock_errs, sock_text  # noqa: E402

RPS_RATIO_TARGET = 0.8
SIDES = {"anonymous": "without authentication", "bearer": "Authorization: Bearer"}
# What the wrk script must have sent on each side (tools/auth.lua's line).
EXPECTED_AUTH = {"anonymous": "none", "bearer": "bearer"}


def errors(run: dict) -> int:
    return sock_errs(run) + run.get("non2xx", 0)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    results_dir = sys.argv[1]
    meta, runs = load(results_dir)
    out = ["## Myriad users benchmark: GET /api/users/me, authenticated vs not (bench/users_me.sh)",
           ""]
    for key in ("started", "machine", "limits", "users", "pool", "myriad_cmd", "bench_user",
                "auth", "checks", "wrk", "levels", "finished"):
        if key in meta:
            out.append(f"- {key}: {meta[key]}")
    out.append("")
    checks: list = []
    by = {(r["name"], r["conns"]): r for r in runs}
    levels = []
    for r in runs:
        if r["conns"] not in levels:
            levels.append(r["conns"])
    if runs:
        out += ["| conns | side | req/s | x without | p50 ms | p99 ms | x without | sock errs | "
                "non-2xx | statuses | header sent |",
                "|" + "---|" * 11]
        for c in levels:
            base = by.get(("anonymous", c))
            base_ok = base is not None and "error" not in base
            for side in ("anonymous", "bearer"):
                r = by.get((side, c))
                if r is None:
                    continue
                if "error" in r:
                    out.append(f"| {c} | {SIDES[side]} | ERROR: {r['error']} ({r['raw']}) |")
                    continue
                rps_x = p99_x = ""
                if side == "bearer" and base_ok:
                    rps_x = f"{r['rps'] / base['rps']:.2f}x" if base["rps"] else ""
                    p99_x = f"{r['p99_ms'] / base['p99_ms']:.2f}x" if base["p99_ms"] else ""
                statuses = " ".join(f"{k}={v}" for k, v in sorted(r.get("statuses", {}).items()))
                out.append(f"| {c} | {SIDES[side]} | {r['rps']:.0f} | {rps_x} | "
                           f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {p99_x} | {sock_text(r)} | "
                           f"{r['non2xx']} | {statuses} | {r.get('auth') or '?'} |")
        out.append("")
    for c in levels:
        base, auth = by.get(("anonymous", c)), by.get(("bearer", c))
        for side, r in (("anonymous", base), ("bearer", auth)):
            label = f"{c} conns, {SIDES[side]}"
            if r is None or "error" in r:
                checks.append((f"{label}: wrk output", False, r["error"] if r else "missing"))
                continue
            checks.append((f"{label}: 0 errors (socket + non-2xx)", errors(r) == 0,
                           f"{sock_errs(r)} socket, {r['non2xx']} non-2xx"))
            sent = r.get("auth") or "?"
            checks.append((f"{label}: header sent as intended ({EXPECTED_AUTH[side]})",
                           sent == EXPECTED_AUTH[side], sent))
        if base and auth and "error" not in base and "error" not in auth and base["rps"]:
            x = auth["rps"] / base["rps"]
            checks.append((f"{c} conns: authenticated req/s >= {RPS_RATIO_TARGET}x without",
                           x >= RPS_RATIO_TARGET, f"{x:.2f}x ({auth['rps']:.0f} / {base['rps']:.0f})"))
    if meta.get("http_error"):
        out.append(f"HTTP NOT MEASURED: {meta['http_error']}")
        out.append("")
        checks.append(("GET /api/users/me answers 200 on both sides", False, meta["http_error"]))
    return finish("me", meta, runs, checks, out, results_dir)


if __name__ == "__main__":
    sys.exit(main())
