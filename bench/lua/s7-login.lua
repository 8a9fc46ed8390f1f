-- Scenario 7: POST /api/auth/login/ with a valid username and password (each opens a session).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.path = "/api/auth/login/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = bench.login_body
