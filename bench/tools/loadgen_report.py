#!/usr/bin/python3
"""Table for bench/loadgen.sh: myriad-load against wrk on the same nginx, per level.

Usage: loadgen_report.py RESULTS_DIR
Reads wrk-cC-rR.txt (wrk --latency output) and load-cC-rR.json (myriad-load --json); takes
the median over rounds of each figure; prints a Markdown table with the ratios and the
targets (req/s >= 0.9x wrk's; p50 and p99 within 10% of wrk's), writes results.json, and
exits 1 when a run is missing. Standard library only.
"""

import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrk_parse  # noqa: E402


def main() -> int:
    folder = sys.argv[1]
    runs: dict = {}
    for name in sorted(os.listdir(folder)):
        m = re.fullmatch(r"(wrk|load)-c(\d+)-r(\d+)\.(txt|json)", name)
        if not m or (m.group(1) == "wrk") != (m.group(4) == "txt"):
            continue
        tool, conns = m.group(1), int(m.group(2))
        path = os.path.join(folder, name)
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
        runs.setdefault(conns, {}).setdefault(tool, []).append(figures)

    lines = ["| conns | wrk req/s | myriad-load req/s | ratio (>= 0.9) | wrk p50 / p99 ms "
             "| myriad-load p50 / p99 ms | p50 ratio | p99 ratio (0.9-1.1) | errors wrk / load | result |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    out = []
    ok = True
    for conns in sorted(runs):
        by = runs[conns]
        if "wrk" not in by or "load" not in by:
            ok = False
            lines.append(f"| {conns} | missing runs | | | | | | | | FAIL |")
            continue
        med = {t: {k: statistics.median(r[k] for r in by[t]) for k in by[t][0]} for t in by}
        w, m = med["wrk"], med["load"]
        ratio = m["rps"] / w["rps"] if w["rps"] else 0
        p50 = m["p50"] / w["p50"] if w["p50"] else 0
        p99 = m["p99"] / w["p99"] if w["p99"] else 0
        passed = ratio >= 0.9 and 0.9 <= p50 <= 1.1 and 0.9 <= p99 <= 1.1
        lines.append(
            f"| {conns:,} | {w['rps']:,.0f} | {m['rps']:,.0f} | {ratio:.2f}x | {w['p50']:.2f} / {w['p99']:.2f} "
            f"| {m['p50']:.2f} / {m['p99']:.2f} | {p50:.2f}x | {p99:.2f}x | {w['errors']:.0f} / {m['errors']:.0f} "
            f"| {'PASS' if passed else 'FAIL'} |")
        out.append({"conns": conns, "wrk": w, "myriad_load": m, "rps_ratio": ratio,
                    "p50_ratio": p50, "p99_ratio": p99, "pass": passed,
                    "rounds": {t: by[t] for t in by}})
    print("\n".join(lines))
    print(f"\nmedian of {max((len(v) for r in runs.values() for v in r.values()), default=0)} "
          "round(s) per tool and level; targets: req/s >= 0.9x wrk, p50 and p99 within 10% of wrk")
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(out, f, indent=2)
    return 0 if ok and runs else 1


if __name__ == "__main__":
    sys.exit(main())
