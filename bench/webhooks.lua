-- wrk script of bench/webhooks.py's load runs: Postmark Delivery webhooks, each body posted twice in a
-- row (the repeat usually goes out on another connection at the same moment), so half are repeats.
-- By hand, against a server of bench/webhooks.py's settings (user "bench", password "bench-password"):
--   wrk -t1 -c16 -d10s -s bench/webhooks.lua http://127.0.0.1:8000/postmark/tracking/
-- WEBHOOK_AUTH overrides the Authorization header. The last line printed is
-- "WRK_RESULT requests non-200 connect-errors read/write-errors timeouts seconds p99-latency-us".
local template = [==[{"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": "%08d-6105-42a2-a16a-77a8eac79483", "Recipient": "user%d@example.com", "Tag": "welcome-email", "DeliveredAt": "2019-11-05T16:33:54.9070259Z", "Details": "smtp;250 2.0.0 OK", "Metadata": {"customer": "%d"}}]==]
local auth = os.getenv("WEBHOOK_AUTH") or "Basic YmVuY2g6YmVuY2gtcGFzc3dvcmQ="
local threads, next_id = {}, 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end
function init(args)
  counter, errors = 0, 0
  wrk.method = "POST"
  wrk.headers["Authorization"] = auth
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  local index = id * 100000000 + math.floor(counter / 2)
  counter = counter + 1
  return wrk.format(nil, nil, nil, string.format(template, index, index, index))
end
function response(status, headers, body)
  if status ~= 200 then errors = errors + 1 end
end
function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do errors = errors + thread:get("errors") end
  io.write(string.format("WRK_RESULT %d %d %d %d %d %.6f %d\n", summary.requests, errors,
    summary.errors.connect, summary.errors.read + summary.errors.write, summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(99)))
end
