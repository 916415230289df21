-- wrk script for scripts/soak.sh: alternates POST /retrieve and POST /search (Serper shape) over the JSON string
-- literals in $QUERIES, and counts answers by HTTP status in every thread; `done` prints "status N: count" lines.
local queries = {}
for line in io.lines(os.getenv("QUERIES")) do
  queries[#queries + 1] = line
end
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
  i = math.random(#queries)
end
function request()
  i = i % #queries + 1
  local headers = { ["Content-Type"] = "application/json" }
  if i % 2 == 0 then
    return wrk.format("POST", "/retrieve", headers, '{"queries":[' .. queries[i] .. '],"topk":3}')
  end
  return wrk.format("POST", "/search", headers, '{"q":' .. queries[i] .. '}')
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("status %d: %d\n", status, n))
  end
end
