#!/usr/bin/python3
"""Parse the text wrk 4.x prints with --latency into one tab-separated line.

Usage: wrk_parse.py [--json] WRK_OUTPUT_FILE
Prints: rps  p50_ms  p99_ms  connect_errs  read_errs  write_errs  timeout_errs  non2xx  requests
or, with --json, one JSON object with those fields plus "statuses" (see below).
Missing "Socket errors" / "Non-2xx or 3xx responses" lines mean 0. A missing
Requests/sec or latency line is an error (exit 1), so a crashed wrk never looks like 0 req/s.
When the wrk script was tools/wrk_status.lua (or loads it), its "non-2xx (lua): N" line
counts every status outside 200..299 (wrk's own line leaves out 3xx); non2xx is then the
larger of the two, "statuses (lua): 200=n 404=m" fills "statuses", and
"authorization (lua): bearer|none" (tools/auth.lua) fills "auth" (absent: "").
Standard library only.
"""

import json

import re
import sys

_UNIT_TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def time_to_ms(text: str) -> float:
    """'610.00us' -> 0.61, '2.34ms' -> 2.34, '1.02s' -> 1020.0, '1.50m' -> 90000.0."""
    m = re.fullmatch(r"([0-9]*\.?[0-9]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"unrecognised wrk time {text!r}")
    return float(m.group(1)) * _UNIT_TO_MS[m.group(2)]


def parse(text: str) -> dict:
    out = {"connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0, "requests": 0}
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    if not m:
        raise ValueError("no 'Requests/sec:' line")
    out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", text, re.M)
        if not m:
            raise ValueError(f"no '{pct}%' latency line (was wrk run with --latency?)")
        out[key] = time_to_ms(m.group(1))
    m = re.search(
        r"Socket errors:\s+connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["connect"], out["read"], out["write"], out["timeout"] = map(int, m.groups())
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"^non-2xx \(lua\):\s+(\d+)", text, re.M)
    if m:
        out["non2xx"] = max(out["non2xx"], int(m.group(1)))
    out["statuses"] = {}
    m = re.search(r"^statuses \(lua\):(.*)$", text, re.M)
    if m:
        for status, n in re.findall(r"(\d+)=(\d+)", m.group(1)):
            out["statuses"][status] = int(n)
    m = re.search(r"^authorization \(lua\):\s+(\S+)", text, re.M)
    out["auth"] = m.group(1) if m else ""
    m = re.search(r"^\s+(\d+) requests in", text, re.M)
    if m:
        out["requests"] = int(m.group(1))
    return out


def main() -> int:
    args = sys.argv[1:]
    as_json = bool(args) and args[0] == "--json"
    if as_json:
        args = args[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8", errors="replace") as f:
        text = f.read()
    try:
        r = parse(text)
    except ValueError as e:
        print(f"wrk_parse: {args[0]}: {e}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(r, sort_keys=True))
        return 0
    print("\t".join(str(x) for x in (
        f"{r['rps']:.2f}", f"{r['p50_ms']:.3f}", f"{r['p99_ms']:.3f}", r["connect"], r["read"],
        r["write"], r["timeout"], r["non2xx"], r["requests"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
