-- wrk script of the Kafka end-to-end benchmark (bench/kafka-e2e.sh): POSTs Sitecore notifications,
-- each with a fresh executionRef (the dedupe key) and one of KEYS friendlyIds (the Kafka message
-- key, so messages spread over partitions as real exports do), optionally paced to a fixed rate.
--
-- Environment (read by every wrk thread):
--   RUN_TAG   8 hex digits, one per wrk invocation (executionRef = RUNTAG-TTTT-4000-8HHH-LLLLLLLLLLLL,
--             TTTT the wrk thread, HHH+LLL... a per-thread counter), so warm-up and measured run never collide.
--   RATE      target requests/s over all threads; 0 or unset = unpaced (each connection sends its next
--             request as soon as the previous answer arrives).
--   THREADS   wrk's -t (the per-thread share of RATE is RATE/THREADS).
--   KEYS      distinct friendlyId values (default 1000).
--
-- Pacing: wrk 4.1 calls delay() before every request of every connection. Each thread hands out
-- send slots 1000*THREADS/RATE ms apart (CLOCK_MONOTONIC through LuaJIT's ffi) to whichever of its
-- connections asks next; a connection waits until its slot. A thread that falls behind does not
-- burst to catch up by more than 50 ms of slots. With C connections the rate can only be reached
-- while the server answers within C/RATE s; the achieved rate is what the script reports.
-- wrk's latency then measures the server's answer time from the moment the request is written.
--
-- done() prints one machine-readable line:
--   KAFKA_E2E_COUNTS ok=N non200=N sent=N responses=N statuses=200:N,... connect=N read=N write=N
--                    timeout=N duration_us=N p50_us=N p90_us=N p99_us=N max_us=N

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } kafka_bench_timespec;
  int clock_gettime(int clk_id, kafka_bench_timespec *tp);
]]
local ts = ffi.new("kafka_bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local tag = os.getenv("RUN_TAG") or string.format("%08x", os.time() % 0x100000000)
if not tag:match("^%x%x%x%x%x%x%x%x$") then
  error("RUN_TAG must be 8 hex digits, got " .. tostring(tag))
end
tag = tag:lower()
local rate = tonumber(os.getenv("RATE") or "0") or 0
local nthreads = tonumber(os.getenv("THREADS") or "1") or 1
local nkeys = tonumber(os.getenv("KEYS") or "1000") or 1000
local interval = (rate > 0) and (1000.0 * nthreads / rate) or 0

-- ~400 bytes, the shape of routes/examples/sitecore-notification.json.
local part1 = '{"apiUrl":"https://api.example.com/v2/audienceExports/exports/'
local part2 = '/download","audienceExportName":"Weekly VIP customers","clientKey":"pqsDATA3lw12v5a9rrHPW1c4hET73GxQ",'
  .. '"definitionType":"FULL_SYNC","executionRef":"'
local part3 = '","executionType":"SCHEDULED","friendlyId":"'
local part4 = '","segmentName":"VIP customers","status":"SUCCESS"}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

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
local next_slot = nil

function delay()
  if interval <= 0 then return 0 end
  local now = now_ms()
  if next_slot == nil or next_slot < now - 50 then next_slot = now end
  local slot = next_slot
  next_slot = next_slot + interval
  local wait = slot - now
  if wait < 0 then return 0 end
  return math.floor(wait)
end

function request()
  sent = sent + 1
  local hi = math.floor(sent / 0x1000000000000) % 0x1000
  local mid = math.floor(sent / 0x1000000) % 0x1000000
  local lo = sent % 0x1000000
  local ref = string.format("%s-%04x-4000-8%03x-%06x%06x", tag, tid % 0x10000, hi, mid, lo)
  local key = string.format("audience_export_%04d", (sent * 7 + tid * 131) % nkeys)
  return wrk.format(nil, nil, nil, part1 .. ref .. part2 .. ref .. part3 .. key .. part4)
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
  io.write(string.format(
    "KAFKA_E2E_COUNTS ok=%d non200=%d sent=%d responses=%d statuses=%s connect=%d read=%d write=%d timeout=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    total_ok, total_non200, total_sent, total_ok + total_non200,
    (#parts > 0) and table.concat(parts, ",") or "none",
    e.connect, e.read, e.write, e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
