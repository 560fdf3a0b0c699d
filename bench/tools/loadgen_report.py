#!/usr/bin/python3
"""Table for bench/loadgen.sh: myriad-load against wrk on the same nginx, per level.

Usage: loadgen_report.py RESULTS_DIR
Reads wrk-cC-rR.txt (wrk --latency output), load-cC-rR.json (myriad-load --latency-end
read --json), arrival-cC-rR.json (myriad-load --json, latencies ending at arrival) and
probe-TOOL-cC-rR.txt (curl's time_total per probe request, in seconds, during that tool's
run); takes the median over rounds of each figure; prints a Markdown table with the ratios
and the targets (req/s >= 0.9x wrk's; p50 and p99 within 10% of wrk's) and each round's
req/s ratio (that round's two runs were back to back, so a slow minute of a shared machine
shows up there as spread); writes results.json, and exits 1 when a run is missing.
Standard library only.

The targets compare like with like: wrk's latency ends when wrk reads a response, and so
does myriad-load's with --latency-end read. Its default (arrival) and the single-connection
probe are shown beside them.
"""

import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrk_parse  # noqa: E402


def percentile(values: list, p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def read_probe(path: str) -> dict:
    times = []
    for line in open(path):
        try:
            times.append(float(line) * 1000)
        except ValueError:
            continue
    if not times:
        raise ValueError("no probe requests")
    return {"p50": percentile(times, 50), "p99": percentile(times, 99), "n": len(times)}


def fmt_pair(d: dict, key: str) -> str:
    return f"{d[key + '_p50']:.2f} / {d[key + '_p99']:.2f}" if key + "_p50" in d else "-"


def main() -> int:
    folder = sys.argv[1]
    runs: dict = {}
    probes: dict = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        probe = re.fullmatch(r"probe-(wrk|load|arrival)-c(\d+)-r(\d+)\.txt", name)
        if probe:
            try:
                probes.setdefault(int(probe.group(2)), {}).setdefault(probe.group(1), []).append(
                    read_probe(path))
            except (ValueError, OSError) as e:
                print(f"cannot read {name}: {e}", file=sys.stderr)
            continue
        m = re.fullmatch(r"(wrk|load|arrival)-c(\d+)-r(\d+)\.(txt|json)", name)
        if not m or (m.group(1) == "wrk") != (m.group(4) == "txt"):
            continue
        tool, conns = m.group(1), int(m.group(2))
        try:
            if tool == "wrk":
                w = wrk_parse.parse(open(path).read())
                figures = {"rps": w["rps"], "p50": w["p50_ms"], "p99": w["p99_ms"],
                           "errors": w["connect"] + w["read"] + w["write"] + w["timeout"] + w["non2xx"]}
            else:
                j = json.load(open(path))
                figures = {"rps": j["requests_per_second"], "p50": j["latency_ms"]["p50"],
                           "p99": j["latency_ms"]["p99"], "errors": j["errors"]["total"]}
        except (ValueError, KeyError, OSError) as e:
            print(f"cannot read {name}: {e}", file=sys.stderr)
            continue
        figures["round"] = int(m.group(3))
        runs.setdefault(conns, {}).setdefault(tool, []).append(figures)

    lines = ["| conns | wrk req/s | myriad-load req/s | ratio (>= 0.9) | wrk p50 / p99 ms "
             "| myriad-load p50 / p99 ms | p50 ratio | p99 ratio (0.9-1.1) | req/s ratio by round "
             "| arrival: req/s, p50 / p99 ms | probe p50 / p99 ms during wrk; myriad-load; arrival "
             "| errors wrk / load / arrival | result |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    out = []
    ok = True
    for conns in sorted(runs):
        by = runs[conns]
        if "wrk" not in by or "load" not in by:
            ok = False
            lines.append(f"| {conns} | missing runs | | | | | | | | | | | FAIL |")
            continue
        med = {t: {k: statistics.median(r[k] for r in by[t]) for k in by[t][0] if k != "round"}
               for t in by}
        for tool, rounds in probes.get(conns, {}).items():
            if tool in med:
                med[tool]["probe_p50"] = statistics.median(r["p50"] for r in rounds)
                med[tool]["probe_p99"] = statistics.median(r["p99"] for r in rounds)
        w, m = med["wrk"], med["load"]
        a = med.get("arrival", {})
        arrival = (f"{a['rps']:,.0f}, {a['p50']:.2f} / {a['p99']:.2f}" if a else "-")
        ratio = m["rps"] / w["rps"] if w["rps"] else 0
        p50 = m["p50"] / w["p50"] if w["p50"] else 0
        p99 = m["p99"] / w["p99"] if w["p99"] else 0
        wrk_by_round = {r["round"]: r["rps"] for r in by["wrk"]}
        by_round = [r["rps"] / wrk_by_round[r["round"]]
                    for r in sorted(by["load"], key=lambda r: r["round"])
                    if wrk_by_round.get(r["round"])]
        passed = ratio >= 0.9 and 0.9 <= p50 <= 1.1 and 0.9 <= p99 <= 1.1
        lines.append(
            f"| {conns:,} | {w['rps']:,.0f} | {m['rps']:,.0f} | {ratio:.2f}x | {w['p50']:.2f} / {w['p99']:.2f} "
            f"| {m['p50']:.2f} / {m['p99']:.2f} | {p50:.2f}x | {p99:.2f}x "
            f"| {', '.join(f'{x:.2f}' for x in by_round)} | {arrival} "
            f"| {fmt_pair(w, 'probe')}; {fmt_pair(m, 'probe')}; {fmt_pair(a, 'probe') if a else '-'} "
            f"| {w['errors']:.0f} / {m['errors']:.0f} / {a['errors'] if a else 0:.0f} "
            f"| {'PASS' if passed else 'FAIL'} |")
        out.append({"conns": conns, "wrk": w, "myriad_load": m, "myriad_load_arrival": a,
                    "rps_ratio": ratio, "rps_ratio_by_round": by_round,
                    "p50_ratio": p50, "p99_ratio": p99, "pass": passed,
                    "rounds": {t: by[t] for t in by}, "probe_rounds": probes.get(conns, {})})
    print("\n".join(lines))
    print(f"\nmedian of {max((len(v) for r in runs.values() for v in r.values()), default=0)} "
          "round(s) per tool and level; targets: req/s >= 0.9x wrk, p50 and p99 within 10% of wrk, "
          "with myriad-load --latency-end read (both end a latency when the tool reads the response); "
          "arrival: myriad-load's default, ending it when the response reached the host")
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(out, f, indent=2)
    return 0 if ok and runs else 1


if __name__ == "__main__":
    sys.exit(main())
