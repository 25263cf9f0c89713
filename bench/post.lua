-- wrk script for bench/ingest.py: POST one signed WooCommerce delivery on every request.
-- Configured through the environment: BENCH_BODY_FILE (exact body bytes), BENCH_SIGNATURE,
-- BENCH_TOPIC, BENCH_WEBHOOK_ID, BENCH_DELIVERY_ID. Prints one `BENCH_JSON {...}` line at the end.

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
