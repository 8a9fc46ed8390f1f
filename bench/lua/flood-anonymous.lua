-- Issue 11, item 1: GET /api/patients/ without an Authorization header, as fast
-- as possible on keep-alive connections. Counts every status per thread; done()
-- prints one FLOOD_RESULT line (JSON) for bench/flood.mjs.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init()
  statuses = {}
end

request = function()
  return wrk.format('GET', '/api/patients/')
end

response = function(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get('statuses')
    for status, n in pairs(counts) do total[status] = (total[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(total) do table.insert(parts, string.format('"%d":%d', status, n)) end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('FLOOD_RESULT {"requests":%d,"duration_us":%d,"socket_errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, errors, table.concat(parts, ',')))
end
