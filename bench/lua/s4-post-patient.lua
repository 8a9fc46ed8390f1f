-- Scenario 4: POST /api/patients/ with a random valid body (gender in mixed case, as clients send it).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local headers = bench.auth(bench.writer_token)

function init(args)
  bench.seed_random()
end

function request()
  return wrk.format("POST", "/api/patients/", headers, bench.patient_body())
end
