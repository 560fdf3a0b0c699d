#!/usr/bin/env bash
# Cached GET /api/users/{id} (random ids over a hot set) against nginx `return 200` with a
# user-sized JSON body, same machine, same run: wrk -t2 --latency at each level of LEVELS
# connections, with the cache hit ratio and the database's queries/s during every Myriad
# run. Then the same load with Redis stopped mid-run and started again. Issue 4; see
# bench/README.md.
#
# The users API needs authentication: every request (to Myriad and, for the same bytes on
# the wire, to nginx) carries an administrator's access token (lib.sh bench_admin_token), so
# Myriad also resolves the caller (a cache hit after the first request). Myriad runs with
# --access-token-ttl 24h and --rate-limit off.
#
# Environment (all optional):
#   USERS=1000000        rows seeded (ids 1..USERS)
#   HOT=100000           the hot set: requests pick ids uniformly in 1..HOT
#   LEVELS="1000 10000"  wrk connection counts (nginx and Myriad, order alternating)
#   DURATION=15s         each measured wrk run
#   WARMUP=5s            unreported wrk run before each measured one (0 = none); also the
#                        length of each cache-fill round
#   DOWN_LEVELS=1000     connection counts of the Redis-down runs ("" = none)
#   DOWN_DURATION=       Redis-down wrk run; default DURATION, at least 15 s
#   REDIS_DOWN_AT=       seconds into that run when Redis is stopped (default a third)
#   REDIS_DOWN_FOR=      seconds it stays down (default a third of the run)
#   POOL=2               myriad serve --db-pool-size
#   THREADS=2            myriad serve --threads and nginx worker_processes
#   WRK_THREADS=2        wrk -t
#   MYRIAD_ARGS=         extra `myriad serve` flags, e.g. "--cache-local-entries 0"
#   PAUSE=2              seconds between runs
#   NGINX=/usr/sbin/nginx
#   MYRIAD_BIN=build/release/myriad
#   RESULTS_DIR=bench/results/users-cached-<timestamp>
#
# Targets: at every level, Myriad req/s >= 0.7x nginx's and p99 <= 2x nginx's, 0 socket
# errors and 0 non-2xx (a 401/403 counts as an error); with Redis stopped mid-run, 0 errors
# and Myriad reconnects.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=/usr/bin/python3   # Debian's interpreter: the helpers use the standard library only

USERS=${USERS:-1000000}
HOT=${HOT:-100000}
LEVELS=${LEVELS:-1000 10000}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-5s}
DOWN_LEVELS=${DOWN_LEVELS-1000}
DOWN_DURATION=${DOWN_DURATION:-}
REDIS_DOWN_AT=${REDIS_DOWN_AT:-}
REDIS_DOWN_FOR=${REDIS_DOWN_FOR:-}
POOL=${POOL:-2}
THREADS=${THREADS:-2}
WRK_THREADS=${WRK_THREADS:-2}
MYRIAD_ARGS=${MYRIAD_ARGS:-}
PAUSE=${PAUSE:-2}
NGINX=${NGINX:-/usr/sbin/nginx}
MYRIAD_BIN=${MYRIAD_BIN:-$ROOT/build/release/myriad}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/users-cached-$(date +%Y%m%d-%H%M%S)}
FILL_CONNS=128   # cache fill: misses go to the database, more connections do not help
FILL_ROUNDS=10

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
DURATION=$(with_unit "$DURATION")
WARMUP=$(with_unit "$WARMUP")

# ---------------------------------------------------------------- options
[[ $HOT =~ ^[1-9][0-9]*$ ]] || die "HOT must be a positive integer"
[[ $USERS =~ ^[1-9][0-9]*$ ]] && (( HOT > USERS )) && die "HOT ($HOT) must not exceed USERS ($USERS)"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"
[[ $WRK_THREADS =~ ^[1-9][0-9]*$ ]] || die "WRK_THREADS must be a positive integer"
for c in $LEVELS $DOWN_LEVELS; do
  [[ $c =~ ^[1-9][0-9]*$ ]] || die "LEVELS and DOWN_LEVELS must hold positive integers (got '$c')"
done
[[ -n ${LEVELS// /} ]] || die "LEVELS is empty"
[[ -x $NGINX ]] || die "nginx not found at $NGINX (apt-get install nginx-light, or NGINX=path)"
command -v redis-server >/dev/null || die "redis-server not found (scripts/deps.sh redis)"
fill_secs=$(dur_secs "$WARMUP")
(( fill_secs >= 2 )) || fill_secs=2   # WARMUP=0 still needs a cache fill
down_secs=$(dur_secs "${DOWN_DURATION:-$DURATION}")
(( down_secs >= 15 )) || down_secs=15
REDIS_DOWN_AT=${REDIS_DOWN_AT:-$(( down_secs / 3 ))}
REDIS_DOWN_FOR=${REDIS_DOWN_FOR:-$(( down_secs / 3 ))}
[[ $REDIS_DOWN_AT =~ ^[0-9]+$ && $REDIS_DOWN_FOR =~ ^[1-9][0-9]*$ ]] \
  || die "REDIS_DOWN_AT and REDIS_DOWN_FOR are whole seconds (FOR > 0)"
(( REDIS_DOWN_AT >= 2 && REDIS_DOWN_AT + REDIS_DOWN_FOR + 2 <= down_secs )) \
  || die "the outage ($REDIS_DOWN_AT s + $REDIS_DOWN_FOR s) must leave >= 2 s before and after it in the ${down_secs} s run"

REPORT_KIND=cached
# lib.sh's report() runs users_report.py; this benchmark has its own.
report() {
  "$PY" "$BENCH/tools/cached_report.py" "$RESULTS_DIR" | tee "$RESULTS_DIR/summary.md"
}

users_init   # checks, $TMP, meta.tsv, runs.jsonl; its trap stops Myriad and PostgreSQL
unset MYRIAD_REDIS_URL   # scripts/redis.sh would otherwise use that server
REDIS_DIR="$TMP/redis"
cached_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e   # clean up everything whatever fails on the way
  stop_pid "$WRK_PID" 5
  WRK_PID=''
  stop_pid "$HELPER_PID" 5
  HELPER_PID=''
  stop_nginx
  stop_pid "$MYRIAD_PID" 15   # before Redis, so it does not log a reconnect storm
  if [[ -s $TMP/myriad.log ]]; then cp "$TMP/myriad.log" "$RESULTS_DIR/myriad.log" || true; fi
  MYRIAD_PID=''
  bash "$ROOT/scripts/redis.sh" destroy "$REDIS_DIR" >/dev/null 2>&1 || true
  (exit "$rc")
  users_cleanup   # PostgreSQL, the temp folder; exits with rc
}
trap cached_cleanup EXIT

# shellcheck disable=SC2086  # LEVELS and DOWN_LEVELS are lists of numbers
raise_limits $LEVELS $DOWN_LEVELS

users_meta_header "GET /api/users/{id}, random id in 1..HOT, cached (in process + Redis)" \
  "wrk -t$WRK_THREADS --latency --timeout 10s -d$DURATION -s tools/random_user.lua -- HOT (Authorization: Bearer <admin token>, to both servers), warm-up $WARMUP per run (not reported), order nginx/Myriad alternating per level"
meta hot "$HOT"
meta rate_limit "off (--rate-limit off: all traffic comes from 127.0.0.1; a capacity benchmark, not a per-client one)"

users_db

# ---------------------------------------------------------------- Redis
# A port below the ephemeral range (lib.sh pick_port), kept in DIR/port, so that while Redis
# is down no client socket (wrk, Myriad's reconnects) can take it and block the restart.
mkdir -p "$REDIS_DIR"
pick_port >"$REDIS_DIR/port"
log "private Redis in $REDIS_DIR"
REDIS_URL=$(bash "$ROOT/scripts/redis.sh" start "$REDIS_DIR" | tail -n 1)
meta redis "$(redis-server --version | awk '{ print $1, $3 }'), $REDIS_URL, no persistence (a restart comes back empty)"
redis_cli() { bash "$ROOT/scripts/redis.sh" cli "$REDIS_DIR" "$@"; }

# ---------------------------------------------------------------- Myriad
serve_help=$("$MYRIAD_BIN" serve --help 2>&1 || true)   # whole: grep -q would SIGPIPE it
for flag in --database-url --redis-url --cache --rate-limit; do
  if ! grep -q -- "$flag " <<<"$serve_help"; then
    meta http_error "myriad serve has no $flag option"
    report || true
    die "$MYRIAD_BIN serve has no $flag option: this build has no user cache yet.
       Rebuild: cmake --preset release && cmake --build --preset release"
  fi
done
MYRIAD_PORT=$(pick_port)
read -r -a extra_args <<<"$MYRIAD_ARGS"
# --rate-limit off and --max-connections-per-ip 0: a capacity benchmark sends all its traffic
# from one address, which the per-client limits would turn away. --access-token-ttl 24h: the
# admin token must outlive the run.
MYRIAD_CMD=(serve --listen "127.0.0.1:$MYRIAD_PORT" --threads "$THREADS" --access-log off
  --log-level warn --database-url "$DB_URL" --db-pool-size "$POOL" --redis-url "$REDIS_URL"
  --cache on --rate-limit off --max-connections-per-ip 0 --access-token-ttl 24h
  ${extra_args[@]+"${extra_args[@]}"})
meta myriad_cmd "myriad ${MYRIAD_CMD[*]}"
meta pool "$POOL"
log "starting Myriad on 127.0.0.1:$MYRIAD_PORT ($THREADS threads, cache on, Redis $REDIS_URL)"
"$MYRIAD_BIN" "${MYRIAD_CMD[@]}" >"$TMP/myriad.log" 2>&1 &
MYRIAD_PID=$!
wait_ready Myriad "$MYRIAD_PID" "$MYRIAD_PORT" "$TMP/myriad.log"
bench_admin_token "$MYRIAD_PORT" "$DB_URL"
expect_200 "/api/users/$HOT"
expect_200 /api/users/1   # leaves the body in $TMP/check.body

# Status, Content-Type and bytes on the wire of one answer.
response_line() {  # name port
  local out status ctype hbytes bbytes
  out=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}|%{content_type}|%{size_header}|%{size_download}' \
    -H "Authorization: Bearer $MYRIAD_BENCH_TOKEN" "http://127.0.0.1:$2/api/users/1") \
    || die "$1: GET /api/users/1 failed"
  IFS='|' read -r status ctype hbytes bbytes <<<"$out"
  [[ $status == 200 ]] || die "$1: GET /api/users/1 answered $status"
  echo "200 $ctype, $hbytes header bytes + $bbytes body bytes"
}
meta response_myriad "$(response_line myriad "$MYRIAD_PORT")"

# ---------------------------------------------------------------- nginx
body=$(cat "$TMP/check.body")
[[ $body == *[\'\$\\]* || $body == *$'\n'* ]] \
  && die "the user body holds a quote, \$, backslash or newline: cannot go into nginx's return: $body"
body_sed=$(printf '%s' "$body" | sed -e 's/[&|\\]/\\&/g')
start_nginx "$BENCH/nginx/user.conf.in" "s|@BODY@|$body_sed|g"
nginx_body=$(curl -sS --max-time 5 "http://127.0.0.1:$NGINX_PORT/api/users/42")
[[ $nginx_body == "$body" ]] || die "nginx answers '$nginx_body', expected Myriad's body '$body'"
meta nginx "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), worker_processes $THREADS, access_log off, return 200 with the body of Myriad's GET /api/users/1 for every id (config: nginx.conf)"
meta response_nginx "$(response_line nginx "$NGINX_PORT")"

# ---------------------------------------------------------------- snapshots
# PostgreSQL's own count of what reached it: committed transactions of the database
# (pg_stat_database; backends report it at most once a second) and calls of the users point
# select (pg_stat_statements, counted at once), when the extension is there.
if [[ $(db_psql -At -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'") == 1 ]]; then
  PGSS="(SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%FROM users WHERE id = \$1')"
  meta pg_stats "pg_stat_database.xact_commit and pg_stat_statements calls of the users point select"
else
  PGSS="NULL"
  meta pg_stats "pg_stat_database.xact_commit (pg_stat_statements is not installed)"
fi
mkdir -p "$RESULTS_DIR/metrics"
printf 'label\ttime\txact_commit\tpoint_selects\n' >"$RESULTS_DIR/snapshots.tsv"
snapshot() {  # label: /metrics into metrics/<label>.prom, PostgreSQL counters into snapshots.tsv
  local t pg
  curl -sS --max-time 5 "http://127.0.0.1:$MYRIAD_PORT/metrics" >"$RESULTS_DIR/metrics/$1.prom" \
    || warn "could not scrape /metrics ($1)"
  t=$(date +%s.%N)
  pg=$(db_psql -At -F $'\t' -c "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), $PGSS") \
    || pg=$'\t'
  printf '%s\t%s\t%s\n' "$1" "$t" "$pg" >>"$RESULTS_DIR/snapshots.tsv"
}
metric_value() {  # exact series text, e.g. 'myriad_redis_connections{state="up"}'
  curl -sS --max-time 5 "http://127.0.0.1:$MYRIAD_PORT/metrics" 2>/dev/null \
    | awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

# ---------------------------------------------------------------- cache fill
# Walks ids 1..HOT in order (tools/hot_user.lua) until Redis holds every one of them; the
# in-process layer's entries may be cut short whenever its invalidation feed drops, so it is
# not the criterion. Only the keys of ids 1..HOT count: the bench admin's own record
# (id > USERS, cached when its token is resolved) is in Redis too.
hot_keys() {
  redis_cli --raw --scan --pattern '*user:v*:*' 2>/dev/null \
    | awk -F: -v hot="$HOT" '$NF ~ /^[0-9]+$/ && $NF + 0 >= 1 && $NF + 0 <= hot { n++ } END { print n + 0 }'
}
fill_cache() {  # label
  local round keys=0 local_n bad
  for ((round = 1; round <= FILL_ROUNDS; round++)); do
    log "cache fill ($1) round $round: ids 1..$HOT in order, ${fill_secs}s at $FILL_CONNS connections"
    run_wrk_bounded "$RESULTS_DIR/fill-$1-$round.txt" "${fill_secs}s" -t"$WRK_THREADS" -c"$FILL_CONNS" \
      --timeout 10s -s "$BENCH/tools/hot_user.lua" "http://127.0.0.1:$MYRIAD_PORT" -- "$HOT" "$WRK_THREADS" \
      || warn "cache fill wrk exited with an error"
    kill -0 "$MYRIAD_PID" 2>/dev/null || die "Myriad died during the cache fill"
    # A fill of error answers (401/403: the token was refused) caches nothing: stop here.
    bad=$(sed -n 's/^non-2xx (lua): \([0-9]*\)$/\1/p' "$RESULTS_DIR/fill-$1-$round.txt")
    if [[ -n $bad && $bad != 0 ]]; then
      meta http_error "cache fill ($1): $bad non-2xx answers ($(sed -n 's/^statuses (lua): //p' "$RESULTS_DIR/fill-$1-$round.txt"))"
      report || true
      die "cache fill ($1): $bad non-2xx answers: see $RESULTS_DIR/fill-$1-$round.txt"
    fi
    keys=$(hot_keys || true)
    [[ $keys =~ ^[0-9]+$ ]] || keys=0
    (( keys >= HOT )) && break
  done
  local_n=$(metric_value myriad_cache_local_entries)
  log "cache fill ($1): Redis holds $keys keys of ids 1..$HOT, the in-process layer $local_n entries after $round round(s)"
  meta "fill_$1" "$round round(s) of ${fill_secs}s; Redis keys of the hot set $keys, in-process entries $local_n (hot set $HOT)"
  (( keys >= HOT )) || warn "Redis holds $keys keys after the fill, fewer than HOT=$HOT"
}

# ---------------------------------------------------------------- measured runs
record_run() {  # name conns raw t0 t1 extra-json
  local parsed
  if ! parsed=$("$PY" "$BENCH/tools/wrk_parse.py" --json "$3"); then
    warn "could not parse $3"
    parsed='{"error": "unparsable wrk output"}'
  fi
  "$PY" -c 'import json, sys
r = json.loads(sys.argv[1])
r.update(name=sys.argv[2], conns=int(sys.argv[3]), raw=sys.argv[4], t0=float(sys.argv[5]),
         t1=float(sys.argv[6]), **json.loads(sys.argv[7]))
print(json.dumps(r, sort_keys=True))' "$parsed" "$1" "$2" "$(basename "$3")" "$4" "$5" "$6" \
    >>"$RESULTS_DIR/runs.jsonl"
}

measure_server() {  # server conns
  local server=$1 c=$2 port pid raw t0 t1 rc=0
  if [[ $server == nginx ]]; then port=$NGINX_PORT pid=$NGINX_PID; else port=$MYRIAD_PORT pid=$MYRIAD_PID; fi
  local wrk_args=(-t"$WRK_THREADS" -c"$c" --timeout 10s -s "$BENCH/tools/random_user.lua"
    "http://127.0.0.1:$port" -- "$HOT")
  if [[ $WARMUP != 0s ]]; then
    log "$server: warm-up $WARMUP at $c connections"
    run_wrk_bounded "$RESULTS_DIR/warmup-$server-c$c.txt" "$WARMUP" "${wrk_args[@]}" \
      || warn "warm-up wrk exited with an error ($server, $c conns)"
    sleep "$PAUSE"
  fi
  snapshot "$server-c$c-before"
  log "$server: $DURATION at $c connections"
  raw="$RESULTS_DIR/wrk-$server-c$c.txt"
  t0=$(date +%s.%N)
  run_wrk_bounded "$raw" "$DURATION" --latency "${wrk_args[@]}" || rc=$?
  t1=$(date +%s.%N)
  (( rc == 0 )) || warn "wrk exited with $rc ($server, $c conns)"
  kill -0 "$pid" 2>/dev/null || die "$server died during the run at $c connections"
  kill -0 "$MYRIAD_PID" 2>/dev/null || die "Myriad died during the $server run at $c connections"
  snapshot "$server-c$c-after"
  record_run "$server" "$c" "$raw" "$t0" "$t1" \
    "{\"kind\": \"level\", \"snap_before\": \"$server-c$c-before\", \"snap_after\": \"$server-c$c-after\"}"
  sleep "$PAUSE"
}

sleep_until() {  # unix time
  local d
  d=$(awk -v t="$1" -v now="$(date +%s.%N)" 'BEGIN { d = t - now; printf "%.3f", (d > 0 ? d : 0) }')
  sleep "$d" &   # in the background + wait, so that a SIGTERM runs the trap at once
  wait $!
}
event() { printf '%s\t%s\n' "$1" "$(date +%s.%N)" >>"$EVENTS"; }

# One wrk run of down_secs at C connections with Redis stopped at REDIS_DOWN_AT and started
# again REDIS_DOWN_FOR later, while tools/metrics_sampler.py polls /metrics every 0.5 s.
redis_down_run() {  # conns
  local c=$1 name="redis-down-c$1" raw t0 t1 rc=0 up_before i url
  fill_cache "$name"   # a previous outage leaves Redis empty
  up_before=$(metric_value 'myriad_redis_connections{state="up"}')
  EVENTS="$RESULTS_DIR/$name-events.tsv"
  : >"$EVENTS"
  snapshot "$name-before"
  "$PY" "$BENCH/tools/metrics_sampler.py" --port "$MYRIAD_PORT" --interval 0.5 \
    --out "$RESULTS_DIR/$name-samples.tsv" 2>"$RESULTS_DIR/$name-sampler.err" &
  HELPER_PID=$!
  sleep 1
  raw="$RESULTS_DIR/wrk-$name.txt"
  log "Redis down: ${down_secs}s at $c connections; Redis stops at ${REDIS_DOWN_AT}s for ${REDIS_DOWN_FOR}s"
  t0=$(date +%s.%N)
  event wrk_start
  timeout --kill-after=10 $(( down_secs + 60 )) wrk -d"${down_secs}s" --latency -t"$WRK_THREADS" -c"$c" \
    --timeout 10s -s "$BENCH/tools/random_user.lua" "http://127.0.0.1:$MYRIAD_PORT" -- "$HOT" \
    >"$raw" 2>&1 &
  WRK_PID=$!
  sleep_until "$(awk -v t="$t0" -v a="$REDIS_DOWN_AT" 'BEGIN { printf "%.3f", t + a }')"
  event redis_stop
  bash "$ROOT/scripts/redis.sh" stop "$REDIS_DIR" >>"$RESULTS_DIR/$name-redis.txt" 2>&1 \
    || warn "scripts/redis.sh stop failed"
  event redis_stopped
  log "Redis stopped"
  sleep_until "$(awk -v t="$t0" -v a="$(( REDIS_DOWN_AT + REDIS_DOWN_FOR ))" 'BEGIN { printf "%.3f", t + a }')"
  event redis_start
  url=$(bash "$ROOT/scripts/redis.sh" start "$REDIS_DIR" 2>>"$RESULTS_DIR/$name-redis.txt" | tail -n 1) \
    || warn "scripts/redis.sh start failed"
  event redis_started
  log "Redis started again"
  [[ $url == "$REDIS_URL" ]] || warn "Redis came back at '$url', not $REDIS_URL: Myriad cannot reconnect"
  wait "$WRK_PID" || rc=$?
  WRK_PID=''
  event wrk_end
  (( rc == 0 )) || warn "wrk exited with $rc (Redis-down run, $c conns)"
  kill -0 "$MYRIAD_PID" 2>/dev/null || die "Myriad died during the Redis-down run at $c connections"
  # Myriad reconnects on its own; give it up to 10 s more (the sampler keeps polling).
  for ((i = 0; i < 100; i++)); do
    [[ $(metric_value 'myriad_redis_connections{state="up"}') == "$up_before" ]] && break
    sleep 0.1
  done
  sleep 1
  stop_pid "$HELPER_PID" 5
  HELPER_PID=''
  snapshot "$name-after"
  record_run "$name" "$c" "$raw" "$t0" "$(date +%s.%N)" \
    "{\"kind\": \"redis_down\", \"snap_before\": \"$name-before\", \"snap_after\": \"$name-after\", \"samples\": \"$name-samples.tsv\", \"events\": \"$name-events.tsv\", \"redis_up_before\": ${up_before:-0}, \"down_at\": $REDIS_DOWN_AT, \"down_for\": $REDIS_DOWN_FOR, \"duration_s\": $down_secs}"

  # After recovery: a fresh measured run at once (no fill, no warm-up), for the hit ratio
  # and throughput once Redis is back (and empty).
  name="$name-recovery"
  raw="$RESULTS_DIR/wrk-$name.txt"
  snapshot "$name-before"
  log "after recovery: $DURATION at $c connections"
  t0=$(date +%s.%N)
  rc=0
  run_wrk_bounded "$raw" "$DURATION" --latency -t"$WRK_THREADS" -c"$c" --timeout 10s \
    -s "$BENCH/tools/random_user.lua" "http://127.0.0.1:$MYRIAD_PORT" -- "$HOT" || rc=$?
  t1=$(date +%s.%N)
  (( rc == 0 )) || warn "wrk exited with $rc (after recovery, $c conns)"
  kill -0 "$MYRIAD_PID" 2>/dev/null || die "Myriad died during the run after recovery at $c connections"
  snapshot "$name-after"
  record_run "$name" "$c" "$raw" "$t0" "$t1" \
    "{\"kind\": \"recovery\", \"snap_before\": \"$name-before\", \"snap_after\": \"$name-after\"}"
  sleep "$PAUSE"
}

# ---------------------------------------------------------------- run
fill_cache start
meta levels "$LEVELS connections; server order alternates per level (nginx first at the first)"
i=0
for c in $LEVELS; do
  order=(nginx myriad)
  (( i % 2 == 1 )) && order=(myriad nginx)
  for s in "${order[@]}"; do measure_server "$s" "$c"; done
  i=$((i + 1))
done
if [[ -n ${DOWN_LEVELS// /} ]]; then
  meta redis_down "wrk ${down_secs}s at $DOWN_LEVELS connections; Redis stopped (scripts/redis.sh stop: SHUTDOWN NOSAVE) at ${REDIS_DOWN_AT}s and started again at $(( REDIS_DOWN_AT + REDIS_DOWN_FOR ))s; /metrics sampled every 0.5 s"
  for c in $DOWN_LEVELS; do redis_down_run "$c"; done
fi
meta finished "$(date -Is), load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
report
