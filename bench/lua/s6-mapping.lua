-- Scenario 6: POST /api/mappings/ with pairs never sent before: pair number k
-- (this run's base + a per-thread counter, interleaved across threads) is
-- patient k mod P with doctor floor(k / P) mod D, so no pair repeats (no 409)
-- until P * D pairs have been made.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local patients = bench.read_lines(os.getenv("BENCH_PATIENT_IDS"))
local doctors = bench.read_lines(os.getenv("BENCH_DOCTOR_IDS"))
local headers = bench.auth(bench.owner_token)
local n = 0

function request()
  local k = bench.seq_base + n * bench.threads + (tid or 0)
  n = n + 1
  local p = patients[(k % #patients) + 1]
  local d = doctors[(math.floor(k / #patients) % #doctors) + 1]
  return wrk.format("POST", "/api/mappings/", headers, '{"patient":"' .. p .. '","doctor":"' .. d .. '"}')
end
