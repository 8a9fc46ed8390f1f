-- Scenarios 2 and 3: GET /api/patients/?page_size=20, first page or from BENCH_CURSOR.
-- The same request every time, so wrk sends it without calling into Lua.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local cursor = bench.env("BENCH_CURSOR")
wrk.method = "GET"
wrk.path = "/api/patients/?page_size=20" .. (cursor and ("&cursor=" .. cursor) or "")
wrk.headers["Authorization"] = "Bearer " .. bench.owner_token
