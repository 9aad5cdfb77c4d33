-- wrk script of bench/http-sink.sh: POSTs Sitecore-shaped JSON bodies (~400 bytes) to the path given
-- on the wrk command line, with the same kind of headers the relay's HTTP sink sends (CloudEvents
-- binary mode `ce-*`, Content-Type, the route's client-key), so wrk's requests are the size of the
-- relay's.
--
-- Bodies come from the file named by HTTP_SINK_BODIES (one JSON per line, written by
-- `http-sink-fill.py bodies`). The requests are formatted once in init() and cycled, so wrk spends
-- no Lua time per request beyond picking the next string. There is deliberately no response()
-- function (it would make wrk hand every response to Lua); non-2xx answers show up in wrk's own
-- "Non-2xx or 3xx responses" line, which bench/http-sink.sh checks.

local requests = {}
local next_index = 1

local function ce_time()
  return os.date("!%Y-%m-%dT%H:%M:%S.000Z")
end

function init(args)
  local path = os.getenv("HTTP_SINK_BODIES")
  assert(path, "HTTP_SINK_BODIES is not set")
  local file = assert(io.open(path, "r"))
  local n = 0
  for body in file:lines() do
    n = n + 1
    local friendly = body:match('"friendlyId":"([^"]*)"') or "audience_export_0000"
    local client = body:match('"clientKey":"([^"]*)"') or "x"
    local id = string.format("%08x-%04x-4%03x-8%03x-%012x", math.random(0, 0x7fffffff), n % 0x10000,
                             math.random(0, 0xfff), math.random(0, 0xfff), n)
    local headers = {
      ["client-key"] = client,
      ["ce-specversion"] = "1.0",
      ["ce-id"] = id,
      ["ce-source"] = "/audience-relay/sources/sitecore",
      ["ce-type"] = "com.sitecore.cdp.audience-export.notification",
      ["ce-subject"] = friendly,
      ["ce-time"] = ce_time(),
      ["Content-Type"] = "application/json",
    }
    requests[n] = wrk.format("POST", nil, headers, body)
  end
  file:close()
  assert(n > 0, "no bodies in " .. path)
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end
