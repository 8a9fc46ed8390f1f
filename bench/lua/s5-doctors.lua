-- Scenario 5: GET /api/doctors/?search=card&page_size=20 (substring of name or specialization).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "GET"
wrk.path = "/api/doctors/?search=card&page_size=20"
wrk.headers["Authorization"] = "Bearer " .. bench.owner_token
