-- Shared by every scenario script: settings from the environment (set by
-- bench/run.mjs), id lists, tokens, a unique sequence per thread, and done(),
-- which prints the run's figures as one JSON line for run.mjs to read.

bench = {}

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end
bench.env = env

function bench.read_lines(path)
  local list = {}
  if path == nil then return list end
  local f = assert(io.open(path, "r"), "cannot open " .. path)
  for line in f:lines() do
    if line ~= "" then list[#list + 1] = line end
  end
  f:close()
  return list
end

bench.owner_token = env("BENCH_OWNER_TOKEN")
bench.writer_token = env("BENCH_WRITER_TOKEN")
bench.login_body = env("BENCH_LOGIN_BODY")
bench.threads = tonumber(env("BENCH_THREADS", "1"))
-- Start of this run's slice of the sequence that makes fresh (patient, doctor) pairs.
bench.seq_base = tonumber(env("BENCH_SEQ_BASE", "0"))

function bench.auth(token)
  return { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

-- setup() runs once per thread in the main state: give each thread its number.
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local genders = { "male", "Female", "other", "UNKNOWN" }
local first = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken" }
local last = { "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson" }

function bench.patient_body()
  return string.format(
    '{"name":"%s %s %d","age":%d,"gender":"%s","address":"%d Bench Street, Springfield"}',
    first[math.random(#first)], last[math.random(#last)], math.random(1, 99999),
    math.random(0, 150), genders[math.random(#genders)], math.random(1, 9999))
end

function bench.seed_random()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919 + math.floor(os.clock() * 1000000))
end

-- One JSON line with the figures run.mjs records. Latency in microseconds;
-- errors.status counts responses with a status above 399 (wrk's own rule).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
