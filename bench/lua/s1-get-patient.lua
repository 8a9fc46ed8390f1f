-- Scenario 1: GET /api/patients/{id}/, the owner's token, a random id among the owner's patients.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids = bench.read_lines(os.getenv("BENCH_PATIENT_IDS"))
local headers = bench.auth(bench.owner_token)

function init(args)
  bench.seed_random()
end

function request()
  return wrk.format("GET", "/api/patients/" .. ids[math.random(#ids)] .. "/", headers)
end
