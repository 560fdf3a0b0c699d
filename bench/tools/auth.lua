-- wrk helper: sends "Authorization: Bearer <token>" on every request when the environment
-- variable MYRIAD_BENCH_TOKEN is set and not empty (bench/lib.sh's bench_admin_token
-- exports it), and nothing otherwise. tools/wrk_status.lua loads it, so every wrk script
-- that counts statuses through it sends the token too; a script that passes its own headers
-- to wrk.format() (tools/login.lua) does not. Sets the global bench_auth to "bearer" or
-- "none", which wrk_status.lua's done() prints as "authorization (lua): ...".
local token = os.getenv("MYRIAD_BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
  bench_auth = "bearer"
else
  bench_auth = "none"
end
