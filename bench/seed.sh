#!/usr/bin/env bash
# Seed benchmark: `myriad seed --users N` (release build) into a private, freshly migrated
# PostgreSQL, then the sizes of the users table and its indexes, then the ceiling: the same
# rows exported to a file, the table truncated (indexes kept), and a plain
# `\copy users (...) FROM file` through psql (one connection) timed on the same server.
#
#   bench/seed.sh [USERS] [CONNECTIONS]     defaults: 1000000 users, 2 connections
#
# Targets (issue 3): <= 20 s and <= 400 MB (table + indexes) at 1,000,000 users; the ratio
# myriad seed time / plain COPY time shows how close the seeder gets to the ceiling.
# A copy of the output goes to bench/results/seed-<timestamp>.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
users=${1:-1000000}
connections=${2:-2}
bin=$root/build/release/myriad
[[ -x $bin ]] || cmake --build --preset release --target myriad >&2 || {
  echo "seed.sh: build the release preset first (cmake --preset release)" >&2
  exit 1
}

results=$root/bench/results
mkdir -p "$results"
report=$results/seed-$(date +%Y%m%d-%H%M%S).txt
exec > >(tee "$report") 2>&1
work=$(mktemp -d /tmp/myriad-seed-bench.XXXXXX)
unset MYRIAD_DATABASE_URL # always a private server
cleanup() {
  bash "$root/scripts/pg.sh" destroy "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

url=$(bash "$root/scripts/pg.sh" start "$work/pg" | tail -n 1)
psql() { bash "$root/scripts/pg.sh" psql "$work/pg" -X -q -v ON_ERROR_STOP=1 -P pager=off "$@"; }
"$bin" migrate --database-url "$url" --migrations-dir "$root/migrations"
start=$(date +%s.%N)
"$bin" seed --users "$users" --connections "$connections" --database-url "$url" | tail -n 1
end=$(date +%s.%N)
seed_s=$(echo "$end - $start" | bc)
printf 'wall time: %.2f s (target <= 20 s at 1M)\n' "$seed_s"
psql -c "
  SELECT 'total (table + indexes + toast)' AS object,
         pg_size_pretty(pg_total_relation_size('users')) AS size,
         pg_total_relation_size('users') / 1048576 AS mib
  UNION ALL
  SELECT 'table users', pg_size_pretty(pg_table_size('users')), pg_table_size('users') / 1048576
  UNION ALL
  SELECT 'index ' || indexrelid::regclass, pg_size_pretty(pg_relation_size(indexrelid)),
         pg_relation_size(indexrelid) / 1048576
    FROM pg_index WHERE indrelid = 'users'::regclass;"
echo "target: total <= 400 MB at 1M"

# The ceiling: the same rows, one plain COPY FROM through psql, same indexes present.
cols="email, name, password_hash, role, status, created_at, updated_at"
rows=$work/users.copy
psql -c "\\copy (SELECT $cols FROM users ORDER BY id) TO '$rows'"
psql -c "TRUNCATE users RESTART IDENTITY"
start=$(date +%s.%N)
psql -c "\\copy users ($cols) FROM '$rows'"
end=$(date +%s.%N)
copy_s=$(echo "$end - $start" | bc)
loaded=$(psql -At -c "SELECT count(*) FROM users")
[[ $loaded == "$users" ]] || { echo "seed.sh: plain COPY loaded $loaded rows, expected $users" >&2; exit 1; }
printf 'plain COPY of the same %s rows (psql \\copy, 1 connection, indexes present): %.2f s\n' \
  "$users" "$copy_s"
printf 'ratio myriad seed / plain COPY: %.2fx (myriad seed also hashes one password and runs ANALYZE)\n' \
  "$(echo "$seed_s / $copy_s" | bc -l)"
echo "report: $report"
