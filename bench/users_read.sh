#!/usr/bin/env bash
# GET /api/users/{id} (random ids) against the PostgreSQL ceiling: pgbench running the same
# primary-key point select, on the same private, seeded database, in the same run. Then
# wrk -t2 --latency at each level of LEVELS connections. See bench/README.md.
#
# The users API needs authentication: every request carries an administrator's access token
# (lib.sh bench_admin_token: `myriad admin create`, then POST /api/auth/login), so Myriad
# also resolves the caller on each request. Myriad runs with --access-token-ttl 24h and
# --rate-limit off (all traffic comes from one address and one account).
#
# Environment (all optional):
#   USERS=1000000        rows seeded (ids 1..USERS)
#   DURATION=15s         measured run: pgbench -T and each wrk run
#   LEVELS="1000 10000"  wrk connection counts
#   WARMUP=3s            unreported wrk run before each measured one (0 = none)
#   POOL=2               myriad serve --db-pool-size (per process, split across io threads)
#   THREADS=2            myriad serve --threads
#   WRK_THREADS=2        wrk -t
#   PGBENCH_CLIENTS=16   pgbench -c (with -j 2)
#   PAUSE=2              seconds between runs
#   MYRIAD_BIN=build/release/myriad
#   RESULTS_DIR=bench/results/users-read-<timestamp>
#
# Targets: Myriad req/s >= 0.5x pgbench TPS at every level; p99 <= 150 ms at 10,000
# connections; 0 socket errors and 0 non-2xx responses (a 401/403 counts as an error).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=/usr/bin/python3   # Debian's interpreter: the helpers use the standard library only

USERS=${USERS:-1000000}
DURATION=${DURATION:-15s}
LEVELS=${LEVELS:-1000 10000}
WARMUP=${WARMUP:-3s}
POOL=${POOL:-2}
THREADS=${THREADS:-2}
WRK_THREADS=${WRK_THREADS:-2}
PGBENCH_CLIENTS=${PGBENCH_CLIENTS:-16}
PAUSE=${PAUSE:-2}
MYRIAD_BIN=${MYRIAD_BIN:-$ROOT/build/release/myriad}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/users-read-$(date +%Y%m%d-%H%M%S)}
REPORT_KIND="read"

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
DURATION=$(with_unit "$DURATION")
WARMUP=$(with_unit "$WARMUP")
command -v pgbench >/dev/null || die "pgbench not found (postgresql-contrib / scripts/deps.sh db)"
for c in $LEVELS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "LEVELS must hold positive integers (got '$c')"; done

users_init
# shellcheck disable=SC2086  # LEVELS is a list of numbers
raise_limits $LEVELS

users_meta_header "GET /api/users/{id}, random id in 1..USERS" \
  "wrk -t$WRK_THREADS --latency --timeout 10s -d$DURATION -s tools/random_user.lua (Authorization: Bearer <admin token>), warm-up $WARMUP per level"

users_db

# ---------------------------------------------------------------- ceiling: pgbench
cat >"$TMP/point_select.sql" <<SQL
\\set id random(1, $USERS)
SELECT id, email, name, role, status, created_at, updated_at, version FROM users WHERE id = :id;
SQL
cp "$TMP/point_select.sql" "$RESULTS_DIR/pgbench-script.sql"
pgbench_cmd=(pgbench -n -M prepared -c "$PGBENCH_CLIENTS" -j 2 -T "$(dur_secs "$DURATION")"
  -f "$TMP/point_select.sql")
meta pgbench_cmd "${pgbench_cmd[*]} (script: pgbench-script.sql)"
log "pgbench: ${pgbench_cmd[*]}"
timeout --kill-after=10 $(( $(dur_secs "$DURATION") + 60 )) "${pgbench_cmd[@]}" "$DB_URL" \
  >"$RESULTS_DIR/pgbench.txt" 2>&1 || { cat "$RESULTS_DIR/pgbench.txt" >&2; die "pgbench failed"; }
tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$RESULTS_DIR/pgbench.txt")
[[ -n $tps ]] || die "no TPS line in $RESULTS_DIR/pgbench.txt"
meta pgbench_tps "$tps"
log "pgbench: $tps TPS"
sleep "$PAUSE"

# ---------------------------------------------------------------- Myriad
log "Myriad pool: --db-pool-size $POOL"
# --access-token-ttl 24h: the admin token must outlive the run; --rate-limit off: a capacity
# benchmark sends everything from one address as one account.
MYRIAD_EXTRA=(--access-token-ttl 24h --rate-limit off)
start_myriad_db
bench_admin_token "$MYRIAD_PORT" "$DB_URL"
expect_200 /api/users/1
expect_200 "/api/users/$USERS"
for c in $LEVELS; do
  measure get_user "$c" -s "$BENCH/tools/random_user.lua" "http://127.0.0.1:$MYRIAD_PORT" -- "$USERS"
done
meta finished "$(date -Is), load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
report
