#!/usr/bin/env bash
# myriad-load against wrk, both closed loop on the same nginx `return 200`, same machine,
# same run, at 1,000 and 10,000 connections: the load generator must never be the
# bottleneck (req/s >= 0.9x wrk's) and must measure the same latencies (p50 and p99 within
# 10% of wrk's). Issue 6; see bench/README.md.
#
# myriad-load runs twice per level and round: with --latency-end read, whose latencies end
# where wrk's do (when the tool reads the response), for the targets; and as it runs by
# default (--latency-end arrival: when the response reached the host). A curl probe on one
# connection of its own measures the server alongside each run.
#
# Environment (all optional):
#   DURATION=15s          each measured run
#   LEVELS="1000 10000"   connection counts
#   WARMUP=3s             an unreported run of the same tool before each measured one (0 = none)
#   ROUNDS=3              measured runs per tool and level; the table shows the median,
#                         and the req/s ratio of each round (its runs are back to back)
#   THREADS=2             nginx worker_processes
#   LOAD_THREADS=2        wrk -t and myriad-load -t
#   PAUSE=2               seconds between runs, to let closed connections drain
#   PROBE_RATE=20         requests/s of the curl probe on its own connection during each
#                         measured run (0 = no probe)
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
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
LOAD_THREADS=${LOAD_THREADS:-2}
PAUSE=${PAUSE:-2}
PROBE_RATE=${PROBE_RATE:-20}
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
[[ $PROBE_RATE =~ ^[0-9]+$ ]] || die "PROBE_RATE must be a whole number of requests per second"
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
PROBE_PID=''
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID" 5
  stop_pid "$LOAD_PID" 5
  stop_pid "$PROBE_PID" 5
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
  printf 'myriad-load\tmyriad-load -t%s -cC -d%s --timeout 10s --latency-end read --json FILE %s\n' "$LOAD_THREADS" "$DURATION" "$URL"
  printf 'arrival\tmyriad-load -t%s -cC -d%s --timeout 10s --json FILE %s (--latency-end arrival, the default)\n' "$LOAD_THREADS" "$DURATION" "$URL"
  printf 'probe\tcurl --rate %s/s on one connection during each measured run\n' "$PROBE_RATE"
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

# A third opinion on the server's latency while a tool loads it: curl on one connection of
# its own, PROBE_RATE requests a second from the second second to the end of the run, each
# line its time_total. With one connection it waits for nobody in its own process, where
# each load tool's connection waits its turn among thousands (see bench/README.md).
start_probe() {  # outfile duration
  local outf=$1 n i
  n=$(( ($(dur_secs "$2") - 2) * PROBE_RATE ))
  (( PROBE_RATE > 0 && n > 0 )) || return 0
  local args=()
  for ((i = 0; i < n; i++)); do args+=(-o /dev/null "$URL"); done
  # The times go to stderr, which is unbuffered: on stdout (a file, so block-buffered) a probe
  # cut off at the end of a slow run lost every line it had measured (2 files of 18 empty in
  # loadgen-20261130-091114). -s keeps curl's own messages off stderr.
  ( sleep 1; exec curl -s --rate "$PROBE_RATE/s" --max-time 10 -w '%{stderr}%{time_total}\n' \
      "${args[@]}" ) >/dev/null 2>"$outf" &
  PROBE_PID=$!
}
stop_probe() {
  [[ -n $PROBE_PID ]] || return 0
  # It ends on its own a second before the run; a straggler is cut off (keeping its lines).
  stop_pid "$PROBE_PID" 2
  PROBE_PID=''
}

run_tool() {  # tool (wrk, load or arrival) conns round
  local tool=$1 c=$2 r=$3 end=read
  [[ $tool == arrival ]] && end=arrival
  if [[ $WARMUP != 0s ]]; then
    if [[ $tool == wrk ]]; then
      run_wrk_bounded "$TMP/warmup.txt" "$WARMUP" -t"$LOAD_THREADS" -c"$c" --timeout 10s "$URL" || true
    else
      run_load_bounded "$TMP/warmup.json" "$TMP/warmup.txt" "$WARMUP" -t"$LOAD_THREADS" -c"$c" \
        --latency-end "$end" || true
    fi
    sleep "$PAUSE"
  fi
  log "$tool: $DURATION at $c connections (round $r)"
  start_probe "$RESULTS_DIR/probe-$tool-c$c-r$r.txt" "$DURATION"
  if [[ $tool == wrk ]]; then
    run_wrk_bounded "$RESULTS_DIR/wrk-c$c-r$r.txt" "$DURATION" -t"$LOAD_THREADS" -c"$c" \
      --latency --timeout 10s "$URL" || warn "wrk exited with an error ($c conns)"
  else
    run_load_bounded "$RESULTS_DIR/$tool-c$c-r$r.json" "$RESULTS_DIR/$tool-c$c-r$r.txt" "$DURATION" \
      -t"$LOAD_THREADS" -c"$c" --latency-end "$end" || warn "myriad-load exited with an error ($c conns, $end)"
  fi
  stop_probe
  sleep "$PAUSE"
}

i=0
tools=(wrk load arrival)
for c in $LEVELS; do
  for ((r = 1; r <= ROUNDS; r++)); do
    # Rotate which tool goes first, so none always gets the warmer machine.
    for ((k = 0; k < 3; k++)); do run_tool "${tools[(i + k) % 3]}" "$c" "$r"; done
    i=$(( i + 1 ))
  done
done

"$PY" "$BENCH/tools/loadgen_report.py" "$RESULTS_DIR" | tee "$RESULTS_DIR/summary.md"
