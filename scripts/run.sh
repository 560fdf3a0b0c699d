#!/usr/bin/env bash
# Runs the service: installs missing build packages, builds the release preset and starts
# `myriad serve` (default 127.0.0.1:8080). Arguments and MYRIAD_* variables pass through:
#
#   scripts/run.sh --listen 0.0.0.0:9000 --threads 2
#   MYRIAD_LOG_FORMAT=text scripts/run.sh
#
# Re-running is quick: nothing is reinstalled and ninja has nothing to do.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step=deps
trap report_failure EXIT
ensure_deps build
step=configure
configure_preset release
step=build
build_preset release
trap - EXIT

binary="$MYRIAD_ROOT/build/release/myriad"
[[ -x $binary ]] || die "build finished but $binary is missing"

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

exec "$binary" serve "$@"
