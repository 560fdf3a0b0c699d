-- wrk script: GET /api/users/<id> with id uniformly random in 1..USERS.
--   wrk ... -s bench/tools/random_user.lua http://127.0.0.1:PORT -- USERS
-- Counts non-2xx responses through tools/wrk_status.lua, which also sends
-- "Authorization: Bearer $MYRIAD_BENCH_TOKEN" when that variable is set (tools/auth.lua).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk_status.lua")

local users = 1000000

function init(args)
  users = tonumber(args[1]) or users
  seed_thread_random()
end

function request()
  return wrk.format("GET", "/api/users/" .. math.random(1, users))
end
