-- wrk script for bench/ingest.py: POST pre-signed Meta webhook bodies in turn.
--
--   wrk ... -s bench/ingest.lua http://127.0.0.1:PORT/webhooks/meta -- BODIES
--
-- BODIES has one request a line: "sha256=<hex>", a tab, then the exact JSON body.
-- Thread k of n sends lines k, k+n, k+2n, ... so no two requests share a body
-- until the file runs out; `wrapped` in the report says whether it did. done()
-- prints one line, "BENCH-JSON {...}", that bench/ingest.py reads.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  requests = {}
  for line in file:lines() do
    local tab = line:find("\t", 1, true)
    if tab then
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
    end
  end
  file:close()
  assert(#requests > 0, "no requests in " .. args[1])
  stride = tonumber(args[2]) or 1
  count = #requests
  next_index = id
  sent = 0
  statuses = {}
end

function request()
  local index = next_index
  next_index = next_index + stride
  if next_index > count then
    next_index = (next_index - 1) % count + 1
  end
  sent = sent + 1
  return requests[index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent_total, bodies, wrapped = 0, 0, false
  local codes = {}
  for _, thread in ipairs(threads) do
    local thread_sent = thread:get("sent")
    bodies = thread:get("count")
    sent_total = sent_total + thread_sent
    if thread_sent * #threads > bodies then
      wrapped = true
    end
    for code, n in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(codes) do
    parts[#parts + 1] = string.format('"%d": %d', code, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"sent": %d, "bodies": %d, "wrapped": %s, "statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "latency_us": {"p50": %d, "p90": %d, "p99": %d, ' ..
    '"p999": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    sent_total, bodies, tostring(wrapped), table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
