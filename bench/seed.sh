#!/usr/bin/env bash
# Seed benchmark: `myriad seed --users N` (release build) into a private, freshly migrated
# PostgreSQL, then the sizes of the users table and its indexes.
#
#   bench/seed.sh [USERS] [CONNECTIONS]     defaults: 1000000 users, 2 connections
#
# Targets (issue 3): <= 20 s and <= 400 MB (table + indexes) at 1,000,000 users.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
users=${1:-1000000}
connections=${2:-2}
bin=$root/build/release/myriad
[[ -x $bin ]] || cmake --build --preset release --target myriad >&2 || {
  echo "seed.sh: build the release preset first (cmake --preset release)" >&2
  exit 1
}

work=$(mktemp -d /tmp/myriad-seed-bench.XXXXXX)
unset MYRIAD_DATABASE_URL # always a private server
cleanup() {
  bash "$root/scripts/pg.sh" destroy "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

url=$(bash "$root/scripts/pg.sh" start "$work/pg" | tail -n 1)
"$bin" migrate --database-url "$url" --migrations-dir "$root/migrations"
start=$(date +%s.%N)
"$bin" seed --users "$users" --connections "$connections" --database-url "$url" | tail -n 1
end=$(date +%s.%N)
printf 'wall time: %.2f s (target <= 20 s at 1M)\n' "$(echo "$end - $start" | bc)"
bash "$root/scripts/pg.sh" psql "$work/pg" -X -q -P pager=off -c "
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
