-- wrk script: POST /api/auth/login for one account, every request.
--   wrk ... -s bench/tools/login.lua http://127.0.0.1:PORT -- EMAIL PASSWORD
-- Counts responses by status through tools/wrk_status.lua.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "wrk_status.lua")

local body = ""

function init(args)
  body = string.format('{"email":"%s","password":"%s"}', args[1], args[2])
end

function request()
  return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" }, body)
end
