-- wrk helper: counts responses by HTTP status in every thread and prints, in done(),
--   non-2xx (lua): N
--   statuses (lua): 200=123 404=5
--   authorization (lua): bearer|none
-- which tools/wrk_parse.py reads. wrk counts only >= 400 as "Non-2xx or 3xx"; this counts
-- every status outside 200..299. Use it as the wrk script itself (fixed URL), or load it
-- from another script with dofile() before defining request().
-- It also loads tools/auth.lua: with MYRIAD_BENCH_TOKEN set in the environment, every
-- request carries "Authorization: Bearer $MYRIAD_BENCH_TOKEN".
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "auth.lua")
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end

statuses = {}

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, non2xx = {}, 0
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      total[status] = (total[status] or 0) + n
    end
  end
  local keys = {}
  for status, n in pairs(total) do
    table.insert(keys, status)
    if status < 200 or status > 299 then non2xx = non2xx + n end
  end
  table.sort(keys)
  local parts = {}
  for _, status in ipairs(keys) do
    table.insert(parts, string.format("%d=%d", status, total[status]))
  end
  io.write(string.format("non-2xx (lua): %d\n", non2xx))
  io.write(string.format("statuses (lua): %s\n", table.concat(parts, " ")))
  io.write(string.format("authorization (lua): %s\n", bench_auth or "none"))
end

-- Seeds each thread's generator differently (wrk starts all threads in the same second).
function seed_thread_random()
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1e6))
end
