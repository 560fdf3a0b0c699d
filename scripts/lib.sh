# Shared helpers for scripts/*.sh. Source it; it does nothing on its own.
# shellcheck shell=bash

MYRIAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MYRIAD_ROOT

# ccache keys on absolute paths and, with -g, on the working directory. Relative keys let a
# second checkout (CI clones the repo into another folder) reuse this machine's cache; the
# cost is that debug info from a cache hit names the first checkout's paths.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$MYRIAD_ROOT}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

log() { printf '==> %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "${0##*/}" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# `trap report_failure EXIT` in a script that sets `step=...` as it goes: a non-zero exit
# then ends with one line naming the step that failed.
step=start
report_failure() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    log "${0##*/}: FAILED at step '$step' (exit $rc)"
  fi
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root for: $*; run as root or install sudo"
  fi
}

# Raises the soft open-files limit to the hard limit (the server needs one fd per
# connection). "unlimited" hard limits are capped at the kernel's fs.nr_open.
raise_nofile() {
  local hard
  hard="$(ulimit -Hn)"
  if [[ $hard == unlimited ]]; then
    hard="$(cat /proc/sys/fs/nr_open 2>/dev/null || echo 1048576)"
  fi
  if [[ "$(ulimit -Sn)" != "$hard" ]]; then
    ulimit -Sn "$hard" 2>/dev/null || warn "could not raise the open-files limit to $hard (now $(ulimit -Sn))"
  fi
}

# Configures a CMake preset unless build/<preset> already holds a configured tree of this
# checkout, configured since CMakePresets.json last changed (the stamp file records when).
# Later changes to CMakeLists.txt are picked up by the build itself.
configure_preset() {
  local preset="$1" dir="$MYRIAD_ROOT/build/$1" home="" reason="" fresh=()
  local stamp="$dir/.configured" cache="$dir/CMakeCache.txt"
  if [[ -f $cache ]]; then
    home="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
  fi
  if [[ ! -f $cache ]]; then
    reason="not configured yet"
  elif [[ $home != "$MYRIAD_ROOT" ]]; then
    reason="build tree of another checkout: $home"
    fresh=(--fresh)
  elif [[ ! -f $dir/build.ninja ]]; then
    reason="earlier configure did not finish"
  elif [[ $MYRIAD_ROOT/CMakePresets.json -nt $stamp && $MYRIAD_ROOT/CMakePresets.json -nt $cache ]]; then
    reason="CMakePresets.json changed"
  else
    return 0
  fi
  log "cmake --preset $preset${fresh:+ --fresh} ($reason)"
  (cd "$MYRIAD_ROOT" && cmake --preset "$preset" "${fresh[@]}")
  touch "$stamp"
}

build_preset() {
  log "cmake --build --preset $1"
  (cd "$MYRIAD_ROOT" && cmake --build --preset "$1")
}

# Installs the named package groups (scripts/deps.sh) unless MYRIAD_SKIP_DEPS=1.
ensure_deps() {
  if [[ ${MYRIAD_SKIP_DEPS:-0} == 1 ]]; then
    return 0
  fi
  bash "$MYRIAD_ROOT/scripts/deps.sh" "$@"
}

# --- For the local-server scripts (pg.sh, redis.sh), which define `running` and `stored_url`.

# `status`: "running: URL" and exit 0, or "stopped" and exit 3.
service_status() {
  if running; then
    echo "running: $(stored_url)"
    exit 0
  fi
  echo "stopped"
  exit 3
}

# Before start, stop or destroy: creates DIR for start, exits 0 with a note when there is
# nothing in DIR to stop or destroy, and holds DIR/.lock so that two runs on one DIR take
# turns; the lock's descriptor is left in the global lock_fd. Usage:
# lock_service_dir COMMAND DIR "cluster" (what DIR holds, for the note).
lock_service_dir() {
  local command=$1 dir=$2 what=$3
  [[ $command == start ]] && mkdir -p "$dir"
  if [[ ! -d $dir ]]; then
    note "no $what in $dir"
    exit 0
  fi
  exec {lock_fd}>"$dir/.lock"
  flock -w 120 "$lock_fd" || die "another ${0##*/} holds $dir/.lock"
}

port_busy() { [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]; }

# A port for a new server: below the ephemeral range, where client sockets (wrk, ab, the
# tests' own) never take one, and used by no socket at all. A port in TIME-WAIT after a
# client that did not set SO_REUSEADDR cannot be bound for a minute: after `ab -c 10000`
# that was half the ephemeral range, and pg.sh failed three picks in a row.
pick_port() {
  local p i low high=49999
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 0)
  (( low > 21000 )) && high=$((low - 1))
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % (high - 20000 + 1)))
    if [[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]]; then
      echo "$p"
      return 0
    fi
  done
  die "found no free loopback port"
}

# The port kept in DIR/port (so a server keeps its URL across restarts), or a free one
# when there is none or it is taken now.
service_port() {
  local dir=$1 port
  port="$(cat "$dir/port" 2>/dev/null || true)"
  if [[ -n $port ]] && port_busy "$port"; then
    warn "port $port (kept in $dir/port) is taken now; choosing another" >&2
    port=""
  fi
  [[ -n $port ]] || port="$(pick_port)"
  echo "$port"
}
