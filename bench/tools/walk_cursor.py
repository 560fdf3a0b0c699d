#!/usr/bin/python3
"""Walks GET /api/users?limit=100 page by page to a depth and prints the cursor found there.

Usage: walk_cursor.py --port P --depth N [--limit 100] [--timeout 300]
Cursors are opaque and MAC-protected, so the only way to a deep position is to follow
next_cursor from the first page: about N / 100 requests over one keep-alive connection
(http.client). Prints, on stdout, one line: cursor<TAB>rows walked<TAB>last id<TAB>requests
<TAB>seconds. Exits 1 with a message on a non-200 answer, a malformed body, ids that do not
increase, or a list that ends before N rows. Listing users needs an administrator: every
request sends "Authorization: Bearer <token>" with the token of --token, else of the
environment variable MYRIAD_BENCH_TOKEN (bench/lib.sh bench_admin_token exports it).
Standard library only.
"""

import argparse
import http.client
import json
import os
import socket
import sys
import time
import urllib.parse


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--depth", type=int, required=True)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=300.0, help="for the whole walk, s")
    ap.add_argument("--token", default=os.environ.get("MYRIAD_BENCH_TOKEN", ""),
                    help="access token (default: $MYRIAD_BENCH_TOKEN)")
    a = ap.parse_args()
    headers = {"Authorization": "Bearer " + a.token} if a.token else {}
    conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    start = time.monotonic()
    walked, last_id, requests, cursor = 0, 0, 0, None
    while walked < a.depth:
        if time.monotonic() - start > a.timeout:
            sys.exit(f"walk_cursor: gave up after {a.timeout:.0f} s at {walked} rows")
        limit = min(a.limit, a.depth - walked)
        path = f"/api/users?limit={limit}"
        if cursor is not None:
            path += "&cursor=" + urllib.parse.quote(cursor, safe="")
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        requests += 1
        if resp.status != 200:
            sys.exit(f"walk_cursor: GET {path} answered {resp.status}: {body[:300]!r}")
        try:
            page = json.loads(body)
            items, cursor = page["items"], page["next_cursor"]
            ids = [int(item["id"]) for item in items]
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"walk_cursor: GET {path}: unexpected body ({e}): {body[:300]!r}")
        if ids != sorted(ids) or (ids and ids[0] <= last_id) or len(ids) > limit:
            sys.exit(f"walk_cursor: GET {path}: ids not increasing after {last_id}: {ids[:5]}...")
        if not ids:
            sys.exit(f"walk_cursor: the list ended after {walked} rows (depth {a.depth} asked)")
        walked += len(ids)
        last_id = ids[-1]
        if cursor is None:
            if walked < a.depth:
                sys.exit(f"walk_cursor: no next_cursor after {walked} rows")
            break
    conn.close()
    if cursor is None:
        sys.exit(f"walk_cursor: no rows after depth {walked}: nothing left to page through")
    print(f"{cursor}\t{walked}\t{last_id}\t{requests}\t{time.monotonic() - start:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
