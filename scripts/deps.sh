#!/usr/bin/env bash
# Installs the Debian 12 packages Myriad needs, by group, skipping what is already there.
#
#   scripts/deps.sh [group...]     groups: build (default), test, bench, db, redis, all
#
# Fast when everything is present (one dpkg-query). Otherwise: apt-get update once, then
# apt-get install --no-install-recommends of the missing packages, with services kept from
# starting (nginx, prometheus...). As root, or through sudo.
# shellcheck disable=SC2034  # the PKGS_* lists are read through add_group's nameref
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------------------
# Package lists: the one place to add a dependency. Libraries and tools needed to compile
# go in build (e.g. libpq-dev, libhiredis-dev); servers and tools the tests run go in test
# (e.g. promtool); load-test tools go in bench; the PostgreSQL server for scripts/pg.sh
# goes in db; the Redis server for scripts/redis.sh goes in redis.
PKGS_build=(
  cmake ninja-build ccache g++ pkg-config
  libpq-dev # src/db and the pgtests (also in db)
  libsodium-dev # Argon2id password hashes (myriad seed, later auth)
  libhiredis-dev # the RESP protocol (reply parser, command encoder) under src/redis
  libjemalloc-dev # the allocator of the release executables (CMakeLists.txt: MYRIAD_JEMALLOC)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcli11-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
)
PKGS_test=(
  prometheus # promtool, for `promtool check metrics`
  curl
  clang libclang-rt-14-dev # the fuzz preset (libFuzzer, sanitizers)
  clang-format clang-tidy  # scripts/lint.sh
)
PKGS_bench=(
  wrk nginx-light apache2-utils procps bc
)
PKGS_db=(
  postgresql-15 libpq-dev # scripts/pg.sh: server, contrib (pg_trgm, pg_stat_statements), libpq
  iproute2                # ss: scripts/pg.sh looks for a free port
)
PKGS_redis=(
  redis-server redis-tools # scripts/redis.sh: server (Redis 7) and redis-cli
  iproute2                 # ss: scripts/redis.sh looks for a free port
)
GROUPS_ALL=(build test bench db redis)
# ---------------------------------------------------------------------------------------

usage() {
  echo "usage: ${0##*/} [group...]   (groups: ${GROUPS_ALL[*]} all; default: build)" >&2
  exit 2
}

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(build)
add_group() {
  local -n list="PKGS_$1"
  wanted+=("${list[@]}")
}
wanted=()
for group in "${groups[@]}"; do
  case "$group" in
    build | test | bench | db | redis) add_group "$group" ;;
    all) for g in "${GROUPS_ALL[@]}"; do add_group "$g"; done ;;
    -h | --help) usage ;;
    *)
      echo "${0##*/}: unknown group '$group'" >&2
      usage
      ;;
  esac
done

# One dpkg-query for everything; names it does not know are simply absent from its output.
declare -A installed=()
while read -r name status; do
  [[ $status == installed ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" 2>/dev/null || true)

missing=()
for pkg in "${wanted[@]}"; do
  if [[ -z ${installed[$pkg]:-} && " ${missing[*]-} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  log "deps (${groups[*]}): all ${#wanted[@]} packages present"
  exit 0
fi

if [[ $EUID -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
  die "missing packages: ${missing[*]}
  Installing them needs root: run this script as root, install sudo, or run
  apt-get install ${missing[*]}
  yourself (or set MYRIAD_SKIP_DEPS=1 to skip this step)."
fi

# Keep packages such as nginx and prometheus from starting their services on install:
# invoke-rc.d asks /usr/sbin/policy-rc.d, and 101 means "action forbidden". Only a file we
# created ourselves is removed afterwards.
policy=/usr/sbin/policy-rc.d
created_policy=0
cleanup() {
  if [[ $created_policy -eq 1 ]]; then
    as_root rm -f "$policy"
  fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# Temporary, from myriad scripts/deps.sh: no service starts on install.\nexit 101\n' |
    as_root tee "$policy" >/dev/null
  as_root chmod 755 "$policy"
  created_policy=1
fi

apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
log "deps (${groups[*]}): installing ${missing[*]}"
as_root "${apt[@]}" update
as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
log "deps (${groups[*]}): installed ${#missing[@]} package(s)"
