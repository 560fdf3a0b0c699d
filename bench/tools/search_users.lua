-- wrk script: GET /api/users?limit=20&q=<term>, the term picked at random per request.
--   wrk ... -s bench/tools/search_users.lua http://127.0.0.1:PORT
-- The terms (tools/search_terms.txt) follow what `myriad seed` generates
-- (src/db/user_seeder.cpp): names are "First Last" from 64 first and 64 last names, emails
-- "first.last.<id>@example.com". So at 1M users a last name hits ~1/64 of the rows, a
-- fragment such as "son" or "mar" several names, a first.last pair ~1/4096, an id-based
-- email fragment one row, and some terms ("anna", "son@") nothing at all.
-- Counts non-2xx responses through tools/wrk_status.lua, which also sends
-- "Authorization: Bearer $MYRIAD_BENCH_TOKEN" when that variable is set (tools/auth.lua;
-- listing and searching users needs an administrator's token).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk_status.lua")

-- One term per line in tools/search_terms.txt (users_list.sh also counts their matches).
local terms = {}
for line in io.lines(dir .. "search_terms.txt") do
  if line ~= "" then table.insert(terms, line) end
end

function init(args)
  seed_thread_random()
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  return wrk.format("GET", "/api/users?limit=20&q=" .. encode(terms[math.random(#terms)]))
end
