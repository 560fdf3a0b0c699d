# Shared helpers for the load benchmarks in bench/*.sh. Source it after setting PY (the
# Python interpreter); it does nothing on its own.
# shellcheck shell=bash

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# "15s" / "2m" / "15" -> seconds (for the outer timeout around wrk).
dur_secs() {
  local d=$1
  case $d in
    *ms) echo 1 ;;
    *s) echo "${d%s}" ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *h) echo $(( ${d%h} * 3600 )) ;;
    *) echo "$d" ;;
  esac
}
# wrk wants a unit; accept a bare number of seconds.
with_unit() { case $1 in *[a-z]) echo "$1" ;; *) echo "${1}s" ;; esac; }

stop_pid() {  # pid, seconds to wait after SIGTERM before SIGKILL
  local pid=$1 wait_s=${2:-10} i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

# A listen backlog above net.core.somaxconn is silently capped; 10,000 wrk connections
# arriving at once overflow 4096 and show up as connect errors / 1 s SYN retries.
# wrk -c10000 needs the fd limit raised in this shell; the servers inherit it too.
raise_limits() {  # the connection counts the run will open (any number of them; the largest counts)
  local need=0 n key cur hard
  for n in "$@"; do (( n > need )) && need=$n; done
  for key in net.core.somaxconn net.ipv4.tcp_max_syn_backlog; do
    cur=$(sysctl -n "$key" 2>/dev/null || echo 0)
    if (( cur < 65535 )); then
      sysctl -q -w "$key=65535" >/dev/null 2>&1 || warn "could not raise $key (now $cur); continuing"
    fi
  done
  hard=$(ulimit -Hn)
  ulimit -n "$hard" 2>/dev/null || warn "could not raise ulimit -n to $hard"
  if [[ $(ulimit -n) != unlimited ]] && (( $(ulimit -n) < need + 100 )); then
    warn "open-files limit $(ulimit -n) is low for $need connections"
  fi
}

# A free loopback port below the ephemeral range (32768+), so client sockets of wrk
# and the helpers can never take it; bind-tested, different on every call.
USED_PORTS=""
pick_port() {
  local p
  p=$("$PY" - "$USED_PORTS" <<'EOF'
import random, socket, sys
used = set(sys.argv[1].split())
for _ in range(1000):
    p = random.randint(20000, 32000)
    if str(p) in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    sys.exit("no free port")
EOF
  )
  USED_PORTS="$USED_PORTS $p"
  echo "$p"
}

wait_ready() {  # name pid port logfile [path]
  local name=$1 pid=$2 port=$3 logf=$4 path=${5:-/api/health} i
  for ((i = 0; i < 150; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$logf" >&2 || true
      die "$name exited during start-up (log above: $logf)"
    fi
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port$path" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$logf" >&2 || true
  die "$name did not answer GET $path on 127.0.0.1:$port within 15 s"
}

# wrk bounded by timeout(1), in the background + wait, so a SIGTERM to the script runs its
# trap at once (the trap stops $WRK_PID). Returns wrk's exit status.
WRK_PID=''
run_wrk_bounded() {  # outfile duration wrk-args...
  local outf=$1 d=$2 rc=0
  shift 2
  timeout --kill-after=10 $(( $(dur_secs "$d") + 60 )) wrk -d"$d" "$@" >"$outf" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || rc=$?
  WRK_PID=''
  return "$rc"
}

# ---------------------------------------------------------------- nginx ceiling
# nginx from a template in bench/nginx/ (placeholders @PREFIX@ @PORT@ @WORKERS@ @USER_LINE@,
# plus whatever the extra sed expressions fill in), rendered into a private prefix under
# $TMP/nginx: config, pid, lock, temp paths and error log all go there, and so does -e. It
# never touches /etc/nginx, /var/lib/nginx, /run or port 80. The caller sets NGINX, TMP,
# BENCH, THREADS and RESULTS_DIR; this sets NGINX_PORT and NGINX_PID. The template must
# answer GET /api/health (readiness).
NGINX_PID=''
nginx_worker_pids() { ps --ppid "$NGINX_PID" -o pid= | tr -s ' \n' ' '; }

start_nginx() {  # [template [sed-expression...]]
  local template=${1:-$BENCH/nginx/health.conf.in}
  shift $(( $# > 0 ? 1 : 0 ))
  local extra=() expr
  for expr in "$@"; do extra+=(-e "$expr"); done
  NGINX_PORT=$(pick_port)
  local prefix="$TMP/nginx" user_line="# not root: no user directive"
  mkdir -p "$prefix/logs" "$prefix/temp"
  (( EUID == 0 )) && user_line="user root;"   # else workers drop to nobody, which cannot read $TMP
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$NGINX_PORT|g" -e "s|@WORKERS@|$THREADS|g" \
    -e "s|@USER_LINE@|$user_line|g" "${extra[@]}" "$template" >"$prefix/nginx.conf"
  cp "$prefix/nginx.conf" "$RESULTS_DIR/nginx.conf"
  "$NGINX" -q -t -p "$prefix/" -e "$prefix/logs/error.log" -c "$prefix/nginx.conf" \
    || die "nginx rejected the generated config ($RESULTS_DIR/nginx.conf)"
  log "starting nginx on 127.0.0.1:$NGINX_PORT ($THREADS workers, access_log off)"
  "$NGINX" -p "$prefix/" -e "$prefix/logs/error.log" -c "$prefix/nginx.conf" \
    >"$prefix/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  wait_ready nginx "$NGINX_PID" "$NGINX_PORT" "$prefix/logs/error.log"
  local i
  for ((i = 0; i < 50; i++)); do   # RSS is summed over workers: wait for all of them
    (( $(nginx_worker_pids | wc -w) >= THREADS )) && break
    sleep 0.1
  done
}

# For the cleanup trap: stops nginx (daemon off: SIGTERM = fast shutdown of master +
# workers) and keeps its error log next to the results when it is not empty.
stop_nginx() {
  stop_pid "$NGINX_PID" 10
  if [[ -s $TMP/nginx/logs/error.log ]]; then
    cp "$TMP/nginx/logs/error.log" "$RESULTS_DIR/nginx-error.log" || true
  fi
}

# ---------------------------------------------------------------- users benchmarks
# Shared by users_read.sh and users_list.sh: a private PostgreSQL (scripts/pg.sh) migrated
# and seeded, Myriad serving it, and a cleanup trap for both. The caller sets ROOT, BENCH,
# PY, USERS, MYRIAD_BIN, THREADS, POOL and RESULTS_DIR, then calls users_init.

# shellcheck disable=SC2153  # MYRIAD_BIN and the others come from the sourcing script
users_init() {
  command -v wrk >/dev/null || die "wrk not found (scripts/deps.sh bench)"
  command -v curl >/dev/null || die "curl not found (scripts/deps.sh test)"
  [[ -x $PY ]] || die "$PY not found"
  [[ $USERS =~ ^[1-9][0-9]*$ ]] || die "USERS must be a positive integer"
  [[ $POOL =~ ^[1-9][0-9]*$ ]] || die "POOL must be a positive integer"
  [[ -x $MYRIAD_BIN ]] || die "Myriad release binary missing: $MYRIAD_BIN.
       Build it with: cmake --preset release && cmake --build --preset release (or set MYRIAD_BIN)"
  mkdir -p "$RESULTS_DIR"
  RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
  TMP=$(mktemp -d /tmp/myriad-users-bench.XXXXXX)
  : >"$RESULTS_DIR/meta.tsv"
  : >"$RESULTS_DIR/runs.jsonl"
  unset MYRIAD_DATABASE_URL  # always a private server: pg.sh would otherwise use that one
  unset MYRIAD_BENCH_TOKEN   # set by bench_admin_token for this run's server only
  MYRIAD_PID='' HELPER_PID=''
  trap users_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

users_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID" 5
  stop_pid "$HELPER_PID" 5
  stop_pid "$MYRIAD_PID" 15
  if [[ -s $TMP/myriad.log ]]; then cp "$TMP/myriad.log" "$RESULTS_DIR/myriad.log" || true; fi
  bash "$ROOT/scripts/pg.sh" destroy "$TMP/pg" >/dev/null 2>&1 || true
  rm -rf "$TMP"
  exit "$rc"
}

# The run's context, first in meta.tsv: when, the machine and its load, the limits.
users_meta_header() {  # kind wrk-description
  meta kind "$1"
  meta started "$(date -Is)"
  meta machine "$(nproc) cores, $(uname -sr), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  meta limits "somaxconn $(sysctl -n net.core.somaxconn), tcp_max_syn_backlog $(sysctl -n net.ipv4.tcp_max_syn_backlog), ulimit -n $(ulimit -n)"
  meta wrk "$2"
  log "results folder: $RESULTS_DIR"
}

meta() { printf '%s\t%s\n' "$1" "$2" >>"$RESULTS_DIR/meta.tsv"; }  # key value

db_psql() { bash "$ROOT/scripts/pg.sh" psql "$TMP/pg" -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"; }

# Private PostgreSQL, migrated, seeded with USERS rows (ids 1..USERS); sets DB_URL.
users_db() {
  local t0 t1
  log "private PostgreSQL in $TMP/pg"
  DB_URL=$(bash "$ROOT/scripts/pg.sh" start "$TMP/pg" | tail -n 1)
  "$MYRIAD_BIN" migrate --database-url "$DB_URL" --migrations-dir "$ROOT/migrations" >&2
  log "seeding $USERS users"
  t0=$(date +%s.%N)
  # Extra `myriad seed` flags of the calling script (an array), e.g. scale's hash cost.
  "$MYRIAD_BIN" seed --users "$USERS" --database-url "$DB_URL" ${SEED_EXTRA[@]+"${SEED_EXTRA[@]}"} \
    >"$RESULTS_DIR/seed.txt" 2>&1 \
    || { cat "$RESULTS_DIR/seed.txt" >&2; die "myriad seed failed"; }
  t1=$(date +%s.%N)
  meta seed_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
  meta users "$(db_psql -At -c 'SELECT count(*) FROM users')"
  meta db_total_mb "$(db_psql -At -c "SELECT round(pg_total_relation_size('users') / 1e6)")"
}

# Myriad on a free loopback port against DB_URL; sets MYRIAD_PORT and MYRIAD_PID.
start_myriad_db() {
  local flag
  for flag in --database-url --db-pool-size; do
    # The whole help text first: `--help | grep -q` under pipefail fails when grep exits
    # early and the binary dies of SIGPIPE.
    [[ -n ${serve_help:-} ]] || serve_help=$("$MYRIAD_BIN" serve --help 2>&1 || true)
    if ! grep -q -- "$flag" <<<"$serve_help"; then
      meta http_error "myriad serve has no $flag option"
      report || true
      die "$MYRIAD_BIN serve has no $flag option: this build does not serve the users API yet.
       Nothing was measured over HTTP."
    fi
  done
  MYRIAD_PORT=$(pick_port)
  # --max-connections-per-ip 0: a capacity benchmark sends all its traffic from one address,
  # which the default per-address cap (20) would turn away.
  MYRIAD_CMD=(serve --listen "127.0.0.1:$MYRIAD_PORT" --threads "$THREADS" --access-log off
    --log-level warn --database-url "$DB_URL" --db-pool-size "$POOL" --max-connections-per-ip 0)
  # Extra flags of the calling script (an array), e.g. login.sh's hashing pool.
  MYRIAD_CMD+=(${MYRIAD_EXTRA[@]+"${MYRIAD_EXTRA[@]}"})
  meta myriad_cmd "myriad ${MYRIAD_CMD[*]}"
  # Settings that came from the environment (MYRIAD_*), which the command line does not
  # show; secrets left out.
  meta myriad_env "$(env | grep '^MYRIAD_' | grep -vE '^MYRIAD_[A-Z_]*(SECRET|TOKEN|PASSWORD|KEY)' \
    | sort | tr '\n' ' ')"
  meta pool "$POOL"
  log "starting Myriad on 127.0.0.1:$MYRIAD_PORT ($THREADS threads, --db-pool-size $POOL per process)"
  "$MYRIAD_BIN" "${MYRIAD_CMD[@]}" >"$TMP/myriad.log" 2>&1 &
  MYRIAD_PID=$!
  wait_ready Myriad "$MYRIAD_PID" "$MYRIAD_PORT" "$TMP/myriad.log"
}

# The endpoint must answer 200 before any load runs: a 404 from a build without the users
# API, or a 401/403 when the token is missing or not an administrator's, would otherwise
# show up as a fast benchmark of error answers. Sends the token of MYRIAD_BENCH_TOKEN
# (bench_admin_token) when it is set, like the wrk scripts.
expect_200() {  # path
  local status auth=()
  [[ -n ${MYRIAD_BENCH_TOKEN:-} ]] && auth=(-H "Authorization: Bearer $MYRIAD_BENCH_TOKEN")
  status=$(curl -sS --max-time 5 -o "$TMP/check.body" -w '%{http_code}' ${auth[@]+"${auth[@]}"} \
    "http://127.0.0.1:$MYRIAD_PORT$1") || status="no answer"
  if [[ $status != 200 ]]; then
    local why="this Myriad build does not serve the users API yet (or not correctly)"
    [[ $status == 401 || $status == 403 ]] && why="the access token (bench_admin_token) was not
       accepted$([[ -n ${MYRIAD_BENCH_TOKEN:-} ]] || echo ': none was sent')"
    meta http_error "GET $1 answered $status$([[ -n ${MYRIAD_BENCH_TOKEN:-} ]] && echo ' (with the admin token)')"
    report || true
    die "GET $1 answered $status, expected 200: $why. Nothing was measured over HTTP.
       Body: $(head -c 300 "$TMP/check.body" 2>/dev/null)"
  fi
}

# The users API needs a logged-in caller (src/accounts/access.cpp): GET /api/users/{id} any
# user, GET /api/users (list, search) an administrator. bench_admin_token makes one in the
# database at DB-URL (`myriad admin create`, random password in a 0600 file under $TMP) and
# logs it in on Myriad at 127.0.0.1:PORT (POST /api/auth/login). It exports
# MYRIAD_BENCH_TOKEN, the access token, which tools/auth.lua (loaded by tools/wrk_status.lua),
# tools/walk_cursor.py and expect_200 send as "Authorization: Bearer <token>", and sets
# BENCH_ADMIN_ID and BENCH_ADMIN_EMAIL. Start Myriad with --access-token-ttl longer than the
# run (the benches use 24h: the token is never refreshed) and --rate-limit off. The token is
# not written to the results folder. Needs MYRIAD_BIN, PY, TMP; records the admin in
# meta.tsv. The two halves are separate for a script that needs the id before it starts
# Myriad (users_me.sh): bench_admin_create DB-URL, then bench_admin_login PORT.
bench_admin_token() {  # port db-url
  bench_admin_create "$2"
  bench_admin_login "$1"
}

bench_admin_create() {  # db-url
  local out
  BENCH_ADMIN_EMAIL="bench-admin-$(date +%s)-$$@example.com"
  BENCH_ADMIN_PWFILE="$TMP/bench-admin.password"
  (umask 077 && "$PY" -c 'import secrets; print("bench-" + secrets.token_urlsafe(24))' \
    >"$BENCH_ADMIN_PWFILE") || die "cannot write $BENCH_ADMIN_PWFILE"
  out=$("$MYRIAD_BIN" admin create --database-url "$1" --email "$BENCH_ADMIN_EMAIL" \
    --name "Bench Admin" --password-file "$BENCH_ADMIN_PWFILE" 2>&1) \
    || die "myriad admin create failed: $out"
  BENCH_ADMIN_ID=$(sed -n 's/^created admin \([0-9][0-9]*\) .*/\1/p' <<<"$out")
  [[ -n $BENCH_ADMIN_ID ]] || die "myriad admin create: unexpected output: $out"
}

bench_admin_login() {  # port
  local status out ttl try
  [[ -n ${BENCH_ADMIN_EMAIL:-} && -s ${BENCH_ADMIN_PWFILE:-} ]] || die "bench_admin_login: no bench_admin_create first"
  for try in 1 2 3; do   # a 503 (hashing pool busy) or 504 on a loaded machine: try again
    # The JSON body goes through stdin, so the password is on no command line.
    status=$("$PY" -c 'import json, sys; print(json.dumps({"email": sys.argv[1], "password": open(sys.argv[2]).readline().rstrip("\n")}))' \
        "$BENCH_ADMIN_EMAIL" "$BENCH_ADMIN_PWFILE" \
      | curl -sS --max-time 30 -o "$TMP/bench-admin.login" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary @- "http://127.0.0.1:$1/api/auth/login") \
      || status="no answer"
    [[ $status == 503 || $status == 504 ]] || break
    warn "POST /api/auth/login answered $status (try $try of 3): $(head -c 200 "$TMP/bench-admin.login" 2>/dev/null)"
    sleep 2
  done
  [[ $status == 200 ]] || die "POST /api/auth/login as the bench admin answered $status, expected 200.
       Body: $(head -c 300 "$TMP/bench-admin.login" 2>/dev/null)"
  out=$("$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["access_token"], r.get("expires_in", ""))' \
    "$TMP/bench-admin.login") || die "no access_token in the login answer: $(head -c 300 "$TMP/bench-admin.login")"
  read -r MYRIAD_BENCH_TOKEN ttl <<<"$out"
  rm -f "$TMP/bench-admin.login"
  [[ -n $MYRIAD_BENCH_TOKEN ]] || die "empty access_token in the login answer"
  export MYRIAD_BENCH_TOKEN
  if [[ $ttl =~ ^[0-9]+$ ]] && (( ttl < 3600 )); then
    warn "the access token expires in ${ttl}s: start Myriad with --access-token-ttl 24h"
  fi
  meta auth "Authorization: Bearer <access token of an administrator> (admin id $BENCH_ADMIN_ID, $BENCH_ADMIN_EMAIL, made by myriad admin create; token expires_in ${ttl:-?}s)"
  log "bench admin: id $BENCH_ADMIN_ID, logged in; token in MYRIAD_BENCH_TOKEN (expires in ${ttl:-?}s)"
}

# One warm-up (unreported) and one measured wrk run; appends the parsed run to runs.jsonl.
measure() {  # name conns wrk-args...
  local name=$1 c=$2 raw parsed rc=0
  shift 2
  if [[ $WARMUP != 0s ]]; then
    log "$name: warm-up $WARMUP at $c connections"
    run_wrk_bounded "$RESULTS_DIR/warmup-$name-c$c.txt" "$WARMUP" -t"$WRK_THREADS" -c"$c" \
      --timeout 10s "$@" || warn "warm-up wrk exited with an error ($name, $c conns)"
    sleep "$PAUSE"
  fi
  log "$name: $DURATION at $c connections"
  raw="$RESULTS_DIR/wrk-$name-c$c.txt"
  run_wrk_bounded "$raw" "$DURATION" -t"$WRK_THREADS" -c"$c" --latency --timeout 10s "$@" || rc=$?
  (( rc == 0 )) || warn "wrk exited with $rc ($name, $c conns)"
  kill -0 "$MYRIAD_PID" 2>/dev/null || die "Myriad died during the $name run at $c connections"
  if parsed=$("$PY" "$BENCH/tools/wrk_parse.py" --json "$raw"); then
    "$PY" -c 'import json, sys; r = json.loads(sys.argv[1]); r.update(name=sys.argv[2], conns=int(sys.argv[3]), raw=sys.argv[4]); print(json.dumps(r))' \
      "$parsed" "$name" "$c" "$(basename "$raw")" >>"$RESULTS_DIR/runs.jsonl"
  else
    printf '{"name": "%s", "conns": %s, "error": "unparsable wrk output", "raw": "%s"}\n' \
      "$name" "$c" "$(basename "$raw")" >>"$RESULTS_DIR/runs.jsonl"
    warn "could not parse $raw"
  fi
  sleep "$PAUSE"
}

# Summary table + targets (tools/users_report.py), printed and written as summary.md and
# results.json.
report() {
  "$PY" "$BENCH/tools/users_report.py" "$REPORT_KIND" "$RESULTS_DIR" | tee "$RESULTS_DIR/summary.md"
}
