-- wrk script: Kannel's sendsms (GET /cgi-bin/sendsms) with a different Saudi
-- mobile number each time and the same text as bench/accept/post.lua. The
-- user and password come from BARID_BENCH_KANNEL_USER / _PASSWORD. Counts
-- 2xx answers itself ("0: Accepted for delivery" is a 202): wrk's own error
-- count only covers statuses >= 400.
local counter = 0
local thread_id = 0
local next_thread = 0
local threads = {}
local user = os.getenv("BARID_BENCH_KANNEL_USER")
local password = os.getenv("BARID_BENCH_KANNEL_PASSWORD")
local text = "Reminder:+your+appointment+is+tomorrow+at+10%3A00.+Reply+STOP+to+opt+out."

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  counter = thread_id * 10000000
end

function request()
  counter = counter + 1
  local path = string.format("/cgi-bin/sendsms?username=%s&password=%s&from=Barid&to=%%2B96650%07d&text=%s",
    user, password, counter % 10000000, text)
  return wrk.format("GET", path)
end

ok = 0
function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local ok_total = 0
  for _, t in ipairs(threads) do
    ok_total = ok_total + t:get("ok")
  end
  io.write(string.format("requests=%d duration_s=%.3f\n", summary.requests, summary.duration / 1e6))
  io.write(string.format("p50_ms=%.3f p99_ms=%.3f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("non2xx=%d socket_errors=%d\n", summary.requests - ok_total,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("ok2xx=%d\n", ok_total))
end
