-- Writes to users at a steady cost, without the stalls that batching them caused.
--
-- 1. The search index takes each row's trigrams at once. With GIN's default fastupdate,
--    new entries first go to a pending list, and the write that finds the list full
--    (gin_pending_list_limit, 4 MB: about 7,000 name changes) merges all of it into the
--    index before it returns. Under bench/scale's 500 profile updates per second that was
--    one update every ~14 s taking 300-650 ms, and every query pipelined behind it on the
--    same connection waited as long. Without the list an update costs about 0.6 ms more
--    (0.97 against 0.40 ms mean under that load), and no single write merges thousands.
ALTER INDEX users_search_trgm SET (fastupdate = off);
SELECT gin_clean_pending_list('users_search_trgm'::regclass);

-- 2. ANALYZE users after 10% of its rows changed (PostgreSQL's default) instead of the
--    2% that deploy/postgres/postgresql.conf sets for every table. Sampling 1M users costs
--    about a second of CPU, and name or email changes do not move the statistics the
--    planner uses here (ids, the email key, row counts).
ALTER TABLE users SET (autovacuum_analyze_scale_factor = 0.1);
