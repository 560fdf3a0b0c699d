#!/usr/bin/env bash
# Static checks, all of which must pass in CI (scripts/test.sh runs this):
#   1. format     clang-format --dry-run --Werror over the C++ in src/ tests/ fuzz/ bench/ tools/
#   2. io-thread  a grep-level lint of src/ for what must never run on an io thread
#   3. tidy       clang-tidy on the src/*.cpp files changed in the last commit, using
#                 build/dev/compile_commands.json (skipped when there is none)
#
#   scripts/lint.sh [--no-tidy | --tidy-all]
#     --tidy-all   clang-tidy every src/*.cpp in the compile database (slow: minutes)
#   MYRIAD_TIDY_MAX_FILES (default 10) bounds the number of files clang-tidy checks.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$MYRIAD_ROOT"

tidy_mode=changed
case "${1:-}" in
  "") ;;
  --no-tidy) tidy_mode=off ;;
  --tidy-all) tidy_mode=all ;;
  *)
    echo "usage: ${0##*/} [--no-tidy | --tidy-all]" >&2
    exit 2
    ;;
esac

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=()

# Files of the given folders, tracked or untracked-but-not-ignored, that still exist.
list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- "$@" | sort -u
  else
    find "$@" -type f 2>/dev/null | sort
  fi | while IFS= read -r f; do
    if [[ -f $f ]]; then printf '%s\n' "$f"; fi
  done
}
cxx_filter() { grep -E '\.(cpp|cc|cxx|hpp|hh|h|ipp|inl)$' || true; }

find_tool() {
  local name
  for name in "$1-14" "$1"; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

# --- 1. format --------------------------------------------------------------------------
mapfile -t cxx_files < <(list_files src tests fuzz bench tools | cxx_filter)
if ! clang_format="$(find_tool clang-format)"; then
  echo "format: clang-format not found (scripts/deps.sh test installs it)"
  failed+=(format)
elif [[ ${#cxx_files[@]} -gt 0 ]]; then
  if ! "$clang_format" --dry-run --Werror "${cxx_files[@]}" >"$tmp/format.log" 2>&1; then
    mapfile -t bad < <(grep -oE '^[^: ]+:[0-9]+:[0-9]+: error' "$tmp/format.log" | cut -d: -f1 | sort -u)
    echo "format: ${#bad[@]} file(s) not clang-formatted (first differences below):"
    printf '  %s\n' "${bad[@]}"
    head -n 30 "$tmp/format.log" | sed 's/^/    /'
    echo "  fix: $clang_format -i ${bad[*]}"
    failed+=(format)
  fi
fi
echo "format: checked ${#cxx_files[@]} file(s)"

# --- 2. io-thread lint -------------------------------------------------------------------
# Each rule: name, extended regex (matched on code with comments and string contents
# removed), and why it is banned. The rules apply to every file under src/ except those
# in ALLOW below.
RULES=(
  "sleep|std::this_thread::sleep_(for|until)|(^|[^A-Za-z0-9_])(u|nano)?sleep[[:space:]]*\(|blocks the io thread; wait with an asio::steady_timer"
  "libpq-blocking|(^|[^A-Za-z0-9_])PQ(exec|execParams|execPrepared|prepare|describePrepared|describePortal|connectdb|connectdbParams|setdbLogin|reset|ping|pingParams|fn)[[:space:]]*\(|blocking libpq call; use the asynchronous API (PQsend*, PQconnectStart/PQconnectPoll)"
  "libpq-getresult|(^|[^A-Za-z0-9_])PQgetResult[[:space:]]*\(|PQgetResult blocks unless PQisBusy() is 0: only src/db/ may call it"
  "regex|std::w?regex|#[[:space:]]*include[[:space:]]*<regex>|std::regex is slow and allocates on every match; parse by hand or with Boost.URL"
  "wall-clock|(system|utc)_clock::now|(^|[^A-Za-z0-9_])gettimeofday[[:space:]]*\(|CLOCK_REALTIME|(^|[^A-Za-z0-9_.>])time[[:space:]]*\([[:space:]]*(nullptr|NULL|0)?[[:space:]]*\)|read the wall clock through src/core/clock so tests can substitute it"
)
# Allowed exceptions: rule, path glob (relative to the repo root), reason. Keep each one
# justified; a new exception is a design decision.
ALLOW=(
  "wall-clock|src/core/clock*|the clock module is the one place that reads the wall clock"
  "wall-clock|src/metrics/*|process_start_time_seconds and the scrape-time process metrics are Unix times"
  "libpq-getresult|src/db/*|the db module calls PQgetResult only once PQisBusy() is 0, so it never blocks"
)

# Prints "path<TAB>line<TAB>code" for every line of the given files, with // and /* */
# comments removed and the contents of string and character literals blanked.
strip_comments() {
  awk '
    FNR == 1 { in_block = 0 }
    {
      line = $0; n = length(line); out = ""; in_str = 0; i = 1
      while (i <= n) {
        c = substr(line, i, 1); two = substr(line, i, 2)
        if (in_block) {
          if (two == "*/") { in_block = 0; out = out "  "; i += 2 } else { out = out " "; i++ }
        } else if (in_str) {
          if (c == "\\") { out = out "  "; i += 2 }
          else if (c == quote) { in_str = 0; out = out c; i++ }
          else { out = out " "; i++ }
        } else if (two == "//") {
          break
        } else if (two == "/*") {
          in_block = 1; out = out "  "; i += 2
        } else {
          # A quote between two hex digits is a digit separator (10'\''000), not a literal.
          if (c == "\"" || (c == "'\''" && !(substr(line, i - 1, 1) ~ /[0-9A-Fa-f]/ && substr(line, i + 1, 1) ~ /[0-9A-Fa-f]/))) {
            in_str = 1; quote = c
          }
          out = out c; i++
        }
      }
      printf "%s\t%d\t%s\n", FILENAME, FNR, out
    }' "$@"
}

mapfile -t src_files < <(list_files src | grep -E '\.(cpp|cc|cxx|hpp|hh|h|ipp|inl|in)$' || true)
io_violations=0
if [[ ${#src_files[@]} -gt 0 ]]; then
  strip_comments "${src_files[@]}" >"$tmp/code.tsv"
  for rule in "${RULES[@]}"; do
    name="${rule%%|*}"
    rest="${rule#*|}"
    why="${rest##*|}"
    regex="${rest%|*}"
    while IFS=$'\t' read -r path line _; do
      allowed=0
      for entry in "${ALLOW[@]}"; do
        IFS='|' read -r allow_rule allow_glob _ <<<"$entry"
        # shellcheck disable=SC2053  # the glob is meant to match
        if [[ $allow_rule == "$name" && $path == $allow_glob ]]; then
          allowed=1
          break
        fi
      done
      [[ $allowed -eq 1 ]] && continue
      io_violations=$((io_violations + 1))
      printf 'io-thread: %s:%s: [%s] %s\n    %s\n' "$path" "$line" "$name" "$why" \
        "$(sed -n "${line}p" "$path" | sed 's/^[[:space:]]*//')"
    done < <(LINT_RE="$regex" awk -F'\t' 'BEGIN { re = ENVIRON["LINT_RE"] } $3 ~ re' "$tmp/code.tsv")
  done
fi
if [[ $io_violations -gt 0 ]]; then
  echo "io-thread: $io_violations violation(s); allowed exceptions are listed in ALLOW in scripts/lint.sh"
  failed+=(io-thread)
fi
echo "io-thread: checked ${#src_files[@]} file(s) under src/"

# --- 3. clang-tidy -------------------------------------------------------------------------
compile_db=build/dev/compile_commands.json
tidy_files=()
if [[ $tidy_mode == off ]]; then
  echo "tidy: skipped (--no-tidy)"
elif [[ ! -f $compile_db ]]; then
  echo "tidy: skipped (no $compile_db; run: cmake --preset dev)"
elif ! clang_tidy="$(find_tool clang-tidy)"; then
  echo "tidy: clang-tidy not found (scripts/deps.sh test installs it)"
  failed+=(tidy)
else
  if [[ $tidy_mode == all ]]; then
    mapfile -t candidates < <(list_files src tools | grep -E '\.cpp$' || true)
  elif git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null 2>&1; then
    mapfile -t candidates < <(git diff --name-only --diff-filter=d HEAD~1 -- 'src/*.cpp' 'tools/*.cpp')
  else
    candidates=()
    echo "tidy: skipped (no previous commit to compare with)"
  fi
  for f in "${candidates[@]}"; do
    # Only files the dev build compiles (the compile database names them by absolute path).
    if grep -qF "\"$MYRIAD_ROOT/$f\"" "$compile_db"; then
      tidy_files+=("$f")
    fi
  done
  if [[ ${#candidates[@]} -gt 0 && ${#tidy_files[@]} -eq 0 ]]; then
    echo "tidy: nothing to check (changed files are not in $compile_db)"
  elif [[ $tidy_mode == changed && ${#candidates[@]} -eq 0 ]] && git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null 2>&1; then
    echo "tidy: no src/*.cpp or tools/*.cpp changed since HEAD~1"
  fi
  max="${MYRIAD_TIDY_MAX_FILES:-10}"
  if [[ $tidy_mode != all && ${#tidy_files[@]} -gt $max ]]; then
    echo "tidy: ${#tidy_files[@]} changed files, checking the first $max (MYRIAD_TIDY_MAX_FILES)"
    tidy_files=("${tidy_files[@]:0:max}")
  fi
fi

if [[ ${#tidy_files[@]} -gt 0 ]]; then
  echo "tidy: checking ${#tidy_files[@]} file(s): ${tidy_files[*]}"
  # Two at a time (two cores); each file is bounded to 5 minutes. Logs are kept per file so
  # parallel output does not interleave.
  export clang_tidy tmp compile_db
  # shellcheck disable=SC2016  # expanded by the inner bash
  printf '%s\0' "${tidy_files[@]}" | xargs -0 -P2 -I{} bash -c '
    f="$1"; log="$tmp/tidy.$(printf %s "$f" | tr / _).log"
    timeout 300 "$clang_tidy" -p "$(dirname "$compile_db")" --quiet --warnings-as-errors="*" \
      --extra-arg=-Wno-unknown-warning-option "$f" >"$log" 2>&1
    echo $? >"$log.rc"' _ {}
  tidy_bad=0
  for f in "${tidy_files[@]}"; do
    log="$tmp/tidy.$(printf %s "$f" | tr / _).log"
    rc="$(cat "$log.rc" 2>/dev/null || echo 1)"
    if [[ $rc -eq 124 ]]; then
      echo "tidy: $f: timed out after 300s (not counted as a failure)"
    elif [[ $rc -ne 0 ]]; then
      tidy_bad=$((tidy_bad + 1))
      echo "tidy: $f: findings:"
      grep -vE '^[0-9]+ (warning|error)s? (generated|treated as errors?)\.?$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' "$log" |
        head -n 60 | sed 's/^/    /'
    fi
  done
  [[ $tidy_bad -gt 0 ]] && failed+=(tidy)
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "lint: FAILED: ${failed[*]}"
  exit 1
fi
echo "lint: OK"
