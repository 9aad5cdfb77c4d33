#!/usr/bin/env bash
# Ingest benchmark: req/s and latency of POST /hooks/sitecore with the outbox in each commit mode,
# beside peers answering the same requests.
#
#   bench/ingest.sh                      # DURATION=10 ROUNDS=1
#   DURATION=10 ROUNDS=2 bench/ingest.sh # what bench/README.md reports
#   MODES="grouped nginx hummingbird python" ROUNDS=2 bench/ingest.sh   # the relay beside its peers (bench/run)
#
# For each mode of the hidden `serve --commit-mode` flag (grouped = production group commit,
# per-request = one transaction + fsync per request, none = answers 200 without storing) it starts
# the release binary on a free loopback port with a fresh data dir, waits for /healthz, warms up,
# runs `wrk -t1 -c64 -d${DURATION}s --latency -s bench/ingest.lua`, stops the server with SIGTERM
# and (grouped, per-request) checks the rows in DIR/outbox.sqlite against the 200s wrk counted.
# The peers take the same wrk command in the same way:
#   nginx        one worker answering a fixed 200 JSON (the loopback ceiling);
#   hummingbird  bench-hummingbird-peer (bench/peers/hummingbird): bare Hummingbird 2 decoding the
#                body with JSONDecoder and answering JSON, nothing stored (the framework's ceiling);
#   python       bench/peers/python_relay.py in bench/.venv: aiohttp + confluent-kafka with the relay's
#                validation rules, producing to a mock cluster, no durability.
# With python among the modes, one `audience-relay mock-kafka --brokers 3` serves the whole run and the
# relay's route goes to it too (topics of their own), instead of the relay's embedded Kafka.
# Rounds after the first run the modes in reversed order, then alternate (the machine is shared).
#
# Environment: DURATION (s, default 10), ROUNDS (default 1), WARMUP (s, default 2),
#   CONNECTIONS (default 64), THREADS (wrk threads, default 1), MODES (default "grouped per-request none"),
#   RELAY_BIN (binary to run; default the release build below), REBUILD=1 (run the incremental
#   release build even if the binary exists), KEEP=1 (keep the temp dir with logs and databases),
#   STRICT=1 (exit 2 when a target is missed), RETRIES (default 1: how often a mode is run again
#   when its server fails to start or dies mid-run, e.g. killed by another job on a shared machine),
#   PERF=0 (skip counting fsyncs with `perf stat`), VERBOSE=1 (also print mid-run `top` snapshots).
#   KEYS (default 1: every request has the example's friendlyId, the route's Kafka key; N rotates
#   N values, which lets the dispatcher deliver in parallel while ingest is measured),
#   HUMMINGBIRD_BIN (the Hummingbird peer; default .build/release/bench-hummingbird-peer, built if missing).
# Targets, per round: grouped/none >= 0.5, grouped/per-request >= 5, relay (grouped) / python >= 1.5,
#   / nginx >= 0.15, / hummingbird >= 0.5, relay p99 < 20 ms; each printed with PASS/MISS and as a
#   `RESULT name=ingest round=N metric=...` line (bench/lib.sh result_line) for bench/run.
# Exit: 0 when every run answered only 200s and the relay stored what it acknowledged; 1 otherwise.
# Loopback only; every wait is bounded; the server, wrk and the temp dir are cleaned up on exit.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
MODES=${MODES:-"grouped per-request none"}
ROUTES="$BENCH_DIR/ingest-routes.yaml"
LUA="$BENCH_DIR/ingest.lua"
P99_TARGET_MS=20
BROKERS=3
DEST=sitecore-events
SOURCE=sitecore
ROUTE=sitecore-notifications
SELF=ingest.sh

# The target of grouped / MODE req/s ("" = none): the relay's other commit modes, then the peers.
target_of() {
  case $1 in
    none) echo 0.5 ;; per-request) echo 5 ;; python) echo 1.5 ;; nginx) echo 0.15 ;; hummingbird) echo 0.5 ;; *) echo "" ;;
  esac
}
is_relay() { [[ $1 == grouped || $1 == per-request || $1 == none ]]; }
stores() { [[ $1 == grouped || $1 == per-request ]]; }

require_positive_ints DURATION ROUNDS WARMUP CONNECTIONS THREADS
read -r -a mode_list <<<"$MODES"
for mode in "${mode_list[@]}"; do
  is_relay "$mode" || [[ $mode =~ ^(nginx|hummingbird|python)$ ]] ||
    { echo "$SELF: unknown mode '$mode' (grouped, per-request, none, nginx, hummingbird, python)" >&2; exit 64; }
done
has_mode() { [[ " $MODES " == *" $1 "* ]]; }

WORK=""
SERVER_PID=""
CPU_PID=""
MOCK_PID=""
BG_PIDS=()
PERF_PID=""
WRK_JOB=""
TIMEFORMAT='%U %S' # `time` of wrk: user and system CPU seconds

stop_server() {
  # SIGTERM, then up to 30 s for the graceful drain; SIGKILL only if it hangs.
  # Sets STOP_STATUS (the server's exit status) and STOP_SECONDS.
  local pid=$SERVER_PID started=$EPOCHREALTIME
  STOP_STATUS=0
  [[ -n $pid ]] || return 0
  SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "ingest.sh: server $pid ignored SIGTERM for 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || STOP_STATUS=$?
  STOP_SECONDS=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local pid
  kill_job "$WRK_JOB"
  for pid in "${BG_PIDS[@]}" $PERF_PID; do kill -TERM "$pid" 2>/dev/null || true; done
  stop_server
  stop_pid "$MOCK_PID" 10; MOCK_PID=""
  remove_work
  exit "$status"
}
set_traps

# ---------------------------------------------------------------- prerequisites
ensure_release_bin
command -v wrk >/dev/null 2>&1 || apt_install wrk || { echo "$SELF: cannot install wrk" >&2; exit 1; }
require_tools "" python3 curl top
if has_mode nginx; then
  [[ -n $(nginx_path) ]] || apt_install nginx || { echo "$SELF: cannot install nginx (apt-get install -y nginx)" >&2; exit 1; }
  NGINX=$(nginx_path)
fi
has_mode hummingbird && ensure_peer_bin
if has_mode python; then
  ensure_venv
  require_mock_kafka_bin
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/relay-ingest-bench.XXXXXX")
chmod 755 "$WORK" # nginx's worker runs as www-data/nobody when started by root
if has_mode python; then
  # One mock cluster for the run; the relay's route and the Python peer produce to it.
  RUN=$WORK
  start_mock || exit 1
  RUN_TOPIC_TAG=$(run_tag)
  ROUTES="$WORK/routes.yaml"
  write_kafka_routes "$BOOT" "bench.ingest.relay.$RUN_TOPIC_TAG" "$ROUTES"
fi

# fsync counting (events per fsync = the mean commit group, roughly) when perf can read syscall tracepoints.
FSYNC_EVENTS="syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync"
if [[ ${PERF:-1} == 1 ]] && command -v perf >/dev/null 2>&1 &&
   timeout 10 perf stat -x, -e "$FSYNC_EVENTS" -- true >/dev/null 2>&1; then
  PERF=1
else
  PERF=0
fi

# ---------------------------------------------------------------- helpers
# CPU snapshot: wall time, /proc/stat totals, and utime+stime of each thread of the server.
cpu_snapshot() { # pid file
  python3 - "$1" >"$2" <<'PY'
import json, os, sys, time
pid = sys.argv[1]
with open("/proc/stat") as f:
    total = [int(x) for x in f.readline().split()[1:]]
threads = {}
try:
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        threads[tid] = [comm, int(rest[11]) + int(rest[12])]
except OSError:
    pass
json.dump({"t": time.monotonic(), "total": total, "threads": threads}, sys.stdout)
PY
}

# One line: machine busy/iowait, server cores by thread group, wrk cores, everything else.
cpu_report() { # before after wrk_user_sys responses
  python3 - "$1" "$2" "$3" "$4" <<'PY'
import json, os, re, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
wrk_user, wrk_sys = (float(x) for x in sys.argv[3].split())
responses = int(sys.argv[4])
hz = os.sysconf("SC_CLK_TCK")
wall = b["t"] - a["t"]
d = [y - x for x, y in zip(a["total"], b["total"])]
ticks = sum(d[:8]) or 1
idle, iowait = d[3], d[4]
ncpu = os.cpu_count()
busy = (ticks - idle - iowait) / ticks * ncpu
groups = {}
for tid, (comm, t1) in b["threads"].items():
    t0 = a["threads"].get(tid, [comm, 0])[1]
    name = re.sub(r"#\d+$", "#*", comm)  # NIO-ELT-0-#3 -> NIO-ELT-0-#*
    groups[name] = groups.get(name, 0) + (t1 - t0)
server = sum(groups.values()) / hz / wall
wrk = (wrk_user + wrk_sys) / wall
parts = ", ".join(f"{n} {t / hz / wall:.2f}" for n, t in sorted(groups.items(), key=lambda kv: -kv[1])[:5] if t > 0)
per = f", {server * wall / responses * 1e6:.0f} us/response" if responses else ""
print(f"cpu (cores of {ncpu}): busy {busy:.2f}, iowait {iowait / ticks * ncpu:.2f}; server {server:.2f}{per} [{parts}]; "
      f"wrk {wrk:.2f}; others {max(busy - server - wrk, 0):.2f}")
PY
}

count_events() { # db tag -> "total tagged delivered undelivered"
  python3 - "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
total = db.execute("SELECT count(*) FROM events").fetchone()[0]
tagged = db.execute("SELECT count(*) FROM events WHERE dedupe_key LIKE ?", (sys.argv[2] + "-%",)).fetchone()[0]
# Delivered = passed by the destination's cursor while queued (state 0), or state 2 after a retry.
delivered, undelivered = db.execute(
    "SELECT coalesce(sum(done), 0), coalesce(sum(NOT done), 0) FROM (SELECT d.state = 2 OR (d.state = 0 AND "
    "d.id <= coalesce(c.delivered_through, 0)) AS done FROM deliveries d "
    "LEFT JOIN delivery_cursors c ON c.destination = d.destination)").fetchone()
print(total, tagged, delivered, undelivered)
PY
}

scrape_accepted() { # port -> server-side count of 200s (relay_ingest_total outcome=accepted), -1 if unreachable
  local text
  text=$(curl -sf --max-time 5 "http://127.0.0.1:$1/metrics") || { echo -1; return 0; }
  awk '/^relay_ingest_total\{/ && /outcome="accepted"/ { n += $NF } END { printf "%d\n", n }' <<<"$text"
}

# nginx for the nginx mode: one worker, access log off, a fixed 200 JSON for POST /hooks/sitecore.
write_nginx_conf() { # dir port
  mkdir -p "$1/tmp"
  cat >"$1/nginx.conf" <<EOF
# Generated by bench/$SELF: the loopback ceiling, a fixed 200 JSON answer.
worker_processes 1;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; multi_accept on; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
$(nginx_temp_paths "$1")
  server {
    listen 127.0.0.1:$2 backlog=4096;
    default_type application/json;
    location = /hooks/sitecore { return 200 '{"status":"accepted"}'; }
    location = /healthz { return 200 'ok'; }
    location / { return 404; }
  }
}
EOF
}

start_server() { # mode dir -> sets SERVER_PID, CPU_PID (the process doing the work), PORT
  local mode=$1 dir=$2 attempt
  for attempt in 1 2 3; do
    PORT=$(free_port)
    case $mode in
      nginx)
        write_nginx_conf "$dir/nginx" "$PORT"
        nginx_launch "$dir/nginx"
        SERVER_PID=$NGINX_PID ;;
      hummingbird)
        "$PEER_BIN" "$PORT" >"$dir/server.log" 2>&1 &
        SERVER_PID=$! ;;
      python)
        "$VENV/bin/python" "$BENCH_DIR/peers/python_relay.py" --port "$PORT" --brokers "$BOOT" \
          --topic "bench.ingest.python.$RUN_TOPIC_TAG" >"$dir/server.log" 2>&1 &
        SERVER_PID=$! ;;
      *)
        "$BIN" serve --config "$ROUTES" --data-dir "$dir/data" --listen "127.0.0.1:$PORT" \
          --commit-mode "$mode" --log-level "${LOG_LEVEL:-warning}" >"$dir/server.log" 2>&1 &
        SERVER_PID=$! ;;
    esac
    if wait_until "$SERVER_PID" 30 http_ok "$PORT" /healthz; then
      CPU_PID=$SERVER_PID
      if [[ $mode == nginx ]]; then CPU_PID=$(nginx_worker "$SERVER_PID"); fi
      return 0
    fi
    if [[ $mode == nginx ]]; then cat "$dir/nginx/error.log" "$dir/nginx/stdout.log" >"$dir/server.log" 2>/dev/null; fi
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "ingest.sh: $mode server did not answer /healthz within 30 s" >&2
      tail -n 20 "$dir/server.log" >&2
      stop_server
      return 1
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if ! grep -qi "address already in use" "$dir/server.log"; then break; fi
  done
  echo "ingest.sh: $mode server exited during start-up:" >&2
  tail -n 20 "$dir/server.log" >&2
  return 1
}

to_ms() { # wrk latency like 812.00us, 4.21ms, 1.02s -> ms
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.2f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "?" }'
}

# wrk in a background job, so that a signal to this script is handled at once (bash runs traps
# only between foreground commands, but interrupts `wait`).
run_wrk() { # url seconds run_tag out time_file [wrk options]
  local url=$1 seconds=$2 tag=$3 out=$4 time_file=$5 status=0
  shift 5
  (time RUN_TAG=$tag timeout $((seconds + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" "$@" \
     -s "$LUA" "$url" >"$out" 2>&1) 2>"$time_file" &
  WRK_JOB=$!
  wait "$WRK_JOB" || status=$?
  WRK_JOB=""
  return "$status"
}

RESULTS="$WORK/results.tsv" # round mode rps p50 p99 ok stored others check
: >"$RESULTS"
NOTES="$WORK/notes.txt"
: >"$NOTES"
FAILED=0

# One measured run. Returns 0 when it recorded a result row (passed or failed), 2 when the server
# failed to start or died during the run (on a shared machine: worth one more try; no row written,
# ENV_FAILURE says why).
run_mode() { # round mode attempt
  local round=$1 mode=$2 attempt=$3
  local dir="$WORK/r$round-$mode-$attempt"
  mkdir -p "$dir"
  echo "--- round $round: $mode$( ((attempt > 1)) && echo " (attempt $attempt)")"
  if ! start_server "$mode" "$dir"; then
    ENV_FAILURE="server failed to start"
    return 2
  fi
  local url="http://127.0.0.1:$PORT/hooks/sitecore"

  # Warm-up (its rows carry their own tag, so they are told apart from the measured run's).
  run_wrk "$url" "$WARMUP" "$(run_tag)" "$dir/warmup.txt" "$dir/warmup-time.txt" || true
  sleep 0.5

  local tag
  tag=$(run_tag)
  # A mid-run look at the machine: top's second frame (the first has no interval to measure).
  (set +e; sleep $((DURATION / 2 > 1 ? DURATION / 2 - 1 : 0))
   top -b -n2 -d1 -w 200 2>/dev/null | awk '/^top -/ { frame++ } frame == 2 && n++ < 14' >"$dir/top.txt"
   top -b -n2 -d1 -H -w 200 -p "$CPU_PID" 2>/dev/null |
     awk '/^top -/ { frame++ } frame == 2 && n++ < 14 && n >= 7' >"$dir/top-threads.txt") &
  BG_PIDS+=($!)
  if ((PERF)) && stores "$mode"; then
    timeout $((DURATION + 60)) perf stat -x, -o "$dir/perf.txt" -e "$FSYNC_EVENTS" -p "$SERVER_PID" >/dev/null 2>&1 &
    PERF_PID=$!
    sleep 0.2
  fi
  cpu_snapshot "$CPU_PID" "$dir/cpu-before.json"
  local wrk_status=0
  run_wrk "$url" "$DURATION" "$tag" "$dir/wrk.txt" "$dir/wrk-time.txt" --latency || wrk_status=$?
  cpu_snapshot "$CPU_PID" "$dir/cpu-after.json"
  if [[ -n $PERF_PID ]]; then
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
    PERF_PID=""
  fi
  wait "${BG_PIDS[@]}" 2>/dev/null || true
  BG_PIDS=()

  # Requests still in flight when wrk stopped finish now; wait until the relay's count settles.
  local accepted=0 previous=-1 i alive=1
  for ((i = 0; i < 50; i++)); do
    sleep 0.2
    kill -0 "$SERVER_PID" 2>/dev/null || { alive=0; break; }
    is_relay "$mode" || break
    accepted=$(scrape_accepted "$PORT")
    [[ $accepted == "$previous" ]] && break
    previous=$accepted
  done
  stop_server
  if ((!alive)); then
    # Not stopped by this script: it crashed, or something else on the shared machine killed it.
    echo "ingest.sh: the $mode server died during the run (exit status $STOP_STATUS$( ((STOP_STATUS > 128)) &&
      echo ", signal $((STOP_STATUS - 128))")); last log lines:" >&2
    tail -n 10 "$dir/server.log" >&2
    ENV_FAILURE="server died during the run (exit status $STOP_STATUS)"
    return 2
  fi
  echo "    server stopped ${STOP_SECONDS}s after SIGTERM, exit status $STOP_STATUS"
  if [[ $STOP_STATUS -ne 0 ]]; then
    echo "ingest.sh: $mode server exited with status $STOP_STATUS after SIGTERM:" >&2
    tail -n 10 "$dir/server.log" >&2
  fi

  local counts rps p50 p99 ok non200 sent responses
  counts=$(grep '^INGEST_COUNTS' "$dir/wrk.txt" || true)
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$dir/wrk.txt")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$dir/wrk.txt")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$dir/wrk.txt")")
  if [[ $wrk_status -ne 0 || -z $counts || -z $rps ]]; then
    echo "ingest.sh: wrk failed (exit $wrk_status):" >&2
    tail -n 20 "$dir/wrk.txt" >&2
    printf '%s\t%s\t-\t-\t-\t-\t-\t-\tFAIL: wrk failed\n' "$round" "$mode" >>"$RESULTS"
    FAILED=1
    return 0
  fi
  ok=$(field "$counts" ok); non200=$(field "$counts" non200)
  sent=$(field "$counts" sent); responses=$(field "$counts" responses)
  local inflight=$((sent - responses))
  local sock_errors
  sock_errors=$(grep -m1 '^ *Socket errors' "$dir/wrk.txt" | sed 's/^ *//' || true)

  local stored="-" check="ok"
  if [[ $non200 -ne 0 ]]; then
    check="FAIL: $non200 non-200 ($(field "$counts" statuses))"
    FAILED=1
  elif [[ -n $sock_errors ]]; then
    check="FAIL: $sock_errors"
    FAILED=1
  elif [[ $STOP_STATUS -ne 0 ]]; then
    check="FAIL: exit status $STOP_STATUS after SIGTERM"
    FAILED=1
  fi
  if stores "$mode"; then
    local total tagged delivered undelivered
    if ! read -r total tagged delivered undelivered < <(count_events "$dir/data/outbox.sqlite" "$tag"); then
      stored="?"; check="FAIL: cannot read $dir/data/outbox.sqlite"; FAILED=1
    else
      stored=$tagged
      echo "    stored events: $tagged from this run ($total with the warm-up); wrk counted $ok x 200" \
        "($sent sent, $inflight in flight at the cut-off); server-side 200s incl. warm-up: $accepted;" \
        "deliveries when stopped: $delivered delivered by the dispatcher, $undelivered not yet"
      if [[ -s $dir/perf.txt ]]; then
        local fsyncs
        fsyncs=$(awk -F, '$3 ~ /sys_enter_f(data)?sync/ && $1 ~ /^[0-9]+$/ { n += $1 } END { print n + 0 }' "$dir/perf.txt")
        echo "    fsync+fdatasync calls by the server during the measured run: $fsyncs" \
          "($(awk -v e="$ok" -v f="$fsyncs" 'BEGIN { if (f > 0) printf "%.1f", e / f; else print "n/a" }') acknowledged events per call;" \
          "the dispatcher's outcome commits and checkpoints count too)"
      fi
      if [[ $check == ok ]]; then
        if [[ $tagged -eq $ok ]]; then
          check="ok (stored = 200s)"
        elif [[ $tagged -gt $ok && $tagged -le $((ok + inflight)) ]]; then
          check="ok (stored = 200s + $((tagged - ok)) in flight at cut-off)"
        else
          check="FAIL: stored $tagged vs $ok x 200 (+$inflight in flight)"
          FAILED=1
        fi
        if [[ $accepted -lt 0 ]]; then
          check="FAIL: /metrics unreachable after the run"
          FAILED=1
        elif [[ $accepted -ne $total ]]; then
          check="FAIL: server answered $accepted x 200 but stored $total"
          FAILED=1
        fi
      fi
    fi
  else
    echo "    wrk counted $ok x 200 ($sent sent, $inflight in flight at the cut-off); nothing stored$(is_relay "$mode" && echo " in this mode")"
  fi
  [[ -n $sock_errors ]] && echo "    wrk: $sock_errors"
  local cpu
  cpu=$(cpu_report "$dir/cpu-before.json" "$dir/cpu-after.json" "$(tail -n1 "$dir/wrk-time.txt")" "$responses" 2>/dev/null || echo "cpu: n/a")
  echo "    $rps req/s, p50 ${p50} ms, p99 ${p99} ms; $cpu"
  {
    echo "round $round $mode: $cpu"
    if [[ -s $dir/top.txt ]]; then
      echo "  top mid-run (machine):"; sed -n '1,5p;7,14p' "$dir/top.txt" | sed 's/^/    /'
    fi
    if [[ -s $dir/top-threads.txt ]]; then
      echo "  top mid-run (server threads):"; sed 's/^/    /' "$dir/top-threads.txt"
    fi
  } >>"$NOTES"
  local others
  others=$(sed -n 's/.*; others \([0-9.]*\)$/\1/p' <<<"$cpu")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$mode" "$rps" "$p50" "$p99" "$ok" "$stored" "${others:--}" "$check" >>"$RESULTS"
}

# ---------------------------------------------------------------- runs
export KEYS=${KEYS:-1}
echo "ingest benchmark: $(basename "$BIN") $(stat -c '%y' "$BIN" | cut -d. -f1), wrk -t$THREADS -c$CONNECTIONS" \
  "-d${DURATION}s (+${WARMUP}s warm-up), rounds $ROUNDS, modes $MODES, friendlyId keys $KEYS, $(nproc) cores," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)$( [[ -n $MOCK_PID ]] && echo "; mock cluster $BOOT")"
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round % 2 == 1)); then order=("${mode_list[@]}"); else
    order=(); for ((i = ${#mode_list[@]} - 1; i >= 0; i--)); do order+=("${mode_list[i]}"); done
  fi
  for mode in "${order[@]}"; do
    for ((attempt = 1; ; attempt++)); do
      status=0
      run_mode "$round" "$mode" "$attempt" || status=$?
      ((status == 2)) || break
      if ((attempt > ${RETRIES:-1})); then
        printf '%s\t%s\t-\t-\t-\t-\t-\t-\tFAIL: %s\n' "$round" "$mode" "$ENV_FAILURE" >>"$RESULTS"
        FAILED=1
        break
      fi
      echo "    $ENV_FAILURE; trying again"
    done
  done
done

# ---------------------------------------------------------------- report
rps_of() { # round mode (round "*" = mean over rounds)
  awk -F'\t' -v r="$1" -v m="$2" '($1 == r || r == "*") && $2 == m && $3 ~ /^[0-9]/ { s += $3; n++ } END { if (n) printf "%.0f", s / n; else print 0 }' "$RESULTS"
}
p99_of() { # round mode -> p99 ms, "-" when the run failed
  awk -F'\t' -v r="$1" -v m="$2" '$1 == r && $2 == m && $5 ~ /^[0-9]/ { print $5; f = 1 } END { if (!f) print "-" }' "$RESULTS"
}
label_of() { if is_relay "$1"; then echo "grouped/$1"; else echo "relay/$1"; fi; }

# Print the ratios of grouped to every other mode with a target (and, per round, the relay's p99), with
# PASS/MISS; with "emit", also one RESULT line each (to RESULT_LINES) for bench/run.
ratio_lines() { # label round|* [emit]
  local label=$1 round=$2 emit=${3:-} out mode target g p ratio verdict p99
  out=$label
  g=$(rps_of "$round" grouped)
  for mode in "${mode_list[@]}"; do
    target=$(target_of "$mode")
    [[ $mode != grouped && -n $target ]] || continue
    p=$(rps_of "$round" "$mode")
    if ((g > 0 && p > 0)); then
      ratio=$(calc "printf \"%.3f\", $g / $p"); verdict=$(verdict_of "$ratio" ">=$target")
      out+=$(printf '  %s = %.3f (>= %s) %s' "$(label_of "$mode")" "$ratio" "$target" "$verdict")
    else
      ratio="-"; verdict=FAIL; out+="  $(label_of "$mode") = n/a"
    fi
    [[ -z $emit ]] || result_line ingest "round=$round" "metric=$(label_of "$mode")" "relay=$g" "peer=$p" unit=req/s \
      "value=$ratio" "target=>=$target" "verdict=$verdict" >>"$RESULT_LINES"
  done
  if [[ $round != "*" ]] && has_mode grouped; then
    p99=$(p99_of "$round" grouped); verdict=$(verdict_of "$p99" "<$P99_TARGET_MS")
    out+="  relay p99 = $p99 ms (< $P99_TARGET_MS) $verdict"
    [[ -z $emit ]] || result_line ingest "round=$round" metric=relay_p99 unit=ms "value=$p99" \
      "target=<$P99_TARGET_MS" "verdict=$verdict" >>"$RESULT_LINES"
  fi
  echo "$out"
}

echo
echo "== ingest: POST /hooks/sitecore, wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $(nproc) cores (shared)"
printf '%-5s %-12s %9s %8s %8s %9s %9s %7s  %s\n' round mode "req/s" "p50 ms" "p99 ms" "200s" stored others check
while IFS=$'\t' read -r round mode rps p50 p99 ok stored others check; do
  printf '%-5s %-12s %9s %8s %8s %9s %9s %7s  %s\n' "$round" "$mode" "$rps" "$p50" "$p99" "$ok" "$stored" "$others" "$check"
done <"$RESULTS"
echo "(others = cores of the 2 used by processes other than this server and wrk during the run)"
echo
MISSED=0
RESULT_LINES="$WORK/result-lines.txt"
: >"$RESULT_LINES"
if has_mode grouped; then
  for ((round = 1; round <= ROUNDS; round++)); do
    line=$(ratio_lines "round $round:" "$round" emit)
    noise=$(awk -F'\t' -v r="$round" '$1 == r && $8 ~ /^[0-9]/ && $8 > m { m = $8 } END { if (m > 0.25) printf "  [noisy: other processes used up to %.2f cores]", m }' "$RESULTS")
    echo "$line$noise"
  done
  ((ROUNDS > 1)) && ratio_lines "mean of $ROUNDS:" "*"
  MISSED=$(grep -c ' verdict=[MF]' "$RESULT_LINES" || true)
fi
echo
echo "== cpu during the measured runs (cores; busy = whole machine, others = not server nor wrk)"
grep -E '^round ' "$NOTES" | sed 's/^/  /'
if [[ ${VERBOSE:-0} == 1 ]]; then echo; cat "$NOTES"; fi
# Each run's figures, then the ratios (bench/run reads these lines).
awk -F'\t' '{ printf "RESULT name=ingest round=%s metric=%s_rps value=%s unit=req/s p50_ms=%s p99_ms=%s others_cores=%s check=%s\n",
  $1, $2, $3, $4, $5, $8, ($9 ~ /^ok/ ? "ok" : "FAIL") }' "$RESULTS"
cat "$RESULT_LINES"

if ((FAILED)); then
  echo "ingest.sh: FAILED: a run answered non-200s, lost acknowledged events or did not complete" >&2
  exit 1
fi
if [[ ${STRICT:-0} == 1 ]] && ((MISSED)); then exit 2; fi
exit 0
