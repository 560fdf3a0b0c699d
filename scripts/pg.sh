#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for running and testing Myriad, on a loopback port.
#
#   scripts/pg.sh start [--fresh] [DIR]   start it (initdb on first use); prints its URL
#   scripts/pg.sh stop [DIR]              pg_ctl stop -m fast
#   scripts/pg.sh status [DIR]            "running: URL" (exit 0) or "stopped" (exit 3)
#   scripts/pg.sh url [DIR]               postgresql://myriad@127.0.0.1:PORT/myriad
#   scripts/pg.sh psql [DIR] [ARGS...]    psql as role myriad on database myriad
#   scripts/pg.sh destroy [DIR]           stop it and delete the cluster and its files
#
# DIR defaults to var/postgres in the repository (git ignores var/); the tests use a folder
# in the build tree. `--fresh` wipes an existing cluster first (the test fixture uses it so
# every run starts from an empty database).
#
# What `start` sets up: database `myriad` owned by role `myriad` (LOGIN CREATEDB, plus
# pg_read_all_stats, pg_signal_backend and pg_checkpoint), extensions pg_trgm and pg_stat_statements in it
# (myriad may reset the statistics and run CHECKPOINT: the benchmarks do, before a
# measured run),
# trust authentication on loopback only, the settings of deploy/postgres/postgresql.conf,
# a port chosen free at first start and kept in DIR/port, the URL in DIR/url.
#
# Files: DIR/port, DIR/url, and DIR/cluster holding data/ (PGDATA), run/ (the unix socket)
# and postgresql.log. The server refuses to run as root, so as root everything runs as the
# `postgres` OS user, which must be able to reach the cluster folder: when it cannot reach
# DIR (a clone under /root or in a private temp folder), DIR/cluster is a symlink to
# /var/tmp/myriad-pg-XXXXXX instead.
#
# MYRIAD_DATABASE_URL, when set, is your own server: `start` and `status` only check that it
# answers (pg_isready), `url` and `psql` use it, `stop` and `destroy` leave it alone.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Progress goes to stderr so that `url=$(scripts/pg.sh start)` gets the URL alone.
note() { log "$@" >&2; }

PG_BIN=/usr/lib/postgresql/15/bin
DEPLOY_CONF="$MYRIAD_ROOT/deploy/postgres/postgresql.conf"

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
dir="$MYRIAD_ROOT/var/postgres"
if [[ $# -gt 0 && $1 != -* ]]; then
  dir="$1"
  shift
fi
case "$cmd" in
  start | stop | status | url | destroy) [[ $# -eq 0 ]] || usage ;;
  psql) ;;
  -h | --help | help) usage ;;
  *)
    echo "${0##*/}: unknown command '$cmd'" >&2
    usage
    ;;
esac
dir="$(realpath -m "$dir")"
link="$dir/cluster"
# The real path: the postgres user may not be able to go through $dir to reach it.
home="$(readlink -f "$link" 2>/dev/null || echo "$link")"

# As root, the server and its files belong to the postgres OS user.
as_pg=()
if [[ $EUID -eq 0 ]]; then
  as_pg=(runuser -u postgres --)
fi

psql_bin() {
  if [[ -x $PG_BIN/psql ]]; then echo "$PG_BIN/psql"; else echo psql; fi
}
isready_bin() {
  if [[ -x $PG_BIN/pg_isready ]]; then echo "$PG_BIN/pg_isready"; else echo pg_isready; fi
}

# --- MYRIAD_DATABASE_URL: someone else's server --------------------------------------------
if [[ -n ${MYRIAD_DATABASE_URL:-} ]]; then
  url="$MYRIAD_DATABASE_URL"
  case "$cmd" in
    start | status)
      "$(isready_bin)" -q -t 10 -d "$url" || die "MYRIAD_DATABASE_URL ($url) does not answer (pg_isready)"
      [[ $cmd == status ]] && echo "running: $url" || echo "$url"
      ;;
    url) echo "$url" ;;
    psql) exec "$(psql_bin)" -X "$url" "$@" ;;
    stop | destroy) note "MYRIAD_DATABASE_URL is set: not touching that server" ;;
  esac
  exit 0
fi

running() {
  [[ -f $home/data/PG_VERSION ]] && "${as_pg[@]}" "$PG_BIN/pg_ctl" status -D "$home/data" >/dev/null 2>&1
}

stored_url() {
  [[ -f $dir/url ]] || die "no cluster in $dir yet: run scripts/pg.sh start $dir"
  cat "$dir/url"
}

case "$cmd" in
  url)
    stored_url
    exit 0
    ;;
  psql)
    url="$(stored_url)"
    running || die "the cluster in $dir is stopped: run scripts/pg.sh start $dir"
    exec "$(psql_bin)" -X "$url" "$@"
    ;;
  status)
    service_status
    ;;
esac

# --- start, stop, destroy: one at a time per DIR -------------------------------------------
lock_service_dir "$cmd" "$dir" "cluster"

stop_cluster() {
  if running; then
    note "stopping PostgreSQL in $home"
    "${as_pg[@]}" "$PG_BIN/pg_ctl" stop -D "$home/data" -m fast -w -t 60 >/dev/null
  fi
}

case "$cmd" in
  stop)
    if running; then stop_cluster; else note "PostgreSQL in $dir is not running"; fi
    exit 0
    ;;
  destroy)
    stop_cluster
    if [[ -L $link ]]; then
      rm -f "$link"
      # Only ever a folder this script made.
      if [[ $home == /var/tmp/myriad-pg-* ]]; then rm -rf "$home"; fi
    else
      rm -rf "$link"
    fi
    rm -f "$dir/port" "$dir/url" "$dir/.lock"
    rmdir "$dir" 2>/dev/null || true
    note "removed the cluster of $dir"
    exit 0
    ;;
esac

# --- start ----------------------------------------------------------------------------------
if [[ ! -x $PG_BIN/pg_ctl || ! -f /usr/share/postgresql/15/extension/pg_trgm.control ]]; then
  ensure_deps db >&2
fi
[[ -x $PG_BIN/pg_ctl ]] || die "PostgreSQL 15 is not installed (scripts/deps.sh db installs it)"
if [[ ${#as_pg[@]} -gt 0 ]] && ! id postgres >/dev/null 2>&1; then
  die "running as root needs the postgres OS user (the postgresql-15 package creates it)"
fi

# Can the server's user reach a folder inside DIR? A unix socket path must also stay short
# (108 bytes with .s.PGSQL.PORT).
inside_ok() {
  [[ ${#dir} -le 80 ]] || return 1
  [[ ${#as_pg[@]} -eq 0 ]] && return 0
  "${as_pg[@]}" test -x "$dir"
}

if [[ -L $link && ! -d $link ]]; then
  warn "$link pointed to a folder that is gone; making a new cluster"
  rm -f "$link"
fi
if [[ ! -e $link ]]; then
  chmod 755 "$dir"
  if inside_ok; then
    mkdir -m 755 "$link"
  else
    target="$(mktemp -d /var/tmp/myriad-pg-XXXXXX)"
    chmod 755 "$target"
    ln -s "$target" "$link"
    note "the postgres user cannot reach $dir: cluster in $target"
  fi
  home="$(readlink -f "$link")"
  if [[ ${#as_pg[@]} -gt 0 ]]; then chown postgres:postgres "$home"; fi
fi

if [[ $wipe -eq 1 ]]; then
  stop_cluster
  "${as_pg[@]}" rm -rf "$home/data" "$home/run" "$home/postgresql.log"
  rm -f "$dir/url"
fi

if running; then
  stored_url
  exit 0
fi

if [[ ! -f $home/data/PG_VERSION ]]; then
  note "initdb $home/data"
  "${as_pg[@]}" rm -rf "$home/data"
  # --no-sync: a dev or test cluster that a crash during initdb would simply recreate.
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$home/data" -U postgres --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -n 20 "$dir/initdb.log")"
  rm -f "$dir/initdb.log"
  # Loopback only: the server listens on 127.0.0.1 and its socket; nothing else is allowed.
  printf '%s\n' '# scripts/pg.sh: trust, loopback and the local socket only.' \
    'local all all trust' 'host all all 127.0.0.1/32 trust' |
    "${as_pg[@]}" tee "$home/data/pg_hba.conf" >/dev/null
  # Later settings win: the deployment's tuning after initdb's defaults, then this
  # cluster's own port, addresses and socket (rewritten at every start).
  printf '%s\n' '' '# scripts/pg.sh' "include 'myriad-deploy.conf'" "include 'myriad-local.conf'" |
    "${as_pg[@]}" tee -a "$home/data/postgresql.conf" >/dev/null
fi

port="$(service_port "$dir")"

"${as_pg[@]}" mkdir -p -m 755 "$home/run"
for attempt in 1 2 3; do
  # Read by us, written by the server's user: it may not be able to read this checkout.
  "${as_pg[@]}" tee "$home/data/myriad-deploy.conf" <"$DEPLOY_CONF" >/dev/null
  printf '%s\n' '# Written by scripts/pg.sh at every start.' \
    "listen_addresses = '127.0.0.1'" "port = $port" "unix_socket_directories = '$home/run'" |
    "${as_pg[@]}" tee "$home/data/myriad-local.conf" >/dev/null
  note "starting PostgreSQL 15 on 127.0.0.1:$port ($home)"
  # The lock must not pass to the server, which would hold it for its whole life.
  if "${as_pg[@]}" "$PG_BIN/pg_ctl" start -D "$home/data" -l "$home/postgresql.log" -w -t 60 >/dev/null {lock_fd}>&-; then
    break
  fi
  # Another cluster may have taken the port between the check and the bind.
  if [[ $attempt -lt 3 ]] && tail -n 20 "$home/postgresql.log" | grep -q 'could not bind\|Address already in use'; then
    warn "port $port was taken meanwhile; trying another"
    port="$(pick_port)"
    continue
  fi
  die "PostgreSQL did not start; the end of $home/postgresql.log:
$(tail -n 20 "$home/postgresql.log")"
done
echo "$port" >"$dir/port"

super=("$(psql_bin)" -X -q -v ON_ERROR_STOP=1 -h "$home/run" -p "$port" -U postgres)
"${super[@]}" -d postgres <<'SQL' >/dev/null
SET client_min_messages = warning;
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'myriad') AS need_role \gset
\if :need_role
  CREATE ROLE myriad LOGIN CREATEDB;
\endif
GRANT pg_read_all_stats, pg_signal_backend, pg_checkpoint TO myriad;
SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = 'myriad') AS need_db \gset
\if :need_db
  CREATE DATABASE myriad OWNER myriad;
\endif
SQL
"${super[@]}" -d myriad <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO myriad;
SQL

url="postgresql://myriad@127.0.0.1:$port/myriad"
echo "$url" >"$dir/url.tmp" && mv "$dir/url.tmp" "$dir/url"
echo "$url"
