-- wrk script for bench/ingest.py: POST a signed WooCommerce delivery on every request.
-- Configured through the environment: BENCH_BODY_FILE (exact body bytes), BENCH_SIGNATURE,
-- BENCH_TOPIC, BENCH_WEBHOOK_ID, BENCH_DELIVERY_ID. With BENCH_PREFIX_FILE, BENCH_SUFFIX_FILE,
-- BENCH_SIGS_FILE and BENCH_ID_BASE every request is a different delivery instead: the body is
-- prefix .. (base + i) .. suffix, signed with line i of the signatures (bazgasht stores a body
-- once: the same body over and over would measure the replay path). BENCH_THREADS: wrk's -t,
-- so threads take turns (i = thread, thread + threads, …) and never send the same one.
-- Prints one `BENCH_JSON {...}` line at the end.

local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "WooCommerce/10.0.2 Hookshot (WordPress/6.8.8)"
wrk.headers["X-WC-Webhook-Topic"] = os.getenv("BENCH_TOPIC")
wrk.headers["X-WC-Webhook-Signature"] = os.getenv("BENCH_SIGNATURE")
wrk.headers["X-WC-Webhook-ID"] = os.getenv("BENCH_WEBHOOK_ID")
wrk.headers["X-WC-Webhook-Delivery-ID"] = os.getenv("BENCH_DELIVERY_ID")

local function slurp(path)
  local file = assert(io.open(path, "rb"))
  local data = file:read("*a")
  file:close()
  return data
end

local prefix_file = os.getenv("BENCH_PREFIX_FILE")
local prefix, suffix, signatures, base = nil, nil, {}, 0
if prefix_file then
  prefix, suffix = slurp(prefix_file), slurp(os.getenv("BENCH_SUFFIX_FILE"))
  for line in io.lines(os.getenv("BENCH_SIGS_FILE")) do signatures[#signatures + 1] = line end
  base = tonumber(os.getenv("BENCH_ID_BASE"))
end
local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
local started = 0

function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

local sent = 0
function request()
  if not prefix then
    return wrk.format()
  end
  local i = ((thread_index or 0) + sent * stride) % #signatures
  sent = sent + 1
  wrk.headers["X-WC-Webhook-Signature"] = signatures[i + 1]
  wrk.headers["X-WC-Webhook-Delivery-ID"] = tostring(base + i)
  return wrk.format(nil, nil, nil, prefix .. tostring(base + i) .. suffix)
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
