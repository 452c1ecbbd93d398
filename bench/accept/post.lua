-- wrk script: POST /v1/messages with a different Saudi mobile number each
-- time (the body varies, so nothing is cached), authenticated with the key
-- in the environment variable BARID_BENCH_KEY. The numbers count up; with
-- BARID_BENCH_NUMBERS=scattered they come in a scattered order (each
-- thread's counter times a prime, modulo 10^7), as patients do.
local counter = 0
local key = os.getenv("BARID_BENCH_KEY")
local thread_id = 0
local next_thread = 0
local scattered = os.getenv("BARID_BENCH_NUMBERS") == "scattered"

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  counter = thread_id * 10000000
end

function request()
  counter = counter + 1
  local n = counter % 10000000
  if scattered then n = (n * 7919 + 4409) % 10000000 end
  local number = string.format("+96650%07d", n)
  local body = '{"to":"' .. number .. '","body":"Reminder: your appointment is tomorrow at 10:00. Reply STOP to opt out."}'
  return wrk.format("POST", "/v1/messages", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }, body)
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("requests=%d duration_s=%.3f\n", summary.requests, summary.duration / 1e6))
  io.write(string.format("p50_ms=%.3f p99_ms=%.3f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("non2xx=%d socket_errors=%d\n", summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
