-- wrk script for the bench: an Authorization header per request, rotated
-- over the access tokens in $BENCH_TOKENS_FILE (one per line), and a
-- one-line JSON summary ("BENCH_JSON {...}") that bench/wrk.py parses.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", #threads * 7919)
  threads[#threads + 1] = thread
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]}
  return wrk.format(nil, nil, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
