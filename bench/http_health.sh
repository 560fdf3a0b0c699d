#!/usr/bin/env bash
# Myriad `GET /api/health` against nginx `return 200` with the same JSON body, same
# machine, same run: wrk -t2 --latency at 100 / 1,000 / 10,000 connections, then
# resident memory with 10,000 idle keep-alive connections. See bench/README.md.
#
# Environment (all optional):
#   DURATION=15s         measured wrk duration per run
#   LEVELS="100 1000 10000"  connection counts
#   WARMUP=3s            unreported wrk run before each measured run (0 = none)
#   THREADS=2            Myriad --threads and nginx worker_processes
#   WRK_THREADS=2        wrk -t
#   SERVERS="myriad nginx"   or "nginx" / "myriad" alone
#   MYRIAD_BIN=build/release/myriad
#   BUILD=auto           auto: build the release preset only when the default binary is
#                        missing; always: run the (incremental) build first; never
#   IDLE_CONNS=10000     idle keep-alive connections for the memory figure (0 = skip)
#   PAUSE=2              seconds between runs, to let closed connections drain
#   NGINX=/usr/sbin/nginx
#   RESULTS_DIR=bench/results/<timestamp>
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=/usr/bin/python3   # Debian's interpreter: the helpers use the standard library only

DURATION=${DURATION:-15s}
LEVELS=${LEVELS:-100 1000 10000}
WARMUP=${WARMUP:-3s}
THREADS=${THREADS:-2}
WRK_THREADS=${WRK_THREADS:-2}
SERVERS=${SERVERS:-myriad nginx}
DEFAULT_MYRIAD_BIN="$ROOT/build/release/myriad"
MYRIAD_BIN=${MYRIAD_BIN:-$DEFAULT_MYRIAD_BIN}
BUILD=${BUILD:-auto}
IDLE_CONNS=${IDLE_CONNS:-10000}
PAUSE=${PAUSE:-2}
NGINX=${NGINX:-/usr/sbin/nginx}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/$(date +%Y%m%d-%H%M%S)}

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
DURATION=$(with_unit "$DURATION")
WARMUP=$(with_unit "$WARMUP")

# ---------------------------------------------------------------- preconditions
for s in $SERVERS; do
  [[ $s == myriad || $s == nginx ]] || die "SERVERS may hold only 'myriad' and 'nginx' (got '$s')"
done
[[ -n ${SERVERS// /} ]] || die "SERVERS is empty"
has_server() { [[ " $SERVERS " == *" $1 "* ]]; }
command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
command -v curl >/dev/null || die "curl not found (apt-get install curl)"
[[ -x $PY ]] || die "$PY not found"
if has_server nginx; then
  [[ -x $NGINX ]] || die "nginx not found at $NGINX (apt-get install nginx-light, or NGINX=path)"
fi
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"

if has_server myriad; then
  if [[ $BUILD == always || ( $BUILD == auto && ! -x $MYRIAD_BIN && $MYRIAD_BIN == "$DEFAULT_MYRIAD_BIN" ) ]]; then
    [[ -x $MYRIAD_BIN ]] || log "Myriad release binary missing at $MYRIAD_BIN"
    log "building: cmake --preset release && cmake --build --preset release"
    mkdir -p "$RESULTS_DIR"
    if ! (cd "$ROOT" && cmake --preset release && cmake --build --preset release) \
        >"$RESULTS_DIR/build.log" 2>&1; then
      tail -n 30 "$RESULTS_DIR/build.log" >&2 || true
      die "release build failed (full log: $RESULTS_DIR/build.log). To benchmark nginx alone: SERVERS=nginx $0"
    fi
  fi
  if [[ ! -x $MYRIAD_BIN ]]; then
    die "Myriad release binary missing: $MYRIAD_BIN does not exist or is not executable.
       Build it with: cmake --preset release && cmake --build --preset release
       (or set MYRIAD_BIN=path). To benchmark nginx alone: SERVERS=nginx $0"
  fi
fi

mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
TMP=$(mktemp -d /tmp/myriad-bench.XXXXXX)

# ---------------------------------------------------------------- cleanup
MYRIAD_PID='' NGINX_PID='' HELPER_PID=''
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID" 5   # timeout(1) passes the TERM on to wrk
  stop_pid "$HELPER_PID" 5
  stop_pid "$MYRIAD_PID" 15
  stop_nginx   # lib.sh; keeps nginx-error.log
  # Keep the server logs next to the results before the temp dir goes.
  if [[ -s $TMP/myriad.log ]]; then cp "$TMP/myriad.log" "$RESULTS_DIR/myriad.log" || true; fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- system setup
# shellcheck disable=SC2086  # LEVELS is a list of numbers
raise_limits $LEVELS "$IDLE_CONNS"

# ---------------------------------------------------------------- helpers
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
server_pids() {  # the processes whose RSS counts: Myriad itself, nginx's workers
  case $1 in
    myriad) echo "$MYRIAD_PID" ;;
    nginx) nginx_worker_pids ;;
  esac
}
server_rss_kb() {
  local total=0 pid
  for pid in $(server_pids "$1"); do total=$(( total + $(rss_kb "$pid") )); done
  echo "$total"
}
server_port() { case $1 in myriad) echo "$MYRIAD_PORT" ;; nginx) echo "$NGINX_PORT" ;; esac; }
server_pid() { case $1 in myriad) echo "$MYRIAD_PID" ;; nginx) echo "$NGINX_PID" ;; esac; }

# Check the response is what the comparison assumes, and report its size (nginx adds
# Server/Date headers: bytes on the wire differ a little between the two).
check_response() {  # name port
  local name=$1 port=$2 out status ctype hbytes bbytes body
  out=$(curl -sS --max-time 5 -o "$TMP/body.$name" \
    -w '%{http_code}|%{content_type}|%{size_header}|%{size_download}' \
    "http://127.0.0.1:$port/api/health") || die "$name: GET /api/health failed"
  IFS='|' read -r status ctype hbytes bbytes <<<"$out"
  body=$(cat "$TMP/body.$name")
  [[ $status == 200 ]] || die "$name: GET /api/health answered $status, expected 200"
  [[ $body == '{"status":"ok"}' ]] || die "$name: body is '$body', expected {\"status\":\"ok\"}"
  [[ $ctype == application/json* ]] || warn "$name: Content-Type is '$ctype', expected application/json"
  printf '%s: 200 %s, %s header bytes + %s body bytes\n' "$name" "$ctype" "$hbytes" "$bbytes"
}

start_myriad() {
  MYRIAD_PORT=$(pick_port)
  log "starting Myriad on 127.0.0.1:$MYRIAD_PORT ($THREADS threads, access log off)"
  # --max-connections-per-ip 0: a capacity benchmark sends all its traffic from one address,
  # which the default per-address cap (20) would turn away.
  "$MYRIAD_BIN" serve --listen "127.0.0.1:$MYRIAD_PORT" --threads "$THREADS" \
    --access-log off --log-level warn --max-connections-per-ip 0 >"$TMP/myriad.log" 2>&1 &
  MYRIAD_PID=$!
  wait_ready Myriad "$MYRIAD_PID" "$MYRIAD_PORT" "$TMP/myriad.log"
}

# Noise gauge: the share of the machine's CPU (all cores) that processes other than wrk
# and the servers used during a run (other builds on a shared machine, VM steal).
# Snapshot: busy and total jiffies from /proc/stat, jiffies of every server process, and
# this shell's reaped-children time (wrk, through timeout, lands there once waited for).
cpu_snapshot() {
  local pid srv=0
  for pid in "$MYRIAD_PID" "$NGINX_PID" $( [[ -n $NGINX_PID ]] && server_pids nginx ); do
    [[ -n $pid ]] || continue
    srv=$(( srv + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0) ))
  done
  # busy = user nice system steal; irq/softirq (loopback packet work) count for the benchmark.
  echo "$(awk '/^cpu / { b = $2 + $3 + $4 + $9; print b, b + $5 + $6 + $7 + $8 }' /proc/stat) $srv $(awk '{ print $16 + $17 }' "/proc/$$/stat")"
}
other_cpu_pct() {  # "before snapshot" "after snapshot"
  local b0 t0 s0 w0 b1 t1 s1 w1
  read -r b0 t0 s0 w0 <<<"$1"
  read -r b1 t1 s1 w1 <<<"$2"
  awk -v o=$(( (b1 - b0) - (s1 - s0) - (w1 - w0) )) -v t=$(( t1 - t0 )) \
    'BEGIN { p = (t > 0 ? 100 * o / t : 0); if (p < 0) p = 0; printf "%.1f", p }'
}

run_wrk() {  # server conns duration outfile
  local server=$1 c=$2 d=$3 outf=$4 port rc=0
  port=$(server_port "$server")
  run_wrk_bounded "$outf" "$d" -t"$WRK_THREADS" -c"$c" --latency --timeout 10s \
    "http://127.0.0.1:$port/api/health" || rc=$?
  (( rc == 0 )) || warn "wrk exited with $rc ($server, $c conns)"
  kill -0 "$(server_pid "$server")" 2>/dev/null || die "$server died during the $c-connection run"
}

# Memory with IDLE_CONNS idle keep-alive connections: the helper opens them, gets one
# response on each, writes READY, and holds them until SIGUSR1.
measure_idle_conns() {  # server
  local server=$1 port status i rss ready alive ok
  port=$(server_port "$server")
  status="$TMP/idle.$server.status"
  "$PY" "$BENCH/tools/idle_conns.py" --port "$port" --count "$IDLE_CONNS" \
    --status-file "$status" --timeout 90 --hold 120 >"$RESULTS_DIR/idle-conns-$server.txt" 2>&1 &
  HELPER_PID=$!
  for ((i = 0; i < 1200; i++)); do
    grep -q '^READY' "$status" 2>/dev/null && break
    kill -0 "$HELPER_PID" 2>/dev/null || break
    sleep 0.1
  done
  ready=$(grep '^READY' "$status" 2>/dev/null || true)
  if [[ -z $ready ]]; then
    warn "$server: idle-connection helper did not get ready"
    stop_pid "$HELPER_PID" 5; HELPER_PID=
    printf '%s\tidle_conns\tERROR\t\t0\t%s\t0\n' "$server" "$IDLE_CONNS" >>"$RESULTS_DIR/mem.tsv"
    return 0
  fi
  sleep 1   # let the server finish whatever the last responses left behind
  rss=$(server_rss_kb "$server")
  kill -USR1 "$HELPER_PID" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    grep -q '^ALIVE' "$status" 2>/dev/null && break
    sleep 0.1
  done
  wait "$HELPER_PID" 2>/dev/null || true
  HELPER_PID=
  ok=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$ready")
  alive=$(awk '/^ALIVE/ { print $2 }' "$status")
  log "$server: $ready; ${alive:-?} still open at measurement; RSS ${rss} kB"
  printf '%s\tidle_conns\t%s\t%s\t%s\t%s\t%s\n' "$server" "$rss" \
    "$(server_pids "$server" | wc -w)" "${ok:-0}" "$IDLE_CONNS" "${alive:-0}" >>"$RESULTS_DIR/mem.tsv"
}

record_rss() {  # server phase
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(server_rss_kb "$1")" "$(server_pids "$1" | wc -w)" \
    >>"$RESULTS_DIR/mem.tsv"
}

# ---------------------------------------------------------------- run
: >"$RESULTS_DIR/runs.tsv"
: >"$RESULTS_DIR/mem.tsv"
if has_server myriad; then start_myriad; fi
if has_server nginx; then start_nginx "$BENCH/nginx/health.conf.in"; fi

{
  echo "Myriad /api/health vs nginx return 200: $(date -Is)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2/1048576 }' /proc/meminfo), $(uname -sr); $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "wrk: $(wrk --version 2>&1 | head -n 1 | awk '{ print $1, $2 }') -t$WRK_THREADS --latency --timeout 10s -d$DURATION, warm-up ${WARMUP} per run (not reported), $PAUSE s pause between runs"
  echo "levels: $LEVELS connections; server order alternates per level"
  if has_server myriad; then
    echo "myriad: $MYRIAD_BIN ($("$MYRIAD_BIN" version 2>/dev/null | head -n 1 || true))"
    echo "        serve --listen 127.0.0.1:$MYRIAD_PORT --threads $THREADS --access-log off --log-level warn --max-connections-per-ip 0"
  fi
  if has_server nginx; then
    echo "nginx:  $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes $THREADS, access_log off, return 200 (config: nginx.conf)"
  fi
  echo "access logs: off on both servers"
  echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (anything else busy on the machine skews both servers)"
  echo "limits: somaxconn $(sysctl -n net.core.somaxconn), tcp_max_syn_backlog $(sysctl -n net.ipv4.tcp_max_syn_backlog), ulimit -n $(ulimit -n)"
  if has_server myriad; then check_response myriad "$MYRIAD_PORT"; fi
  if has_server nginx; then check_response nginx "$NGINX_PORT"; fi
} >"$RESULTS_DIR/header.txt"
sed -n '/^myriad: 200\|^nginx: 200/p' "$RESULTS_DIR/header.txt" >&2
log "results folder: $RESULTS_DIR"

for s in $SERVERS; do record_rss "$s" start; done

read -r -a server_list <<<"$SERVERS"
i=0
for c in $LEVELS; do
  order=("${server_list[@]}")
  if (( i % 2 == 1 )) && (( ${#order[@]} == 2 )); then order=("${order[1]}" "${order[0]}"); fi
  for s in "${order[@]}"; do
    if [[ $WARMUP != 0s ]]; then
      log "$s: warm-up $WARMUP at $c connections"
      run_wrk "$s" "$c" "$WARMUP" "$RESULTS_DIR/warmup-c$c-$s.txt"
      sleep "$PAUSE"
    fi
    log "$s: $DURATION at $c connections"
    raw="$RESULTS_DIR/wrk-c$c-$s.txt"
    snap0=$(cpu_snapshot)
    run_wrk "$s" "$c" "$DURATION" "$raw"
    other=$(other_cpu_pct "$snap0" "$(cpu_snapshot)")
    if parsed=$("$PY" "$BENCH/tools/wrk_parse.py" "$raw"); then
      printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$s" "$parsed" "$(basename "$raw")" "$other" \
        >>"$RESULTS_DIR/runs.tsv"
      read -r rps p50 p99 _ <<<"$parsed"
      log "$s @ $c: $rps req/s, p50 $p50 ms, p99 $p99 ms (other processes: $other% CPU)"
    else
      printf '%s\t%s\tERROR\t\t\t\t\t\t\t\t\t%s\t%s\n' "$c" "$s" "$(basename "$raw")" "$other" \
        >>"$RESULTS_DIR/runs.tsv"
      warn "could not parse $raw"
    fi
    sleep "$PAUSE"
  done
  i=$((i + 1))
done

if (( IDLE_CONNS > 0 )); then
  for s in $SERVERS; do
    record_rss "$s" after_load
    log "$s: opening $IDLE_CONNS idle keep-alive connections for the memory figure"
    measure_idle_conns "$s"
    sleep "$PAUSE"
  done
fi

{
  cat "$RESULTS_DIR/header.txt"
  echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$PY" "$BENCH/tools/health_report.py" "$RESULTS_DIR"
  echo
  echo "raw wrk output and logs: $RESULTS_DIR"
} | tee "$RESULTS_DIR/summary.txt"
