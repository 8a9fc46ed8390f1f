-- Scenario 8: a mix chosen per request by weight: 70% scenario 1 (GET a patient),
-- 20% scenario 2 (first page), 9% scenario 4 (POST a patient), 1% scenario 7 (login).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local ids = bench.read_lines(os.getenv("BENCH_PATIENT_IDS"))
local owner = bench.auth(bench.owner_token)
local writer = bench.auth(bench.writer_token)
local login = { ["Content-Type"] = "application/json" }

function init(args)
  bench.seed_random()
end

function request()
  local r = math.random()
  if r < 0.70 then
    return wrk.format("GET", "/api/patients/" .. ids[math.random(#ids)] .. "/", owner)
  elseif r < 0.90 then
    return wrk.format("GET", "/api/patients/?page_size=20", owner)
  elseif r < 0.99 then
    return wrk.format("POST", "/api/patients/", writer, bench.patient_body())
  else
    return wrk.format("POST", "/api/auth/login/", login, bench.login_body)
  end
end
