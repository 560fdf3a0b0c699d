#!/usr/bin/env bash
# GET /api/users list and search at 100 connections: (a) limit=20 at a cursor 500,000 rows
# deep, (b) search q=<random realistic term> (tools/search_terms.txt), on a private, seeded
# PostgreSQL; plus EXPLAIN (ANALYZE, BUFFERS) of the two SQL shapes behind them and the
# number of rows each search term matches. See bench/README.md.
#
# Listing and searching users needs an administrator: every request (wrk, the cursor walk,
# the checks) carries an admin's access token (lib.sh bench_admin_token). Myriad runs with
# --access-token-ttl 24h and --rate-limit off.
#
# Environment (all optional):
#   USERS=1000000     rows seeded (ids 1..USERS)
#   DEPTH=500000      rows to page through (limit=100) before taking the cursor; capped to
#                     about USERS/2 when USERS is too small for it
#   DURATION=15s      each measured wrk run
#   CONNS=100         wrk connections
#   WARMUP=3s         unreported wrk run before each measured one (0 = none)
#   POOL=2            myriad serve --db-pool-size (per process, split across io threads)
#   THREADS=2         myriad serve --threads
#   WRK_THREADS=2     wrk -t
#   PAUSE=2           seconds between runs
#   MYRIAD_BIN=build/release/myriad
#   RESULTS_DIR=bench/results/users-list-<timestamp>
#
# Targets: p99 <= 10 ms (deep list page) and <= 30 ms (search); 0 socket errors, 0 non-2xx
# (a 401/403 counts as an error).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PY=/usr/bin/python3   # Debian's interpreter: the helpers use the standard library only

USERS=${USERS:-1000000}
DEPTH=${DEPTH:-500000}
DURATION=${DURATION:-15s}
CONNS=${CONNS:-100}
WARMUP=${WARMUP:-3s}
POOL=${POOL:-2}
THREADS=${THREADS:-2}
WRK_THREADS=${WRK_THREADS:-2}
PAUSE=${PAUSE:-2}
MYRIAD_BIN=${MYRIAD_BIN:-$ROOT/build/release/myriad}
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/users-list-$(date +%Y%m%d-%H%M%S)}
REPORT_KIND="list"
COLUMNS_SQL="id, email, name, role, status, created_at, updated_at, version"

# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"
DURATION=$(with_unit "$DURATION")
WARMUP=$(with_unit "$WARMUP")
[[ $DEPTH =~ ^[1-9][0-9]*$ ]] || die "DEPTH must be a positive integer"
[[ $CONNS =~ ^[1-9][0-9]*$ ]] || die "CONNS must be a positive integer"
if (( DEPTH + 1000 > USERS )); then
  capped=$(( USERS / 2 / 100 * 100 ))
  (( capped > 0 )) || die "USERS=$USERS is too small for a deep cursor"
  warn "DEPTH=$DEPTH needs more than USERS=$USERS rows: walking $capped rows instead"
  DEPTH=$capped
fi

users_init
raise_limits "$CONNS"
users_meta_header "GET /api/users list at a deep cursor and search" \
  "wrk -t$WRK_THREADS -c$CONNS --latency --timeout 10s -d$DURATION (Authorization: Bearer <admin token>), warm-up $WARMUP per run"

users_db

# ---------------------------------------------------------------- the SQL side
# Matches on the seeded data for every search term, then the plans of the two query shapes
# (as prepared statements, so $n are real parameters). The first EXECUTE of a statement
# gets a custom plan; the server may also end up on the generic plan once a named
# statement has run a few times, so the search's generic plan is shown too.
log "search terms: counting matching rows"
"$PY" - "$BENCH/tools/search_terms.txt" >"$TMP/terms.sql" <<'PYEOF'
import sys
terms = [t for t in open(sys.argv[1], encoding="utf-8").read().splitlines() if t]
values = ", ".join("(%d, '%s')" % (i, t.replace("'", "''")) for i, t in enumerate(terms))
print(f"""SELECT t.term AS q, (SELECT count(*) FROM users
         WHERE email ILIKE '%' || t.term || '%' OR name ILIKE '%' || t.term || '%') AS matching_rows
  FROM (VALUES {values}) AS t(n, term) ORDER BY t.n;""")
PYEOF
db_psql -f "$TMP/terms.sql" >"$RESULTS_DIR/term_counts.txt"

log "EXPLAIN (ANALYZE, BUFFERS): deep list page and search"
db_psql >"$RESULTS_DIR/explain.txt" <<SQL
\\echo '-- list: id > $DEPTH, limit 20 (custom plan)'
PREPARE list_page(bigint, integer) AS
  SELECT $COLUMNS_SQL FROM users WHERE id > \$1 ORDER BY id LIMIT \$2;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE list_page($DEPTH, 20);
PREPARE search_page(text, bigint, integer) AS
  SELECT $COLUMNS_SQL FROM users
   WHERE translate(email || ' ' || name, '@.-_+''', 'αβγδεζ')
         ILIKE '%' || translate(\$1, '@.-_+''', 'αβγδεζ') || '%'
     AND (email ILIKE '%' || \$1 || '%' OR name ILIKE '%' || \$1 || '%')
     AND id > \$2 ORDER BY id + 0 LIMIT \$3;
\\echo '-- search: q = smith (common), first page, limit 20 (custom plan)'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE search_page('smith', 0, 20);
\\echo '-- search: q = .4242@ (one row), first page, limit 20 (custom plan)'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE search_page('.4242@', 0, 20);
SET plan_cache_mode = force_generic_plan;
\\echo '-- search: q = smith, generic plan (what a named statement may switch to)'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE search_page('smith', 0, 20);
\\echo '-- search: q = .4242@, generic plan'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE search_page('.4242@', 0, 20);
SQL

# ---------------------------------------------------------------- Myriad
log "Myriad pool: --db-pool-size $POOL"
# --access-token-ttl 24h: the admin token must outlive the run (the cursor walk included);
# --rate-limit off: a capacity benchmark sends everything from one address as one account.
MYRIAD_EXTRA=(--access-token-ttl 24h --rate-limit off)
start_myriad_db
bench_admin_token "$MYRIAD_PORT" "$DB_URL"
expect_200 "/api/users?limit=20"
expect_200 "/api/users?limit=20&q=smith"
log "walking $DEPTH rows with limit=100 to get a deep cursor"
walk=$("$PY" "$BENCH/tools/walk_cursor.py" --port "$MYRIAD_PORT" --depth "$DEPTH" --timeout 600) || {
  meta http_error "walking to depth $DEPTH failed (see above)"
  report || true
  die "could not walk to depth $DEPTH"
}
IFS=$'\t' read -r cursor walked last_id walk_requests walk_s <<<"$walk"
meta cursor_depth "$walked"
meta cursor_last_id "$last_id"
meta walk_requests "$walk_requests"
meta walk_s "$walk_s"
cursor_q=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$cursor")
deep_path="/api/users?limit=20&cursor=$cursor_q"
expect_200 "$deep_path"

measure list_deep "$CONNS" -s "$BENCH/tools/wrk_status.lua" "http://127.0.0.1:$MYRIAD_PORT$deep_path"
measure search "$CONNS" -s "$BENCH/tools/search_users.lua" "http://127.0.0.1:$MYRIAD_PORT"
meta finished "$(date -Is), load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
report
