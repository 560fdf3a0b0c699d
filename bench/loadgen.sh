#!/usr/bin/env bash
# myriad-load against wrk, both closed loop on the same nginx `return 200`, same machine,
# same run, at 1,000 and 10,000 connections: the load generator must never be the
# bottleneck (req/s >= 0.9x wrk's) and must measure the same latencies (p50 and p99 within
# 10% of wrk's). Issue 6; see bench/README.md.
#
# Environment (all optional):
#   DURATION=15s          each measured run
#   LEVELS="1000 10000"   connection counts
#   WARMUP=3s             an unreported run of the same tool before each measured one (0 = none)
#   ROUNDS=2              measured runs per tool and level; the table shows the median
#   THREADS=2             nginx worker_processes
#   LOAD_THREADS=2        wrk -t and myriad-load -t
#   PAUSE=2               seconds between runs, to let closed connections drain
#   LOAD_BIN=build/release/myriad-load (built when missing)
#   NGINX=/usr/sbin/nginx
#   RESULTS_DIR=bench/results/loadgen-<timestamp>
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=/usr/bin/python3

DURATION=${DURATION:-15s}
LEVELS=${LEVELS:-1000 10000}
WARMUP=${WARMUP:-3s}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
LOAD_THREADS=${LOAD_THREADS:-2}
PAUSE=${PAUSE:-2}
DEFAULT_LOAD_BIN="$ROOT/build/release/myriad-load"
LOAD_BIN=${LOAD_BIN:-$DEFAULT_LOAD_BIN}
NGINX=${NGINX:-/usr/sbin/nginx}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/loadgen-$(date +%Y%m%d-%H%M%S)}

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
DURATION=$(with_unit "$DURATION")
WARMUP=$(with_unit "$WARMUP")

command -v wrk >/dev/null || die "wrk not found (scripts/deps.sh bench)"
command -v curl >/dev/null || die "curl not found (scripts/deps.sh test)"
[[ -x $PY ]] || die "$PY not found"
[[ -x $NGINX ]] || die "nginx not found at $NGINX (scripts/deps.sh bench, or NGINX=path)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
if [[ ! -x $LOAD_BIN && $LOAD_BIN == "$DEFAULT_LOAD_BIN" ]]; then
  log "building: cmake --preset release && cmake --build --preset release --target myriad-load"
  (cd "$ROOT" && cmake --preset release && cmake --build --preset release --target myriad-load) \
    >"$RESULTS_DIR/build.log" 2>&1 || { tail -n 30 "$RESULTS_DIR/build.log" >&2; die "release build failed"; }
fi
[[ -x $LOAD_BIN ]] || die "myriad-load missing: $LOAD_BIN"

TMP=$(mktemp -d /tmp/myriad-loadgen-bench.XXXXXX)
LOAD_PID=''
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID" 5
  stop_pid "$LOAD_PID" 5
  stop_nginx
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck disable=SC2086  # LEVELS is a list of numbers
raise_limits $LEVELS
start_nginx "$BENCH/nginx/health.conf.in"
URL="http://127.0.0.1:$NGINX_PORT/api/health"
{
  printf 'started\t%s\n' "$(date -Is)"
  printf 'machine\t%s cores, %s, load average before: %s\n' "$(nproc)" "$(uname -sr)" "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'nginx\t%s workers, return 200 {"status":"ok"}\n' "$THREADS"
  printf 'wrk\twrk -t%s -cC -d%s --latency --timeout 10s %s\n' "$LOAD_THREADS" "$DURATION" "$URL"
  printf 'myriad-load\tmyriad-load -t%s -cC -d%s --timeout 10s --json FILE %s\n' "$LOAD_THREADS" "$DURATION" "$URL"
} >"$RESULTS_DIR/meta.tsv"

# myriad-load bounded like wrk (run_wrk_bounded): in the background, so the trap can stop it.
run_load_bounded() {  # json-file text-file duration args...
  local json=$1 text=$2 d=$3 rc=0
  shift 3
  timeout --kill-after=10 $(( $(dur_secs "$d") + 60 )) "$LOAD_BIN" -q -d"$d" --timeout 10s \
    --json "$json" "$@" "$URL" >"$text" 2>&1 &
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=''
  return "$rc"
}

run_tool() {  # tool conns round
  local tool=$1 c=$2 r=$3
  if [[ $WARMUP != 0s ]]; then
    if [[ $tool == wrk ]]; then
      run_wrk_bounded "$TMP/warmup.txt" "$WARMUP" -t"$LOAD_THREADS" -c"$c" --timeout 10s "$URL" || true
    else
      run_load_bounded "$TMP/warmup.json" "$TMP/warmup.txt" "$WARMUP" -t"$LOAD_THREADS" -c"$c" || true
    fi
    sleep "$PAUSE"
  fi
  log "$tool: $DURATION at $c connections (round $r)"
  if [[ $tool == wrk ]]; then
    run_wrk_bounded "$RESULTS_DIR/wrk-c$c-r$r.txt" "$DURATION" -t"$LOAD_THREADS" -c"$c" \
      --latency --timeout 10s "$URL" || warn "wrk exited with an error ($c conns)"
  else
    run_load_bounded "$RESULTS_DIR/load-c$c-r$r.json" "$RESULTS_DIR/load-c$c-r$r.txt" "$DURATION" \
      -t"$LOAD_THREADS" -c"$c" || warn "myriad-load exited with an error ($c conns)"
  fi
  sleep "$PAUSE"
}

i=0
for c in $LEVELS; do
  for ((r = 1; r <= ROUNDS; r++)); do
    # Alternate which tool goes first, so neither always gets the warmer machine.
    if (( i++ % 2 == 0 )); then run_tool wrk "$c" "$r"; run_tool load "$c" "$r"
    else run_tool load "$c" "$r"; run_tool wrk "$c" "$r"; fi
  done
done

"$PY" "$BENCH/tools/loadgen_report.py" "$RESULTS_DIR" | tee "$RESULTS_DIR/summary.md"
