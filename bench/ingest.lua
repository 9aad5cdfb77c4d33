-- wrk script of the ingest benchmark (bench/ingest.sh): POSTs Sitecore notifications, each with a
-- fresh executionRef (the dedupe key), and counts the answers by status.
--
-- executionRef = RUNTAG-TTTT-4000-8HHH-LLLLLLLLLLLL (8-4-4-4-12 hex):
--   RUNTAG  8 hex digits from env RUN_TAG (one per wrk invocation, so a warm-up and the measured run
--           never collide, and the stored rows of one run can be counted with LIKE 'RUNTAG-%'),
--   TTTT    the wrk thread number, HHH + LLLLLLLLLLLL a per-thread request counter.
--
-- env KEYS (default 1): number of distinct friendlyId values (the route's Kafka key), rotated per
-- request; 1 keeps the example's single "vip_weekly_export", so every delivery shares one key.
--
-- done() prints one machine-readable line for bench/ingest.sh:
--   INGEST_COUNTS ok=N non200=N sent=N responses=N statuses=200:N,503:N
--                 connect=N read=N write=N timeout=N p50_us=N p99_us=N

local tag = os.getenv("RUN_TAG") or string.format("%08x", os.time() % 0x100000000)
if not tag:match("^%x%x%x%x%x%x%x%x$") then
  error("RUN_TAG must be 8 hex digits, got " .. tostring(tag))
end
tag = tag:lower()

local body_head = '{"apiUrl":"https://api.example.com/v2/audienceExports/exports/9f3c2a4e-5b1d-4c7e-8a2f-1d3e5f7a9b0c/download",'
  .. '"audienceExportName":"Weekly VIP customers","clientKey":"pqsDATA3lw12v5a9rrHPW1c4hET73GxQ",'
  .. '"definitionType":"FULL_SYNC","executionRef":"'
local keys = tonumber(os.getenv("KEYS") or "1") or 1
local body_mid = '","executionType":"SCHEDULED","friendlyId":"vip_weekly_export'
local body_tail = '","segmentName":"VIP customers","status":"SUCCESS"}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

-- Main state: hand each thread its number; keep the threads for done().
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

-- Thread states.
tid = 0
sent = 0
ok = 0
non200 = 0
statuses = {}

function request()
  sent = sent + 1
  local hi = math.floor(sent / 0x1000000000000) % 0x1000
  local mid = math.floor(sent / 0x1000000) % 0x1000000
  local lo = sent % 0x1000000
  local ref = string.format("%s-%04x-4000-8%03x-%06x%06x", tag, tid % 0x10000, hi, mid, lo)
  local key = (keys > 1) and string.format("_%d", sent % keys) or ""
  return wrk.format(nil, nil, nil, body_head .. ref .. body_mid .. key .. body_tail)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    non200 = non200 + 1
  end
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total_ok, total_non200, total_sent = 0, 0, 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    total_ok = total_ok + (thread:get("ok") or 0)
    total_non200 = total_non200 + (thread:get("non200") or 0)
    total_sent = total_sent + (thread:get("sent") or 0)
    for status, n in pairs(thread:get("statuses") or {}) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local keys = {}
  for status, _ in pairs(by_status) do table.insert(keys, status) end
  table.sort(keys)
  local parts = {}
  for _, status in ipairs(keys) do table.insert(parts, status .. ":" .. by_status[status]) end
  local e = summary.errors
  if total_non200 > 0 then
    io.write(string.format("WARNING: %d non-200 responses (%s)\n", total_non200, table.concat(parts, ",")))
  end
  io.write(string.format(
    "INGEST_COUNTS ok=%d non200=%d sent=%d responses=%d statuses=%s connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    total_ok, total_non200, total_sent, total_ok + total_non200,
    (#parts > 0) and table.concat(parts, ",") or "none",
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
