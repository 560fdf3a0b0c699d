#!/usr/bin/env bash
# Runs the service: installs missing packages, builds the release preset, starts a local
# PostgreSQL (scripts/pg.sh, in var/postgres) and Redis (scripts/redis.sh, in var/redis),
# applies migrations, seeds 1,000,000 demo users on first start, and starts `myriad serve`
# (default 127.0.0.1:8080). Arguments and MYRIAD_* variables pass through:
#
#   scripts/run.sh --listen 0.0.0.0:9000 --threads 2
#   MYRIAD_LOG_FORMAT=text scripts/run.sh
#   MYRIAD_SEED_USERS=0 scripts/run.sh        # no demo users (default 1000000)
#   MYRIAD_DATABASE_URL=postgresql://... scripts/run.sh   # your own server: migrated,
#                                                         # never seeded, never started
#   MYRIAD_REDIS_URL=redis://... scripts/run.sh           # your own Redis, never started
#   MYRIAD_REDIS_URL=none scripts/run.sh                  # no Redis: in-process cache only
#
# Every seeded user's password is "myriad-demo-password": for demos and benchmarks only.
# Re-running is quick: nothing is reinstalled, ninja has nothing to do, the cluster and
# its users are kept (scripts/pg.sh destroy starts over).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step=deps
trap report_failure EXIT
ensure_deps build db redis
step=configure
configure_preset release
step=build
build_preset release

binary="$MYRIAD_ROOT/build/release/myriad"
[[ -x $binary ]] || die "build finished but $binary is missing"

step=database
seed_users="${MYRIAD_SEED_USERS:-1000000}"
[[ $seed_users =~ ^[0-9]+$ ]] || die "MYRIAD_SEED_USERS must be a whole number, got '$seed_users'"
if [[ -n ${MYRIAD_DATABASE_URL:-} ]]; then
  log "using your database (MYRIAD_DATABASE_URL); it is migrated but never seeded"
  seed_users=0
else
  MYRIAD_DATABASE_URL="$(bash "$MYRIAD_ROOT/scripts/pg.sh" start | tail -n 1)"
  export MYRIAD_DATABASE_URL
  log "PostgreSQL at $MYRIAD_DATABASE_URL (scripts/pg.sh stop | destroy)"
fi
step=redis
if [[ ${MYRIAD_REDIS_URL:-} == none ]]; then
  unset MYRIAD_REDIS_URL
  log "no Redis (MYRIAD_REDIS_URL=none): in-process cache and local rate limits only"
elif [[ -n ${MYRIAD_REDIS_URL:-} ]]; then
  log "using your Redis (MYRIAD_REDIS_URL)"
else
  MYRIAD_REDIS_URL="$(bash "$MYRIAD_ROOT/scripts/redis.sh" start | tail -n 1)"
  export MYRIAD_REDIS_URL
  log "Redis at $MYRIAD_REDIS_URL (scripts/redis.sh stop | destroy)"
fi
step=migrate
(cd "$MYRIAD_ROOT" && "$binary" migrate)
if [[ $seed_users -gt 0 ]]; then
  has_users="$(bash "$MYRIAD_ROOT/scripts/pg.sh" psql -X -A -t -q \
    -c 'SELECT EXISTS (SELECT 1 FROM users)')"
  if [[ $has_users == f ]]; then
    step=seed
    log "first start: seeding $seed_users demo users (password: myriad-demo-password;" \
      "MYRIAD_SEED_USERS=0 skips this)"
    "$binary" seed --users "$seed_users"
  fi
fi
step=keys
# Access tokens are signed with var/keys/signing.key, made on the first start (kept across
# restarts, so tokens survive them). MYRIAD_JWT_KEY_FILES or --jwt-key-files override it.
if [[ -z ${MYRIAD_JWT_KEY_FILES:-} ]] && ! printf '%s\n' "$@" | grep -q -- '^--jwt-key-files'; then
  key_file="$MYRIAD_ROOT/var/keys/signing.key"
  if [[ ! -f $key_file ]]; then
    mkdir -p "$(dirname "$key_file")"
    chmod 700 "$(dirname "$key_file")"
    log "first start: made signing key $("$binary" keygen --out "$key_file") in $key_file"
  fi
  export MYRIAD_JWT_KEY_FILES="$key_file"
fi
trap - EXIT

raise_nofile

# Where it will listen: the last --listen flag, else MYRIAD_LISTEN, else the binary's
# default. The binary logs the address it actually bound, too.
listen="${MYRIAD_LISTEN:-127.0.0.1:8080}"
show=1
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --) break ;;
    --listen=*) listen="${args[i]#--listen=}" ;;
    --listen) listen="${args[i + 1]:-$listen}" ;;
    -h | --help) show=0 ;;
  esac
done
[[ $listen == :* ]] && listen="0.0.0.0$listen"
if [[ $show -eq 1 ]]; then
  log "myriad serve will listen on http://$listen (try GET /api/health; Ctrl-C stops it)"
fi

cd "$MYRIAD_ROOT" # --migrations-dir defaults to ./migrations
exec "$binary" serve "$@"
