-- wrk script for bench/redirect.py: GET /{code} for every code of BENCH_CODES_FILE in turn
-- (one per line), with a phone browser's User-Agent (BENCH_USER_AGENT). The requests are built
-- once, so wrk spends nothing per request on Lua strings. Prints one `BENCH_JSON {...}` line at
-- the end, as bench/post.lua does.

local requests = {}
local n, i = 0, 0
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  local headers = {["User-Agent"] = os.getenv("BENCH_USER_AGENT")}
  for code in io.lines(os.getenv("BENCH_CODES_FILE")) do
    if code ~= "" then
      n = n + 1
      requests[n] = wrk.format("GET", "/" .. code, headers)
    end
  end
  assert(n > 0, "no codes in BENCH_CODES_FILE")
  i = (offset or 0) * 997 % n  -- threads start at different codes
end

function request()
  i = i % n + 1
  return requests[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(75),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
