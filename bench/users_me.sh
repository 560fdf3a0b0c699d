#!/usr/bin/env bash
# What authentication costs: GET /api/users/me with "Authorization: Bearer <token>" against
# the same read without authentication, on the same server in the same run, wrk -t2 --latency
# at each level of LEVELS connections. The "without" side uses the development-only flag
# `myriad serve --insecure-anonymous-user ID`: a request without an Authorization header acts
# as that user, one with a header is authenticated as usual. Both sides read the same user
# (the bench user), so the difference is the token's verification. See bench/README.md.
#
# Per level: an unreported warm-up and one measured run of each side, order alternating from
# one level to the next (without first at the first level).
#
# Environment (all optional):
#   USERS=1000           rows seeded (ids 1..USERS; the bench user comes after them)
#   DURATION=15s         each measured wrk run
#   LEVELS="1000 10000"  wrk connection counts
#   WARMUP=3s            unreported wrk run before each measured one (0 = none)
#   POOL=2               myriad serve --db-pool-size
#   THREADS=2            myriad serve --threads
#   WRK_THREADS=2        wrk -t
#   PAUSE=2              seconds between runs
#   MYRIAD_BIN=build/release/myriad
#   RESULTS_DIR=bench/results/users-me-<timestamp>
#
# Targets, at every level: authenticated req/s >= 0.8x unauthenticated; 0 errors (socket
# errors + non-2xx) on both sides.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=/usr/bin/python3   # Debian's interpreter: the helpers use the standard library only

USERS=${USERS:-1000}
DURATION=${DURATION:-15s}
LEVELS=${LEVELS:-1000 10000}
WARMUP=${WARMUP:-3s}
POOL=${POOL:-2}
THREADS=${THREADS:-2}
WRK_THREADS=${WRK_THREADS:-2}
PAUSE=${PAUSE:-2}
MYRIAD_BIN=${MYRIAD_BIN:-$ROOT/build/release/myriad}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/users-me-$(date +%Y%m%d-%H%M%S)}

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
DURATION=$(with_unit "$DURATION")
WARMUP=$(with_unit "$WARMUP")
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"
[[ $WRK_THREADS =~ ^[1-9][0-9]*$ ]] || die "WRK_THREADS must be a positive integer"
[[ -n ${LEVELS// /} ]] || die "LEVELS is empty"
for c in $LEVELS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "LEVELS must hold positive integers (got '$c')"; done

# lib.sh's report() runs users_report.py; this benchmark has its own.
report() {
  "$PY" "$BENCH/tools/me_report.py" "$RESULTS_DIR" | tee "$RESULTS_DIR/summary.md"
}

users_init   # checks, $TMP, meta.tsv, runs.jsonl; its trap stops Myriad and PostgreSQL
# shellcheck disable=SC2086  # LEVELS is a list of numbers
raise_limits $LEVELS

users_meta_header "GET /api/users/me with a bearer token against without authentication (--insecure-anonymous-user)" \
  "wrk -t$WRK_THREADS --latency --timeout 10s -d$DURATION -s tools/wrk_status.lua http://127.0.0.1:PORT/api/users/me, warm-up $WARMUP per run (not reported), order alternating per level"

serve_help=$("$MYRIAD_BIN" serve --help 2>&1 || true)   # whole: grep -q would SIGPIPE it
for flag in --insecure-anonymous-user --access-token-ttl --rate-limit; do
  if ! grep -q -- "$flag " <<<"$serve_help"; then
    meta http_error "myriad serve has no $flag option"
    report || true
    die "$MYRIAD_BIN serve has no $flag option: this build is older than the benchmark.
       Rebuild: cmake --preset release && cmake --build --preset release"
  fi
done

users_db

# ---------------------------------------------------------------- the bench user + Myriad
# The user must exist before Myriad starts (its id goes into --insecure-anonymous-user): an
# administrator made by `myriad admin create`, logged in once Myriad answers.
bench_admin_create "$DB_URL"
# --access-token-ttl 24h: the token must outlive the run; --rate-limit off: a capacity
# benchmark sends everything from one address as one account.
MYRIAD_EXTRA=(--insecure-anonymous-user "$BENCH_ADMIN_ID" --access-token-ttl 24h --rate-limit off)
start_myriad_db
bench_admin_login "$MYRIAD_PORT"
TOKEN=$MYRIAD_BENCH_TOKEN
meta bench_user "id $BENCH_ADMIN_ID (an administrator, myriad admin create); the same user on both sides"

URL="http://127.0.0.1:$MYRIAD_PORT/api/users/me"
# GET /api/users/me with the given extra curl arguments: "status id" of the answer.
me_probe() {  # name [curl-args...]
  local name=$1 status id
  shift
  status=$(curl -sS --max-time 5 -o "$TMP/me-$name.body" -w '%{http_code}' "$@" "$URL") \
    || status="no answer"
  id=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1])).get("id", ""))' \
    "$TMP/me-$name.body" 2>/dev/null || true)
  echo "$status ${id:-none}"
}
# Before any load: both sides answer 200 with the bench user, and the header is really
# checked (a bad token is refused), so the authenticated side cannot fall back to the
# anonymous user unnoticed.
check_fail() {
  meta http_error "$1"
  report || true
  die "$1. Nothing was measured over HTTP."
}
read -r st id <<<"$(me_probe bearer -H "Authorization: Bearer $TOKEN")"
[[ $st == 200 && $id == "$BENCH_ADMIN_ID" ]] \
  || check_fail "GET /api/users/me with the token answered $st for id $id, expected 200 for id $BENCH_ADMIN_ID (body: $(head -c 200 "$TMP/me-bearer.body"))"
read -r st id <<<"$(me_probe anonymous)"
[[ $st == 200 && $id == "$BENCH_ADMIN_ID" ]] \
  || check_fail "GET /api/users/me without a header answered $st for id $id, expected 200 for id $BENCH_ADMIN_ID: --insecure-anonymous-user not in effect (body: $(head -c 200 "$TMP/me-anonymous.body"))"
read -r st id <<<"$(me_probe badtoken -H "Authorization: Bearer ${TOKEN%?}x")"
[[ $st == 401 ]] \
  || check_fail "GET /api/users/me with a corrupted token answered $st, expected 401: the header is not authenticated"
cmp -s "$TMP/me-bearer.body" "$TMP/me-anonymous.body" \
  || warn "the two sides answer different bodies: $(head -c 200 "$TMP/me-bearer.body") vs $(head -c 200 "$TMP/me-anonymous.body")"
meta checks "before the load: with the token 200 (id $BENCH_ADMIN_ID), without a header 200 (id $BENCH_ADMIN_ID), with a corrupted token 401; bodies $(cmp -s "$TMP/me-bearer.body" "$TMP/me-anonymous.body" && echo identical || echo DIFFERENT) ($(wc -c <"$TMP/me-bearer.body") bytes)"

# ---------------------------------------------------------------- measured runs
# wrk sends the header when MYRIAD_BENCH_TOKEN is set in its environment (tools/auth.lua)
# and prints which it did ("authorization (lua): bearer|none"), which the report checks.
run_side() {  # side conns
  local side=$1 c=$2 raw parsed rc=0
  if [[ $side == bearer ]]; then export MYRIAD_BENCH_TOKEN=$TOKEN; else unset MYRIAD_BENCH_TOKEN; fi
  if [[ $WARMUP != 0s ]]; then
    log "$side: warm-up $WARMUP at $c connections"
    run_wrk_bounded "$RESULTS_DIR/warmup-$side-c$c.txt" "$WARMUP" -t"$WRK_THREADS" -c"$c" \
      --timeout 10s -s "$BENCH/tools/wrk_status.lua" "$URL" || warn "warm-up wrk exited with an error ($side, $c conns)"
    sleep "$PAUSE"
  fi
  log "$side: $DURATION at $c connections"
  raw="$RESULTS_DIR/wrk-$side-c$c.txt"
  run_wrk_bounded "$raw" "$DURATION" -t"$WRK_THREADS" -c"$c" --latency --timeout 10s \
    -s "$BENCH/tools/wrk_status.lua" "$URL" || rc=$?
  unset MYRIAD_BENCH_TOKEN
  (( rc == 0 )) || warn "wrk exited with $rc ($side, $c conns)"
  kill -0 "$MYRIAD_PID" 2>/dev/null || die "Myriad died during the $side run at $c connections"
  if parsed=$("$PY" "$BENCH/tools/wrk_parse.py" --json "$raw"); then
    "$PY" -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(name=sys.argv[2], conns=int(sys.argv[3]), raw=sys.argv[4]); print(json.dumps(r, sort_keys=True))' \
      "$parsed" "$side" "$c" "$(basename "$raw")" >>"$RESULTS_DIR/runs.jsonl"
  else
    printf '{"name": "%s", "conns": %s, "error": "unparsable wrk output", "raw": "%s"}\n' \
      "$side" "$c" "$(basename "$raw")" >>"$RESULTS_DIR/runs.jsonl"
    warn "could not parse $raw"
  fi
  sleep "$PAUSE"
}

meta levels "$LEVELS connections; side order alternates per level (anonymous first at the first)"
i=0
for c in $LEVELS; do
  order=(anonymous bearer)
  (( i % 2 == 1 )) && order=(bearer anonymous)
  for side in "${order[@]}"; do run_side "$side" "$c"; done
  i=$((i + 1))
done
meta finished "$(date -Is), load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
report
