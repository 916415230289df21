-- wrk script, one tool call per request: POST /retrieve with one query, cycling through the JSON string literals
-- (one per line) in the file named by $QUERIES; or, when $URLS names a file of URLs (one per line), POST /browse of
-- one of them.
local browse = os.getenv("URLS") ~= nil
local items = {}
for line in io.lines(browse and os.getenv("URLS") or os.getenv("QUERIES")) do
  items[#items + 1] = line
end
local i = math.random(#items)
request = function()
  i = i % #items + 1
  if browse then
    return wrk.format("POST", "/browse", { ["Content-Type"] = "application/json" }, '{"url":"' .. items[i] .. '"}')
  end
  local body = '{"queries":[' .. items[i] .. '],"topk":3,"return_scores":true}'
  return wrk.format("POST", "/retrieve", { ["Content-Type"] = "application/json" }, body)
end
