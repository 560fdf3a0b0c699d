#!/usr/bin/python3
"""Summary of bench/login.sh: logins/s against the raw Argon2id verify rate, and the reads'
p99 with and without the login load.

Usage: login_report.py RESULTS_DIR HASH_THREADS
Reads meta.tsv and the wrk-*.txt files; prints Markdown and writes results.json.
Standard library only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wrk_parse  # noqa: E402


def load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return wrk_parse.parse(f.read())
    except (OSError, ValueError) as e:
        return {"error": str(e)}


def main() -> int:
    results, hash_threads = sys.argv[1], int(sys.argv[2])
    meta = {}
    with open(os.path.join(results, "meta.tsv"), encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            meta[key] = value
    raw = float(meta.get("raw_verify_per_s", "0") or 0)
    runs = {name: load(os.path.join(results, f"wrk-{name}.txt"))
            for name in ("login", "read", "read-under-logins", "login-under-reads")}
    out = ["# Logins and reads (bench/login.sh)", ""]
    out += [f"- {k}: {v}" for k, v in meta.items()]
    out += ["", "| run | req/s | 200 | 503 | other non-2xx | socket errors | p50 ms | p99 ms |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in runs.items():
        if "error" in r:
            out.append(f"| {name} | error: {r['error']} |")
            continue
        st = r.get("statuses", {})
        ok = st.get("200", 0)
        busy = st.get("503", 0)
        other = r["non2xx"] - sum(v for k, v in st.items() if k == "503")
        sock = r["connect"] + r["read"] + r["write"] + r["timeout"]
        out.append(f"| {name} | {r['rps']:.1f} | {ok} | {busy} | {other} | {sock} | "
                   f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} |")
    targets = []
    login = runs["login"]
    if "error" not in login and raw > 0:
        secs = login["requests"] / login["rps"] if login["rps"] else 0
        logins_ok = login.get("statuses", {}).get("200", 0) / secs if secs else 0
        ceiling = raw * hash_threads
        ratio = logins_ok / ceiling if ceiling else 0
        targets.append(("logins/s >= 0.9x raw verify rate x hash threads",
                        f"{ratio:.2f}x ({logins_ok:.1f} / {ceiling:.1f})", ratio >= 0.9))
    base, loaded = runs["read"], runs["read-under-logins"]
    if "error" not in base and "error" not in loaded and base["p99_ms"] > 0:
        ratio = loaded["p99_ms"] / base["p99_ms"]
        targets.append(("reads' p99 under login load <= 2x without",
                        f"{ratio:.2f}x ({loaded['p99_ms']:.2f} / {base['p99_ms']:.2f} ms)",
                        ratio <= 2))
        errs = sum(loaded[k] for k in ("connect", "read", "write", "timeout")) + loaded["non2xx"]
        targets.append(("reads under login load: 0 errors", f"{errs}", errs == 0))
    out += ["", "Targets:"]
    out += [f"- {name}: {value} {'PASS' if ok else 'MISS'}" for name, value, ok in targets]
    out += ["", f"raw output: {results}"]
    print("\n".join(out))
    with open(os.path.join(results, "results.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "runs": runs,
                   "targets": [{"name": n, "value": v, "pass": p} for n, v, p in targets]},
                  f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
