#!/usr/bin/env bash
# Password logins at saturation against the raw Argon2id verification rate (the same
# parameters, measured by bench/micro/pwhash_bench.cpp on this machine right before and
# right after the logins, averaged),
# and GET /api/users/{id} at 1,000 connections with and without that login load: the
# hashing pool is a bulkhead, so reads must not slow down much. Issue 5; see
# bench/README.md.
#
# Environment (all optional):
#   USERS=100000         rows seeded (ids 1..USERS; all share the seed password)
#   DURATION=15s         each measured run
#   LOGIN_CONNS=32       wrk connections sending logins (more than the pool can serve)
#   READ_CONNS=1000      wrk connections reading users
#   HASH_THREADS=1       myriad serve --hash-threads (the rest of the cores serve requests)
#   HASH_QUEUE=256       myriad serve --hash-queue
#   THREADS=2            myriad serve --threads
#   WRK_THREADS=2        wrk -t for the reads (the logins use 1)
#   PAUSE=2              seconds between runs
#   MYRIAD_BIN=build/release/myriad
#   PWHASH_BENCH=build/release/bench/pwhash_bench
#   RESULTS_DIR=bench/results/login-<timestamp>
#
# Targets: logins/s >= 0.9x the raw single-thread verify rate x HASH_THREADS; reads' p99
# under login load <= 2x their p99 without it; 0 socket errors, 0 non-2xx on reads.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=/usr/bin/python3

USERS=${USERS:-100000}
DURATION=${DURATION:-15s}
LOGIN_CONNS=${LOGIN_CONNS:-32}
READ_CONNS=${READ_CONNS:-1000}
HASH_THREADS=${HASH_THREADS:-1}
HASH_QUEUE=${HASH_QUEUE:-256}
THREADS=${THREADS:-2}
WRK_THREADS=${WRK_THREADS:-2}
PAUSE=${PAUSE:-2}
POOL=${POOL:-2}
WARMUP=0s
MYRIAD_BIN=${MYRIAD_BIN:-$ROOT/build/release/myriad}
PWHASH_BENCH=${PWHASH_BENCH:-$ROOT/build/release/bench/pwhash_bench}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/login-$(date +%Y%m%d-%H%M%S)}

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
DURATION=$(with_unit "$DURATION")
[[ -x $PWHASH_BENCH ]] || die "$PWHASH_BENCH missing: cmake --build --preset release"
for n in "$LOGIN_CONNS" "$READ_CONNS" "$HASH_THREADS" "$HASH_QUEUE"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || die "LOGIN_CONNS, READ_CONNS, HASH_THREADS, HASH_QUEUE: positive integers"
done

users_init
raise_limits "$READ_CONNS"
users_meta_header "POST /api/auth/login at saturation; GET /api/users/{id} with and without it" \
  "logins: wrk -t1 -c$LOGIN_CONNS -d$DURATION -s tools/login.lua; reads: wrk -t$WRK_THREADS -c$READ_CONNS -d$DURATION --latency -s tools/random_user.lua"
users_db
EMAIL=$(db_psql -At -c 'SELECT email FROM users WHERE id = 1')
PASSWORD=myriad-demo-password   # db::kSeedPassword: every seeded user has it

# ---------------------------------------------------------------- ceiling: raw verify rate
# Measured right before and right after the logins-alone run, and their mean is the
# ceiling: this machine's single-thread rate drifts by a third within minutes (shared
# cores), so one measurement minutes away from the logins would compare different machines.
raw_verify_rate() {  # $1: tag for the JSON file
  "$PWHASH_BENCH" --benchmark_filter='BM_SodiumVerify/real_time/threads:1$' \
    --benchmark_min_time=5 --benchmark_format=json >"$RESULTS_DIR/pwhash-$1.json" 2>/dev/null \
    || die "pwhash_bench failed"
  "$PY" -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; print(b["items_per_second"] if "items_per_second" in b else 1000.0/b["real_time"])' "$RESULTS_DIR/pwhash-$1.json"
}

# ---------------------------------------------------------------- Myriad
# Rate limits off: every login comes from 127.0.0.1 for the same account, which the per-IP
# login limit would throttle (a capacity benchmark, not a brute-force test).
# GET /api/users/{id} needs a logged-in caller: the reads carry an administrator's token
# (lib.sh bench_admin_token), which must outlive the run (--access-token-ttl 24h).
MYRIAD_EXTRA=(--hash-threads "$HASH_THREADS" --hash-queue "$HASH_QUEUE" --rate-limit off
  --access-token-ttl 24h)
start_myriad_db
meta myriad_extra "${MYRIAD_EXTRA[*]}"
bench_admin_token "$MYRIAD_PORT" "$DB_URL"
expect_200 /api/users/1
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "http://127.0.0.1:$MYRIAD_PORT/api/auth/login")
[[ $code == 200 ]] || die "POST /api/auth/login answered $code for the seeded user"

URL="http://127.0.0.1:$MYRIAD_PORT"
log "raw crypto_pwhash_str_verify rate before the logins (bench/micro/pwhash_bench.cpp, 1 thread)"
raw_before=$(raw_verify_rate before)
log "logins alone: $DURATION at $LOGIN_CONNS connections"
run_wrk_bounded "$RESULTS_DIR/wrk-login.txt" "$DURATION" -t1 -c"$LOGIN_CONNS" --latency --timeout 10s \
  -s "$BENCH/tools/login.lua" "$URL" -- "$EMAIL" "$PASSWORD" || warn "login wrk failed"
log "raw verify rate after the logins"
raw_after=$(raw_verify_rate after)
raw_rate=$("$PY" -c 'import sys; print((float(sys.argv[1]) + float(sys.argv[2])) / 2)' "$raw_before" "$raw_after")
meta raw_verify_per_s_before "$raw_before"
meta raw_verify_per_s_after "$raw_after"
meta raw_verify_per_s "$raw_rate"
log "raw verify rate: $raw_before/s before, $raw_after/s after; ceiling $raw_rate/s per thread"
sleep "$PAUSE"
log "reads alone: $DURATION at $READ_CONNS connections"
run_wrk_bounded "$RESULTS_DIR/wrk-read.txt" "$DURATION" -t"$WRK_THREADS" -c"$READ_CONNS" --latency \
  --timeout 10s -s "$BENCH/tools/random_user.lua" "$URL" -- "$USERS" || warn "read wrk failed"
sleep "$PAUSE"
log "reads while logins saturate the hashing pool"
secs=$(dur_secs "$DURATION")
run_wrk_bounded "$RESULTS_DIR/wrk-login-under-reads.txt" "$((secs + 4))s" -t1 -c"$LOGIN_CONNS" \
  --latency --timeout 10s -s "$BENCH/tools/login.lua" "$URL" -- "$EMAIL" "$PASSWORD" &
HELPER_PID=$!
sleep 2
run_wrk_bounded "$RESULTS_DIR/wrk-read-under-logins.txt" "$DURATION" -t"$WRK_THREADS" -c"$READ_CONNS" \
  --latency --timeout 10s -s "$BENCH/tools/random_user.lua" "$URL" -- "$USERS" || warn "read wrk failed"
wait "$HELPER_PID" || warn "login wrk (under reads) failed"
HELPER_PID=''
meta finished "$(date -Is), load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$BENCH/tools/login_report.py" "$RESULTS_DIR" "$HASH_THREADS" | tee "$RESULTS_DIR/summary.md"
