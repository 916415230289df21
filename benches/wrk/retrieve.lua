-- wrk script: POST /retrieve with one query per request, cycling through the JSON string literals (one per line)
-- in the file named by $QUERIES.
local queries = {}
for line in io.lines(os.getenv("QUERIES")) do
  queries[#queries + 1] = line
end
local i = math.random(#queries)
request = function()
  i = i % #queries + 1
  local body = '{"queries":[' .. queries[i] .. '],"topk":3,"return_scores":true}'
  return wrk.format("POST", "/retrieve", { ["Content-Type"] = "application/json" }, body)
end
