-- wrk script: POST /api/2.0/mlflow/runs/log-metric to one run.
-- Every request logs a distinct (key, step, timestamp) so no server sees a
-- duplicate row. RUN_ID comes from the environment. done() prints one JSON line.
local run_id = os.getenv("RUN_ID")
local prefix = os.getenv("KEY_PREFIX") or "loss"
local threads = {}
local n = 0

function setup(thread)
  n = n + 1
  thread:set("tid", n)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"run_id":"%s","key":"%s_t%d","value":%d.25,"timestamp":%d,"step":%d}',
    run_id, prefix, tid, counter, 1700000000000 + counter, counter)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
