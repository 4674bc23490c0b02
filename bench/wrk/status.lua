-- wrk script for bench/throughput.py: counts the answers by status code and prints
-- "status <code> <count>" lines after wrk's own report. The request is wrk's usual one plus,
-- from the environment, WRK_METHOD (e.g. POST) and WRK_BODY (sent as application/json);
-- other headers come from wrk's -H options.

local method = os.getenv("WRK_METHOD")
local body = os.getenv("WRK_BODY")
if method and method ~= "" then
   wrk.method = method
end
if body and body ~= "" then
   wrk.body = body
   wrk.headers["Content-Type"] = "application/json"
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses") or {}
      for status, count in pairs(counts) do
         total[status] = (total[status] or 0) + count
      end
   end
   for status, count in pairs(total) do
      io.write(string.format("status %d %d\n", status, count))
   end
end
