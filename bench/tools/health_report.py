#!/usr/bin/python3
"""Print the table of bench/http_health.sh from the files it wrote in a results folder.

Usage: health_report.py RESULTS_DIR
Reads RESULTS_DIR/runs.tsv (level server rps p50 p99 connect read write timeout non2xx
requests rawfile other_cpu_pct; rps = ERROR when wrk's output could not be parsed) and, when present,
RESULTS_DIR/mem.tsv (server phase rss_kb procs ok count alive; the last three only for
phase idle_conns). Prints the table, the
Myriad/nginx ratios against the issue's targets with PASS/MISS, and the memory lines.
Exit status 0 always (a MISS is a result, not a script failure). Standard library only.
"""

import os
import sys

RPS_TARGET = 0.95       # Myriad req/s >= 0.95 x nginx at every level
P99_TARGET = 1.5        # Myriad p99 <= 1.5 x nginx at every level
SOCKERR_LEVEL = 10000   # zero socket errors for Myriad at (and above) this many conns
MEM_TARGET_MB = 150.0
NOISY_PCT = 5.0         # "other cpu" above this: something else competed for the cores   # Myriad VmRSS with 10,000 idle keep-alive conns, MB = 10^6 bytes


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def mb(kb: float) -> float:
    return kb * 1024 / 1e6


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    d = sys.argv[1]
    runs = {}
    order = []
    for row in read_tsv(os.path.join(d, "runs.tsv")):
        level, server = int(row[0]), row[1]
        if row[2] == "ERROR":
            runs[(level, server)] = None
        else:
            rps, p50, p99 = map(float, row[2:5])
            conn, rd, wr, to, non2xx, reqs = map(int, row[5:11])
            runs[(level, server)] = dict(rps=rps, p50=p50, p99=p99, conn=conn, read=rd,
                                         write=wr, timeout=to, non2xx=non2xx, reqs=reqs,
                                         other=row[12] if len(row) > 12 else "")
        if level not in order:
            order.append(level)

    out = []
    hdr = f"{'conns':>6} | {'server':<6} | {'req/s':>10} | {'p50 ms':>8} | {'p99 ms':>8} | {'sock errs':<28} | {'non-2xx':>7} | {'other cpu':>9}"
    out.append(hdr)
    out.append("-" * len(hdr))
    for level in order:
        for server in ("myriad", "nginx"):
            if (level, server) not in runs:
                continue
            r = runs[(level, server)]
            if r is None:
                out.append(f"{level:>6} | {server:<6} | {'wrk output unparsable: see raw file':<50}")
                continue
            errs = r["conn"] + r["read"] + r["write"] + r["timeout"]
            errs_s = str(errs) if errs == 0 else (
                f"{errs} (c{r['conn']} r{r['read']} w{r['write']} t{r['timeout']})")
            out.append(f"{level:>6} | {server:<6} | {r['rps']:>10.0f} | {r['p50']:>8.2f} | "
                       f"{r['p99']:>8.2f} | {errs_s:<28} | {r['non2xx']:>7} | "
                       f"{(r['other'] + '%') if r['other'] else '?':>9}")

    noisy = [r for r in runs.values() if r and r["other"] and float(r["other"]) > NOISY_PCT]
    out.append(f"other cpu: share of the machine's CPU used by processes other than wrk and "
               f"the servers during the run" + (
                   f"; above {NOISY_PCT:.0f}% here, so these figures are skewed: "
                   f"re-run on a quiet machine" if noisy else ""))

    passes = misses = 0
    both = [lv for lv in order if runs.get((lv, "myriad")) and runs.get((lv, "nginx"))]
    if both:
        out.append("")
        out.append("Myriad / nginx (targets: req/s >= 0.95x, p99 <= 1.5x at every level; "
                   "0 socket errors at 10,000)")
        for level in both:
            m, n = runs[(level, "myriad")], runs[(level, "nginx")]
            rps_ratio = m["rps"] / n["rps"] if n["rps"] > 0 else float("nan")
            p99_ratio = m["p99"] / n["p99"] if n["p99"] > 0 else float("nan")
            ok_rps = rps_ratio >= RPS_TARGET
            ok_p99 = p99_ratio <= P99_TARGET
            line = (f"{level:>6} conns: req/s {rps_ratio:.2f}x {verdict(ok_rps)} | "
                    f"p99 {p99_ratio:.2f}x {verdict(ok_p99)}")
            passes += ok_rps + ok_p99
            misses += (not ok_rps) + (not ok_p99)
            if level >= SOCKERR_LEVEL:
                errs = m["conn"] + m["read"] + m["write"] + m["timeout"]
                line += f" | socket errors {errs} {verdict(errs == 0)}"
                passes += errs == 0
                misses += errs != 0
            if m["non2xx"]:
                line += f" | WARNING: Myriad answered {m['non2xx']} non-2xx (counted in its req/s)"
            out.append(line)
    elif order:
        out.append("")
        out.append("(ratios need both servers: run with SERVERS=\"myriad nginx\")")

    mem = read_tsv(os.path.join(d, "mem.tsv"))
    if mem:
        out.append("")
        out.append("Resident memory (VmRSS from /proc; MB = 10^6 bytes; nginx = sum of its "
                   "worker processes)")
        labels = {"start": "idle after start", "after_load": "idle after the load runs",
                  "idle_conns": "with {count} idle keep-alive conns"}
        for server in ("myriad", "nginx"):
            rows = [r + [""] * (7 - len(r)) for r in mem if r[0] == server]
            if not rows:
                continue
            parts = []
            held = None
            for _srv, phase, rss_kb, _procs, ok, count, alive in rows:
                label = labels.get(phase, phase).format(count=f"{int(count or 0):,}")
                if rss_kb in ("", "ERROR"):
                    parts.append(f"{label}: not measured")
                    continue
                text = f"{label} {mb(float(rss_kb)):.1f} MB"
                if phase == "idle_conns":
                    text += f" ({ok} answered, {alive} still open when measured)"
                    held = (float(rss_kb), int(ok or 0), int(count or 0), int(alive or 0))
                parts.append(text)
            out.append(f"  {server:<6}: " + "; ".join(parts))
            if server == "myriad" and held:
                rss_kb, ok, count, alive = held
                value = mb(rss_kb)
                complete = ok == count == alive and count >= 10000
                good = complete and value <= MEM_TARGET_MB
                tag = verdict(good) if complete else (
                    "MISS (fewer than 10,000 connections answered and held)")
                out.append(f"  target: Myriad <= {MEM_TARGET_MB:.0f} MB with 10,000 idle "
                           f"keep-alive connections: {value:.1f} MB {tag}")
                passes += good
                misses += not good

    if passes or misses:
        out.append("")
        out.append(f"targets: {passes} PASS, {misses} MISS")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
