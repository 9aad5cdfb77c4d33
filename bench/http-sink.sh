#!/usr/bin/env bash
# HTTP sink benchmark: a backlog of N pending deliveries in the SQLite outbox drained by the relay's
# HTTP sink (libcurl multi, keep-alive) into a local nginx that answers 204, next to wrk posting the
# same kind of requests to the same nginx (the raw limit of loopback + nginx on this machine).
#
#   bench/http-sink.sh                          # N=200000 ROUNDS=2 DURATION=10
#   N=50000 ROUNDS=1 DURATION=5 bench/http-sink.sh   # quick look
#
# Each round:
#   1. starts nginx (one worker, access_log off, keepalive_requests 10M, `location /hook { return 204; }`,
#      `location = /nginx_status { stub_status; }`) from a temp config on a free loopback port;
#   2. lets the relay create the outbox schema (starts `serve` until /healthz answers, SIGTERM), with a
#      routing table of one sitecore-export source routed to one HTTP destination
#      `{type: http, url: http://127.0.0.1:NGINX/hook, concurrency: CONCURRENCY, timeout: 10s}`;
#   3. bench/http-sink-fill.py inserts N events + N pending deliveries in one transaction (~400-byte
#      Sitecore bodies, friendlyId from KEYS values, distinct executionRefs) (not timed);
#   4. wrk, the relay, and wrk again (ORDER=bracket, the default; the relay is compared with the mean of the
#      two wrk runs around it, so a drift of the machine's speed during the round moves both sides alike):
#      wrk:   `wrk -t1 -cCONNECTIONS -dDURATION --latency -s bench/http-sink-wrk.lua http://127.0.0.1:NGINX/hook`
#             (POSTs of the same kind of bodies and headers as the relay sends) -> requests/s;
#      relay: starts `serve` and times from the start until `audience-relay outbox stats` shows 0
#             pending for the destination (watched every WATCH_POLL s; see POLL_WITH); records when /healthz
#             first answered, the relay's per-thread CPU over the drain (/proc/PID/task), nginx's CPU,
#             `top -H` snapshots TOP_AT s into the drain, and the requests nginx served (stub_status);
#   5. checks the outbox with sqlite3: all N deliveries of the destination are delivered (passed by its
#      cursor, or state 2 after a retry).
# Reported: deliveries/s (N / drain time), wrk requests/s (ORDER=bracket: the mean of the runs before and after
# the drain; wrk_p99 is the latter's), their ratio (target >= 40%), spread over rounds;
# per round also a `RESULT name=http-sink metric=relay/wrk ...` line (bench/lib.sh result_line) for bench/run.
#
# Environment: N (200000), ROUNDS (2), DURATION (wrk seconds, 10), CONNECTIONS (wrk, 32), CONCURRENCY
#   (the destination's, 32), KEYS (1000; the dispatcher sends one delivery per key at a time, so keep it
#   well above CONCURRENCY), POLL (s, 0.2), TOP_AT (s into the drain, "2 6"), DRAIN_TIMEOUT (s, 600),
#   ORDER (bracket = wrk, relay, wrk | alternate = odd rounds relay first, even rounds wrk first | alternate-wrk =
#   odd rounds wrk first | relay-first | wrk-first: one wrk run),
#   POLL_WITH (watch = bench/drain-watch.py reads /metrics every WATCH_POLL s (0.05) on one keep-alive
#   connection, and `outbox stats` runs once the delivered counter reaches N (then the `metrics` loop
#   until it shows 0 pending); metrics = a bash loop forks curl + awk every POLL s (~11 ms of CPU per
#   poll, which the relay competes for) and runs `outbox stats` from the counter reaching N on;
#   stats = every poll runs `outbox stats` too, which scans all N rows), RELAY_BIN, BUILD (auto = build the release binary when it is missing or older than the newest
#   file in Sources; 0 = never), PERF=1 (also `perf record -g` the relay for PERF_SECONDS=8 s from
#   the first TOP_AT and print the hottest symbols; perf costs CPU, so read that round's rate with care;
#   PERF_CALLGRAPH replaces `-g`, e.g. "--call-graph dwarf" to see into libcurl, which has no frame pointers),
#   KEEP=1 (keep the temp dir), STRICT=1 (exit 2 on a missed target).
# Exit: 0 when every round drained completely with all N delivered in the outbox; 1 otherwise.
# Loopback only; every wait is bounded; nginx, the relay and the temp dir are cleaned up on exit (trap).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

N=${N:-200000}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
CONCURRENCY=${CONCURRENCY:-32}
KEYS=${KEYS:-1000}
POLL=${POLL:-0.2}
TOP_AT=${TOP_AT:-"2 6"}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-600}
ORDER=${ORDER:-bracket}
POLL_WITH=${POLL_WITH:-watch}
WATCH_POLL=${WATCH_POLL:-0.05}
BUILD=${BUILD:-auto}
PERF=${PERF:-0}
PERF_SECONDS=${PERF_SECONDS:-8}
FILL_PY="$BENCH_DIR/http-sink-fill.py"
WATCH_PY="$BENCH_DIR/drain-watch.py"
WRK_LUA="$BENCH_DIR/http-sink-wrk.lua"
DEST=crm-hook
SOURCE=sitecore
ROUTE=sitecore-to-hook
TARGET_PCT=40
SELF=http-sink.sh

require_positive_ints N ROUNDS DURATION CONNECTIONS CONCURRENCY KEYS DRAIN_TIMEOUT PERF_SECONDS
for t in $TOP_AT; do [[ $t =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$SELF: TOP_AT must be seconds (got '$TOP_AT')" >&2; exit 64; }; done
[[ $POLL =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$SELF: POLL must be seconds" >&2; exit 64; }
[[ $POLL_WITH =~ ^(watch|stats|metrics)$ ]] || { echo "$SELF: POLL_WITH must be watch, stats or metrics" >&2; exit 64; }
[[ $WATCH_POLL =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "$SELF: WATCH_POLL must be seconds" >&2; exit 64; }
[[ $ORDER =~ ^(bracket|alternate|alternate-wrk|relay-first|wrk-first)$ ]] || { echo "$SELF: ORDER must be bracket, alternate, alternate-wrk, relay-first or wrk-first" >&2; exit 64; }

WORK=""
RELAY_PID=""
NGINX_PID=""
BG_PIDS=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  stop_pid "$RELAY_PID" 30; RELAY_PID=""
  stop_pid "$NGINX_PID" 10; NGINX_PID=""
  remove_work
  exit "$status"
}
set_traps

# ---------------------------------------------------------------- prerequisites
[[ $BUILD == 0 ]] || ensure_release_bin stale
require_bin
missing=()
[[ -n $(nginx_path) ]] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if ((${#missing[@]})); then
  apt_install "${missing[@]}" || { echo "$SELF: cannot install ${missing[*]}" >&2; exit 1; }
fi
NGINX=$(nginx_path)
require_tools "" python3 curl top awk
if [[ $PERF == 1 ]] && ! command -v perf >/dev/null 2>&1; then echo "$SELF: PERF=1 needs perf; skipping it" >&2; PERF=0; fi
"$NGINX" -V 2>&1 | grep -q http_stub_status_module && HAVE_STUB=1 || HAVE_STUB=0

WORK=$(mktemp -d "${TMPDIR:-/tmp}/relay-http-sink.XXXXXX")
RESULTS="$WORK/results.tsv"
FAILED=0
MISSED=0
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- helpers
# "wall busy idle nginx_worker_ticks"
snap() { echo "$(now) $(machine_ticks) $(proc_ticks "$NGINX_WORKER")"; }
# Between two snaps: "machine_cores nginx_cores" (cores = CPU seconds / wall seconds).
snap_delta() {
  local w0 b0 i0 n0 w1 b1 i1 n1
  read -r w0 b0 i0 n0 <<<"$1"; read -r w1 b1 i1 n1 <<<"$2"
  calc "printf \"%.2f %.2f\", ($b1 - $b0) / (($b1 - $b0) + ($i1 - $i0)) * $NCPU, ($n1 - $n0) / $HZ / ($w1 - $w0)"
}

nginx_requests() { # -> total requests nginx has served (stub_status, including this one), "?" without it
  ((HAVE_STUB)) || { echo "?"; return 0; }
  { curl -sf --max-time 2 "http://127.0.0.1:$NGINX_PORT/nginx_status" 2>/dev/null || true; } |
    awk 'NR == 3 && NF == 3 { print $3; f = 1 } END { if (!f) print "?" }'
}

metric_now() { # outcome -> relay_deliveries_total{destination=$DEST,outcome} from /metrics, "?" when unreachable
  { curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true; } | awk -v d="$DEST" -v o="$1" '
    /^relay_deliveries_total\{/ && index($0, "destination=\"" d "\"") && index($0, "outcome=\"" o "\"") { v += $NF; f = 1 }
    END { if (f) printf "%d\n", v; else if (NR) print 0; else print "?" }'
}

# The libcurl worker thread is the only relay thread that sleeps in poll(2) (curl_multi_poll); NIO
# event loops sleep in epoll_wait and pool threads in futex. It is named "relay-curl" (set by
# CurlWorker), but that is checked here rather than trusted: prints the tids seen in poll/ppoll
# (syscall 7 / 271 on x86_64) over a few samples.
curl_thread_tids() {
  local pid=$1 i t
  for ((i = 0; i < 20; i++)); do
    for t in /proc/"$pid"/task/*; do
      read -r nr _ <"$t/syscall" 2>/dev/null || continue
      [[ $nr == 7 || $nr == 271 ]] && echo "${t##*/}"
    done
    sleep 0.02
  done | sort | uniq -c | sort -rn | awk '{ print $2 }' | head -n2
}

write_nginx_conf() {
  local d=$1
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
# Generated by bench/$SELF
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_buffer_size 64k;
$(nginx_temp_paths "$d")
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location /hook { return 204; }
$( ((HAVE_STUB)) && echo "    location = /nginx_status { stub_status; }" )
    location / { return 404; }
  }
}
EOF
}

start_nginx() { # -> NGINX_PID (master), NGINX_WORKER, NGINX_PORT
  local d="$RUN/nginx"
  NGINX_PORT=$(free_port)
  write_nginx_conf "$d"
  nginx_launch "$d"
  NGINX_WORKER=""
  if wait_until "$NGINX_PID" 10 curl -s -o /dev/null --max-time 1 -X POST -d '{}' "http://127.0.0.1:$NGINX_PORT/hook"; then
    NGINX_WORKER=$(nginx_worker "$NGINX_PID")
  fi
  [[ -n $NGINX_WORKER ]] || { echo "$SELF: nginx did not start:" >&2; cat "$d/error.log" "$d/stdout.log" >&2 2>/dev/null; return 1; }
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST -d '{}' "http://127.0.0.1:$NGINX_PORT/hook")
  [[ $code == 204 ]] || { echo "$SELF: nginx answered $code to POST /hook, expected 204" >&2; return 1; }
}

write_routes() {
  cat >"$RUN/routes.yaml" <<EOF
# Generated by bench/$SELF: one Sitecore source routed to one HTTP destination (nginx, 204).
version: 1
$(sources_yaml)
destinations:
  $DEST:
    type: http
    url: "http://127.0.0.1:$NGINX_PORT/hook"
    concurrency: $CONCURRENCY
    timeout: 10s
routes:
  - name: $ROUTE
    source: $SOURCE
    to: $DEST
    headers:
      client-key: "{{clientKey}}"
EOF
}

# ---------------------------------------------------------------- phases
wrk_phase() { # -> WRK_RPS WRK_P50 WRK_P99 WRK_OK WRK_CORES WRK_NGINX_CORES WRK_MACHINE WRK_SERVED
  local s0 s1 r0 r1 out="$RUN/wrk.txt" status=0 d
  WRK_RPS="-"; WRK_P50="-"; WRK_P99="-"; WRK_OK=0; WRK_CORES="-"; WRK_NGINX_CORES="-"; WRK_MACHINE="-"; WRK_SERVED="?"
  r0=$(nginx_requests)
  s0=$(snap)
  (TIMEFORMAT='%U %S'; time HTTP_SINK_BODIES="$RUN/bodies.txt" timeout $((DURATION + 30)) \
     wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WRK_LUA" "http://127.0.0.1:$NGINX_PORT/hook" >"$out" 2>&1) 2>"$RUN/wrk-time.txt" &
  BG_PIDS+=($!)
  wait $! || status=$?
  BG_PIDS=()
  s1=$(snap)
  r1=$(nginx_requests)
  [[ $r0 != "?" && $r1 != "?" ]] && WRK_SERVED=$((r1 - r0 - 1))
  if [[ $status -ne 0 ]]; then echo "$SELF: wrk failed (exit $status):" >&2; cat "$out" >&2; return 0; fi
  WRK_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  WRK_P50=$(awk '$1 == "50%" { print $2 }' "$out")
  WRK_P99=$(awk '$1 == "99%" { print $2 }' "$out")
  local non2xx errors
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors:/ { print }' "$out")
  [[ $non2xx == 0 && -z $errors && -n $WRK_RPS ]] && WRK_OK=1
  read -r WRK_MACHINE WRK_NGINX_CORES <<<"$(snap_delta "$s0" "$s1")"
  local w0 w1; w0=${s0%% *}; w1=${s1%% *}
  WRK_CORES=$(awk -v w="$(calc "print $w1 - $w0")" 'NF == 2 { printf "%.2f", ($1 + $2) / w }' "$RUN/wrk-time.txt" 2>/dev/null)
  local total; total=$(awk '/requests in/ { print $1 }' "$out")
  echo "    wrk: $WRK_RPS req/s ($total requests in ${DURATION}s, p50 $WRK_P50, p99 $WRK_P99, non-2xx $non2xx${errors:+, $errors});" \
       "nginx served $WRK_SERVED; CPU: wrk ${WRK_CORES:-?} + nginx $WRK_NGINX_CORES cores, machine $WRK_MACHINE of $NCPU busy"
}

relay_phase() { # -> RELAY_S READY_S DELIVERED_METRIC RELAY_CORES NGINX_CORES MACHINE_CORES SERVED
  local t0 t_ready="" t_done="" p d deadline t i
  RELAY_S="-"; READY_S="-"; DELIVERED_METRIC="?"; US_PER="-"; RELAY_CORES="-"; NGINX_CORES="-"; MACHINE_CORES="-"; SERVED="?"
  : >"$RUN/drain-polls.txt"
  local r0 r1 s0 s1
  r0=$(nginx_requests)
  s0=$(snap)
  # The port is chosen before the clock starts (free_port runs Python, ~0.1 s).
  local port; port=$(free_port)
  t0=$(now)
  launch_relay_on "$port"
  deadline=$(calc "printf \"%.3f\", $t0 + $DRAIN_TIMEOUT")
  # top snapshots (2nd frame of each: a 0.5 s sample; the 1st frame averages since process start)
  (
    prev=0
    for at in $TOP_AT; do
      sleep "$(calc "print $at - $prev")"; prev=$at
      kill -0 "$RELAY_PID" 2>/dev/null || exit 0
      echo "--- ${at}s into the drain"
      top -b -n2 -d0.5 -H -w 200 -p "$RELAY_PID" -p "$NGINX_WORKER" 2>/dev/null |
        awk '/^top -/ { f++ } f == 2 && /^ *PID|^ *[0-9]/ && n++ < 14'
      echo "curl-thread-tids: $(curl_thread_tids "$RELAY_PID" | tr '\n' ' ')"
    done
  ) >"$RUN/top.txt" 2>/dev/null &
  BG_PIDS+=($!)
  if [[ $PERF == 1 ]]; then
    local first_at; first_at=$(awk '{ print $1 }' <<<"$TOP_AT")
    (sleep "$first_at"; timeout $((PERF_SECONDS + 30)) perf record ${PERF_CALLGRAPH:--g} -o "$RUN/perf.data" -p "$RELAY_PID" -- sleep "$PERF_SECONDS" >/dev/null 2>&1) &
    BG_PIDS+=($!)
  fi
  if [[ $POLL_WITH == watch ]]; then
    # One Python process on one keep-alive connection; the outbox is read once the counter reaches N.
    local watch reached
    watch=$(python3 "$WATCH_PY" --port "$PORT" --destination "$DEST" --target "$N" --t0 "$t0" --out "$RUN/drain-polls.txt" \
              --interval "$WATCH_POLL" --timeout "$DRAIN_TIMEOUT" --pid "$RELAY_PID" 2>>"$RUN/watch.err") || true
    [[ $(field "$watch" ready) =~ ^[0-9.]+$ ]] && t_ready=$(calc "printf \"%.3f\", $t0 + $(field "$watch" ready)")
    reached=$(field "$watch" reached)
    if [[ $reached =~ ^[0-9.]+$ && $(pending_now) == 0 ]]; then t_done=$(calc "printf \"%.3f\", $t0 + $reached"); fi
  fi
  # POLL_WITH=metrics|stats, or the watch's counter reached N before the outbox showed 0 pending.
  while [[ -z $t_done ]]; do
    if ! kill -0 "$RELAY_PID" 2>/dev/null; then
      echo "$SELF: the relay exited during the drain:" >&2; tail -n 20 "$RUN/relay.log" >&2; break
    fi
    if [[ -z $t_ready ]] && curl -sf --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then t_ready=$(now); fi
    if [[ $POLL_WITH == stats ]]; then d=$(metric_now delivered); p=$(pending_now); t=$(now)
    else
      # The drain is over at the poll whose counter shows N; the `outbox stats` run right after it (a
      # scan of every row, ~0.2 s at N=2e5) only confirms it and is not the relay's time.
      d=$(metric_now delivered); t=$(now); p="-"; [[ $d != "?" && $d -ge $N ]] && p=$(pending_now)
    fi
    echo "$(calc "printf \"%.2f\", $t - $t0") $p $d" >>"$RUN/drain-polls.txt"
    if [[ $p == 0 ]]; then t_done=$t; break; fi
    [[ $(calc "print (($t > $deadline) ? 1 : 0)") == 1 ]] && { echo "$SELF: not drained within ${DRAIN_TIMEOUT}s" >&2; break; }
    sleep "$POLL"
  done
  # CPU over the whole drain (the relay started at t0), before anything else runs in it.
  thread_ticks "$RELAY_PID" >"$RUN/thread-ticks.txt" 2>/dev/null || true
  local relay_ticks; relay_ticks=$(proc_ticks "$RELAY_PID")
  s1=$(snap)
  r1=$(nginx_requests)
  local elapsed; elapsed=$(calc "printf \"%.3f\", ${s1%% *} - $t0")
  DELIVERED_METRIC=$(metric_now delivered)
  local retries dead; retries=$(metric_now retry); dead=$(metric_now dead)
  for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  BG_PIDS=()
  stop_pid "$RELAY_PID" 60; RELAY_PID=""
  [[ $r0 != "?" && $r1 != "?" ]] && SERVED=$((r1 - r0 - 1))
  [[ -n $t_done ]] && RELAY_S=$(calc "printf \"%.2f\", $t_done - $t0")
  [[ -n $t_ready ]] && READY_S=$(calc "printf \"%.2f\", $t_ready - $t0")
  read -r MACHINE_CORES NGINX_CORES <<<"$(snap_delta "$s0" "$s1")"
  RELAY_CORES=$(calc "printf \"%.2f\", $relay_ticks / $HZ / $elapsed")
  US_PER=$(calc "printf \"%.0f\", $relay_ticks / $HZ / $N * 1e6")
  echo "    relay: $( [[ -n $t_done ]] && echo "0 pending after ${RELAY_S}s" || echo "NOT drained") (healthz after ${READY_S}s);" \
       "relay_deliveries_total delivered=$DELIVERED_METRIC retry=$retries dead=$dead; nginx served $SERVED POSTs during the drain"
  local every; every=$(awk 'END { print (NR > 100 ? int(NR / 25) : 4) }' "$RUN/drain-polls.txt")
  echo "    polls (every ${every}th, s:pending/delivered-counter): $(awk -v k="$every" 'NR % k == 1 { printf "%s:%s/%s ", $1, $2, $3 } END { printf "... %s:%s/%s (%d polls)", $1, $2, $3, NR }' "$RUN/drain-polls.txt")"
  echo "    CPU over the drain (${elapsed}s): relay $RELAY_CORES + nginx $NGINX_CORES cores, machine $MACHINE_CORES of $NCPU busy" \
       "(others incl. the poller: $(calc "printf \"%.2f\", $MACHINE_CORES - $RELAY_CORES - $NGINX_CORES")); relay CPU per delivery ${US_PER} us"
  local curl_tids; curl_tids=$(awk '/^curl-thread-tids:/ { for (i = 2; i <= NF; i++) print $i }' "$RUN/top.txt" 2>/dev/null | sort -u | tr '\n' ' ')
  if [[ -s $RUN/thread-ticks.txt ]]; then
    echo "    relay threads over the drain (cores = CPU s / wall s; * = the libcurl worker, found by its poll(2)):"
    awk -v hz="$HZ" -v w="$elapsed" -v curl=" $curl_tids" '{ name = $2; if (index(curl, " " $1 " ")) name = name "*"; else gsub(/#[0-9]+$/, "#*", name);
        c[name] += $3; n[name]++ } END { for (k in c) if (c[k] > 0) printf "%.2f %s %d %.1f\n", c[k] / hz / w, k, n[k], c[k] / hz }' "$RUN/thread-ticks.txt" |
      sort -rn | awk '{ printf "      %-24s %3d thr %6.1f s CPU  %5.2f cores\n", $2, $3, $4, $1 }'
  fi
  if [[ -s $RUN/top.txt ]]; then
    echo "    top -H (0.5 s samples; relay threads + the nginx worker $NGINX_WORKER):"
    sed 's/^/      /' "$RUN/top.txt"
  fi
  if [[ $PERF == 1 && -s $RUN/perf.data ]]; then
    echo "    perf: hottest symbols (self, ${PERF_SECONDS}s of the drain):"
    perf report -i "$RUN/perf.data" --no-children --sort comm,dso,symbol --stdio 2>/dev/null |
      awk '/^ +[0-9.]+%/ && n++ < 30' | cut -c1-170 | sed 's/^/      /'
  fi
}

verify_outbox() { # -> VERIFY line, OUTBOX_DELIVERED
  VERIFY=$(python3 "$FILL_PY" verify --db "$RUN/data/outbox.sqlite" --destination "$DEST" 2>&1) || true
  OUTBOX_DELIVERED=$(sed -n 's/.* delivered=\([0-9]*\).*/\1/p' <<<"$VERIFY")
  echo "    outbox: $VERIFY"
}

run_round() { # round
  local round=$1 order
  RUN="$WORK/round$round"
  mkdir -p "$RUN/nginx"
  case $ORDER in
    alternate) ((round % 2)) && order=relay-first || order=wrk-first ;;
    alternate-wrk) ((round % 2)) && order=wrk-first || order=relay-first ;;
    *) order=$ORDER ;;
  esac
  start_nginx || { FAILED=1; return 0; }
  echo "--- round $round ($order): N=$N, nginx 127.0.0.1:$NGINX_PORT (master $NGINX_PID, worker $NGINX_WORKER)"
  write_routes
  create_schema || { FAILED=1; stop_pid "$NGINX_PID" 10; NGINX_PID=""; return 0; }
  local fill bodies
  fill=$(python3 "$FILL_PY" fill --db "$RUN/data/outbox.sqlite" --n "$N" --keys "$KEYS" --seed "$round" \
           --source "$SOURCE" --destination "$DEST" --route "$ROUTE") ||
    { echo "$SELF: backlog fill failed" >&2; FAILED=1; stop_pid "$NGINX_PID" 10; NGINX_PID=""; return 0; }
  bodies=$(python3 "$FILL_PY" bodies --out "$RUN/bodies.txt" --n 1000 --keys "$KEYS" --seed $((round + 1000)))
  local ts0 ts1 pending0
  ts0=$(now); pending0=$(pending_now); ts1=$(now)
  echo "    backlog: $fill; outbox stats: $pending0 pending (one stats run takes $(calc "printf \"%.2f\", $ts1 - $ts0")s); wrk $bodies"
  [[ $pending0 == "$N" ]] || { echo "$SELF: expected $N pending, outbox stats says $pending0" >&2; FAILED=1; }
  sync

  case $order in
    relay-first) relay_phase; wrk_phase ;;
    wrk-first) wrk_phase; relay_phase ;;
    bracket)
      wrk_phase
      local before=$WRK_RPS before_ok=$WRK_OK
      relay_phase
      wrk_phase
      echo "    wrk before and after the drain: $before / $WRK_RPS req/s"
      if [[ $before =~ ^[0-9]+$ && $WRK_RPS =~ ^[0-9]+$ ]]; then WRK_RPS=$(((before + WRK_RPS) / 2)); else WRK_RPS="-"; fi
      ((before_ok)) || WRK_OK=0
      ;;
  esac
  verify_outbox
  stop_pid "$NGINX_PID" 10; NGINX_PID=""

  local dps="-" dps_ready="-" ratio="-" verdict
  [[ $RELAY_S != "-" ]] && dps=$(calc "printf \"%.0f\", $N / $RELAY_S")
  [[ $RELAY_S != "-" && $READY_S != "-" ]] && dps_ready=$(calc "printf \"%.0f\", $N / ($RELAY_S - $READY_S)")
  if [[ $dps != "-" && $WRK_RPS != "-" && -n $WRK_RPS ]]; then
    ratio=$(calc "printf \"%.1f\", $dps / $WRK_RPS * 100")
    verdict=$(calc "print (($ratio >= $TARGET_PCT) ? \"PASS\" : \"MISS\")")
  else
    verdict=FAIL
  fi
  local count_ok=1
  [[ $OUTBOX_DELIVERED == "$N" ]] || count_ok=0
  [[ $VERIFY == *" pending=0 "* ]] || count_ok=0
  ((WRK_OK)) || count_ok=0
  # nginx must have answered at least N POSTs during the drain (more would mean re-sent deliveries).
  if [[ $SERVED =~ ^[0-9]+$ ]]; then
    ((SERVED >= N)) || count_ok=0
    ((SERVED > N)) && echo "    note: nginx served $((SERVED - N)) POSTs more than N (re-sent deliveries)"
  fi
  ((count_ok)) || verdict="FAIL(check)"
  [[ $verdict == PASS ]] || { [[ $verdict == MISS ]] && MISSED=1 || FAILED=1; }
  result_line http-sink "round=$round" metric=relay/wrk "relay=$dps" "peer=$WRK_RPS" unit=req/s \
    "value=$( [[ $ratio == - ]] && echo - || calc "printf \"%.3f\", $ratio / 100")" "target=>=$(calc "print $TARGET_PCT / 100")" \
    "verdict=$( [[ $verdict == FAIL* ]] && echo FAIL || echo "$verdict")" "n=$N" "order=$order" "relay_cores=$RELAY_CORES"
  printf '%s\n' "$round	$order	$N	$RELAY_S	$READY_S	$dps	$dps_ready	$WRK_RPS	$WRK_P99	$ratio	$OUTBOX_DELIVERED	$SERVED	$RELAY_CORES	$NGINX_CORES	$MACHINE_CORES	${WRK_CORES:--}	$WRK_NGINX_CORES	$verdict	$US_PER" >>"$RESULTS"
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$RUN/data" "$RUN/perf.data"; fi
}

print_table() {
  echo
  echo "=== HTTP sink: $N pending deliveries drained into nginx (return 204) vs wrk -t1 -c$CONNECTIONS (ROUNDS=$ROUNDS, DURATION=${DURATION}s, concurrency $CONCURRENCY, KEYS=$KEYS, POLL_WITH=$POLL_WITH) ==="
  awk -F'\t' -v target="$TARGET_PCT" '
    BEGIN { printf "%-5s %-11s %7s %7s %6s %8s %9s %9s %8s %7s %10s %9s %11s %8s %11s %8s\n",
              "round", "order", "n", "drain_s", "ready", "deliv/s", "deliv/s*", "wrk_req/s", "wrk_p99", "ratio%", "outbox_ok", "nginx_req",
              "relay+ngx", "us/deliv", "wrk+ngx", "verdict" }
    { printf "%-5s %-11s %7s %7s %6s %8s %9s %9s %8s %7s %10s %9s %5s+%-5s %8s %5s+%-5s %8s\n",
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 "/" $3, $12, $13, $14, $19, $16, $17, $18
      if ($6 != "-" && $8 != "-" && $10 != "-") { k++; d[k] = $6; w[k] = $8; r[k] = $10 } }
    function mn(a, n,  i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
    function mx(a, n,  i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
    function mean(a, n,  i, s) { for (i = 1; i <= n; i++) s += a[i]; return s / n }
    END {
      print "deliv/s = N / (relay start -> outbox stats shows 0 pending); deliv/s* = the same from the first /healthz answer;"
      print "relay+ngx, wrk+ngx = cores used during the drain and during wrk; us/deliv = relay CPU time / N; nginx_req = POSTs nginx served during the drain (stub_status)"
      if (k) {
        printf "deliveries/s: mean %.0f, min %s, max %s (spread %.1f%%)\n", mean(d, k), mn(d, k), mx(d, k), (mx(d, k) - mn(d, k)) / mean(d, k) * 100
        printf "wrk req/s:    mean %.0f, min %s, max %s (spread %.1f%%)\n", mean(w, k), mn(w, k), mx(w, k), (mx(w, k) - mn(w, k)) / mean(w, k) * 100
        printf "ratio:        mean %.1f%%, min %s%%, max %s%% (target >= %s%%) %s\n", mean(r, k), mn(r, k), mx(r, k), target, (mean(r, k) >= target) ? "PASS" : "MISS"
      }
    }' "$RESULTS"
}

# ---------------------------------------------------------------- main
echo "$SELF: $NCPU cores, load $(cut -d' ' -f1-3 /proc/loadavg); binary $BIN built $(date -u -r "$BIN" '+%F %T UTC')$(git -C "$ROOT" log -1 --format=', HEAD %h' 2>/dev/null || true)"
echo "$SELF: $("$NGINX" -v 2>&1), $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2); stub_status $( ((HAVE_STUB)) && echo yes || echo "no (nginx request counts skipped)")"
for ((round = 1; round <= ROUNDS; round++)); do
  run_round "$round"
done
print_table
((FAILED)) && { echo "$SELF: some rounds FAILED (see above)" >&2; exit 1; }
((MISSED)) && [[ ${STRICT:-0} == 1 ]] && exit 2
exit 0
