-- wrk script: GET /api/users/<id> walking ids 1..HOT in order, striped over wrk's threads
-- (thread k of T asks k, k+T, k+2T, ... and wraps), so a run of HOT requests touches every
-- id of the hot set once. bench/users_cached.sh fills the cache with it before measuring.
--   wrk -tT ... -s bench/tools/hot_user.lua http://127.0.0.1:PORT -- HOT T
-- Counts non-2xx responses through tools/wrk_status.lua, which also sends
-- "Authorization: Bearer $MYRIAD_BENCH_TOKEN" when that variable is set (tools/auth.lua).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk_status.lua")

local hot, stride, next_user = 100000, 1, 1

function init(args)
  hot = tonumber(args[1]) or hot
  stride = tonumber(args[2]) or stride
  next_user = thread_id or 1
end

function request()
  local id = next_user
  next_user = next_user + stride
  if next_user > hot then next_user = next_user - hot end
  return wrk.format("GET", "/api/users/" .. id)
end
