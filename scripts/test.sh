#!/usr/bin/env bash
# Runs every test: installs missing packages, builds the dev preset (Debug, ASan+UBSan),
# runs scripts/lint.sh and then all CTest tests (every label). Exits non-zero on any failure.
#
#   scripts/test.sh                    everything
#   scripts/test.sh -L test            extra arguments go to ctest (here: one label)
#
# Re-running is quick: nothing is reinstalled and ninja rebuilds only what changed.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

started=$SECONDS
step=deps
trap report_failure EXIT

ensure_deps build test db redis
step=configure
configure_preset dev
step=build
build_preset dev
raise_nofile

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=()
log "scripts/lint.sh"
bash "$MYRIAD_ROOT/scripts/lint.sh" || failed+=(lint)

# --timeout is the default for tests without their own TIMEOUT (gtest and fuzz tests set
# one): a test that hangs, such as a server that failed to reject a bad flag, fails in two
# minutes instead of stalling the run.
log "ctest --preset dev -j2"
(cd "$MYRIAD_ROOT" && ctest --preset dev -j2 --timeout 120 "$@") || failed+=(ctest)

trap - EXIT
elapsed=$((SECONDS - started))
if [[ ${#failed[@]} -eq 0 ]]; then
  log "scripts/test.sh: OK, lint and all tests passed (${elapsed}s)"
else
  log "scripts/test.sh: FAILED: ${failed[*]} (${elapsed}s)"
  exit 1
fi
