#!/usr/bin/env bash
# A private Redis 7 server for running and testing Myriad, on a loopback port.
#
#   scripts/redis.sh start [--fresh] [DIR]   start it; prints its URL
#   scripts/redis.sh stop [DIR]              SHUTDOWN NOSAVE
#   scripts/redis.sh status [DIR]            "running: URL" (exit 0) or "stopped" (exit 3)
#   scripts/redis.sh url [DIR]               redis://127.0.0.1:PORT/0
#   scripts/redis.sh cli [DIR] [ARGS...]     redis-cli against it (DIR: a path with a /)
#   scripts/redis.sh destroy [DIR]           stop it and delete its folder
#
# DIR defaults to var/redis in the repository (git ignores var/); the tests use a folder in
# the build tree. `--fresh` stops a running server and deletes its files first (the test
# fixture uses it so every run starts from an empty server).
#
# What `start` sets up: redis-server (Debian 12's, installed by scripts/deps.sh redis when
# missing) daemonized with DIR/redis.conf, rewritten at every start: bind 127.0.0.1 only,
# protected mode, no persistence (no RDB snapshots, no AOF), a port chosen free at first
# start and kept in DIR/port, the URL in DIR/url.
#
# Files: DIR/port, DIR/url, DIR/redis.conf, DIR/redis.pid, DIR/redis.log. Redis runs fine as
# root, so it runs as whoever calls this script.
#
# MYRIAD_REDIS_URL, when set, is your own server: `start` and `status` only check that it
# answers (PING), `url` and `cli` use it, `stop` and `destroy` leave it alone.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Progress goes to stderr so that `url=$(scripts/redis.sh start)` gets the URL alone.
note() { log "$@" >&2; }

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cmd="${1:-}"
[[ -z $cmd ]] && usage
shift
wipe=0
if [[ $cmd == start && ${1:-} == --fresh ]]; then
  wipe=1
  shift
fi
dir="$MYRIAD_ROOT/var/redis"
# For cli, a first argument is DIR only when it looks like a folder (`cli ping` is a command,
# `cli /tmp/r ping` or `cli var/redis ping` a folder and a command).
is_dir_arg() {
  [[ $cmd != cli ]] || [[ $1 == */* || -f $1/url ]]
}
if [[ $# -gt 0 && $1 != -* ]] && is_dir_arg "$1"; then
  dir="$1"
  shift
fi
case "$cmd" in
  start | stop | status | url | destroy) [[ $# -eq 0 ]] || usage ;;
  cli) ;;
  -h | --help | help) usage ;;
  *)
    echo "${0##*/}: unknown command '$cmd'" >&2
    usage
    ;;
esac
dir="$(realpath -m "$dir")"
pidfile="$dir/redis.pid"
logfile="$dir/redis.log"

# "PONG" from the server at `url`, within a bounded time (redis-cli alone may wait long on a
# host that drops packets).
answers() {
  [[ "$(timeout 10 redis-cli -u "$1" ping 2>/dev/null)" == PONG ]]
}

# --- MYRIAD_REDIS_URL: someone else's server -----------------------------------------------
if [[ -n ${MYRIAD_REDIS_URL:-} ]]; then
  url="$MYRIAD_REDIS_URL"
  case "$cmd" in
    start | status)
      command -v redis-cli >/dev/null 2>&1 || ensure_deps redis >&2
      answers "$url" || die "MYRIAD_REDIS_URL ($url) does not answer PING"
      [[ $cmd == status ]] && echo "running: $url" || echo "$url"
      ;;
    url) echo "$url" ;;
    cli) exec redis-cli -u "$url" "$@" ;;
    stop | destroy) note "MYRIAD_REDIS_URL is set: not touching that server" ;;
  esac
  exit 0
fi

# The pid of the server of DIR when it runs (a stale pidfile names a dead or foreign process).
server_pid() {
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == redis-server* ]] || return 1
  echo "$pid"
}
running() { server_pid >/dev/null; }
# Whether process `pid` still runs; an exited daemon may stay a zombie for a while where
# nothing reaps orphans promptly (containers).
alive() {
  local state
  state="$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null || true)"
  [[ -n $state && $state != Z ]]
}

stored_url() {
  [[ -f $dir/url ]] || die "no Redis in $dir yet: run scripts/redis.sh start $dir"
  cat "$dir/url"
}

case "$cmd" in
  url)
    stored_url
    exit 0
    ;;
  cli)
    url="$(stored_url)"
    running || die "the Redis in $dir is stopped: run scripts/redis.sh start $dir"
    exec redis-cli -u "$url" "$@"
    ;;
  status)
    service_status
    ;;
esac

# --- start, stop, destroy: one at a time per DIR -------------------------------------------
lock_service_dir "$cmd" "$dir" "Redis"

stop_server() {
  local pid i
  pid="$(server_pid)" || return 0
  note "stopping Redis in $dir (pid $pid)"
  # NOSAVE: nothing is kept between runs, even if someone turned snapshots on with CONFIG SET.
  # Without a port on record (a start that died half-way), SIGTERM does the same.
  if [[ -f $dir/port ]]; then
    timeout 10 redis-cli -p "$(cat "$dir/port")" shutdown nosave >/dev/null 2>&1 || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  warn "Redis (pid $pid) did not stop; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

remove_files() {
  rm -f "$dir/url" "$dir/redis.conf" "$pidfile" "$logfile" "$dir/dump.rdb"
  rm -rf "$dir/appendonlydir"
}

case "$cmd" in
  stop)
    if running; then stop_server; else note "Redis in $dir is not running"; fi
    exit 0
    ;;
  destroy)
    stop_server
    remove_files
    rm -f "$dir/port" "$dir/.lock"
    rmdir "$dir" 2>/dev/null || true
    note "removed the Redis of $dir"
    exit 0
    ;;
esac

# --- start ----------------------------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  ensure_deps redis >&2
fi
command -v redis-server >/dev/null 2>&1 || die "redis-server is not installed (scripts/deps.sh redis installs it)"

if [[ $wipe -eq 1 ]]; then
  stop_server
  remove_files
fi

if running; then
  stored_url
  exit 0
fi

port="$(service_port "$dir")"

# Waits until the server answers PING or its process is gone; the daemonizing parent exits
# before the server has bound its port.
wait_ready() {
  local i
  for ((i = 0; i < 100; i++)); do
    answers "redis://127.0.0.1:$port/0" && return 0
    # The pidfile appears only after the fork; give it a moment before calling it dead.
    if [[ $i -ge 10 ]] && ! running; then return 1; fi
    sleep 0.1
  done
  return 1
}

for attempt in 1 2 3; do
  rm -f "$pidfile"
  : >"$logfile"
  printf '%s\n' '# Written by scripts/redis.sh at every start.' \
    'daemonize yes' 'supervised no' \
    'bind 127.0.0.1' 'protected-mode yes' "port $port" \
    "dir \"$dir\"" "pidfile \"$pidfile\"" "logfile \"$logfile\"" \
    '# No persistence: a dev or test server starts empty.' \
    'save ""' 'appendonly no' >"$dir/redis.conf"
  note "starting Redis on 127.0.0.1:$port ($dir)"
  # The lock must not pass to the server, which would hold it for its whole life.
  if redis-server "$dir/redis.conf" {lock_fd}>&- && wait_ready; then
    break
  fi
  # Another server may have taken the port between the check and the bind.
  if [[ $attempt -lt 3 ]] && tail -n 20 "$logfile" | grep -q 'Address already in use'; then
    warn "port $port was taken meanwhile; trying another"
    port="$(pick_port)"
    continue
  fi
  stop_server
  die "Redis did not start; the end of $logfile:
$(tail -n 20 "$logfile")"
done
echo "$port" >"$dir/port"

url="redis://127.0.0.1:$port/0"
echo "$url" >"$dir/url.tmp" && mv "$dir/url.tmp" "$dir/url"
echo "$url"
