#!/usr/bin/env bash
# Export fetcher benchmark: a gzipped JSON Lines audience export served from loopback, fetched by the
# relay (fetchExport route: download, gunzip, split records, one Kafka message per record between
# export.started / export.completed) next to the raw pipeline `curl | gunzip | kcat -P` on the same
# file, the same HTTP server and the same mock Kafka cluster, in the same run.
#
#   bench/export.sh                              # N=1000000 ROUNDS=2: throughput vs the raw pipeline
#   N=200000 ROUNDS=1 PERF=1 bench/export.sh     # quick look + `perf record` of the relay mid-export
#   MEMORY=1 bench/export.sh                     # memory test: SIZE=1GiB uncompressed, relay only
#
# Once per run (not timed): bench/export-gen.py writes the export to a temp dir, N distinct
# audience profiles (~295 bytes of JSON each) gzipped (-6, ~5x); in MEMORY=1 mode at least SIZE
# uncompressed bytes as concatenated gzip members (one ~64 MiB member compressed once and repeated,
# so a 1 GiB export takes seconds to make; profileIds repeat across members). A private nginx (one
# worker, sendfile, Content-Type application/octet-stream: the relay detects the format from the
# `.jsonl.gz` name and gzip from the magic bytes) serves it on a free loopback port; without nginx
# (and when `apt-get install nginx-light` fails) `python3 -m http.server` serves it instead, which is
# slower and said so.
# Each round:
#   1. starts `audience-relay mock-kafka --brokers 3`, one process for both pipelines of the round;
#   2. in alternating order (odd rounds relay first, even rounds raw first):
#      relay: a routing table with source `sitecore` (kind sitecore-export; export: allowHosts,
#             allowPlainHTTP and allowPrivateAddresses = [127.0.0.1]), one Kafka destination on the
#             mock cluster with its own topic and one route `fetchExport: true` (with KEYED=1 also
#             `export: {key: "{{profileId}}"}`; by default no key, like `kcat -P`); starts `serve` (fresh data dir), waits for /healthz,
#             POSTs one valid Sitecore notification (status SUCCESS, fresh executionRef, apiUrl = the
#             file on the loopback server) and times from the POST's 200 until the export job is done
#             in the outbox (bench/export-poll.py: one read-only sqlite3 connection polling
#             `export_jobs` every POLL=0.2 s, bounded by FETCH_TIMEOUT). Records/s = records_sent / time;
#             MB/s = uncompressed (generator's count) and compressed (bytes_received) bytes / time;
#             peak RSS = the relay's VmHWM (/proc/PID/status) after the job, the process's whole life;
#             CPU of the relay (by thread name), mock-kafka and the HTTP server over the export;
#      raw:   `curl -s URL | gunzip | kcat -P -b BOOT -t TOPIC -X enable.idempotence=true -X acks=all
#             -X compression.type=lz4 -X linger.ms=5 -X socket.nagle.disable=true` (the relay's producer
#             defaults), wall time of the pipeline (kcat exits after every delivery report), peak RSS
#             and CPU of each stage from /usr/bin/time (%M; without it, VmHWM sampled from /proc);
#   3. counts each topic's messages by its high-water marks (kcat -Q): relay >= records + 2 (the
#      framing events), raw >= records.
# Reported: records/s, MB/s (10^6 bytes) and peak RSS (MiB) of both pipelines; ratio relay/raw records/s
# per round and on the mean (target >= 70%); in MEMORY=1 mode the relay's peak RSS (target < 128 MiB).
# Per round also `RESULT name=export metric=relay/raw ...` (or metric=peak_rss with MEMORY=1) lines
# (bench/lib.sh result_line) for bench/run.
# `others` = CPU the rest of the machine used meanwhile (other people's jobs on this shared box).
#
# Environment: N (1000000 records), ROUNDS (2; 1 with MEMORY=1), MEMORY (0|1), SIZE (1GiB; bytes or
#   NNNKiB/MiB/GiB, MEMORY=1 only), MEM_LIMIT_MIB (128), RAW (1; 0 with MEMORY=1: skip the raw pipeline),
#   RAW_HEADERS=1 (kcat adds headers like the relay's on every record message, static values of the
#   same length: shows what the headers cost the raw pipeline), KEYED=1 (the relay keys each record by
#   its profileId, as a route with `export.key` does; kcat -P still sends no key, so the two runs then
#   differ in message shape and partitioning: keyed messages spread over every partition in smaller
#   batches, unkeyed ones go to one partition at a time), ORDER (alternate | relay-first | raw-first), BROKERS (3), POLL (s, 0.2), FETCH_TIMEOUT (s, 1200),
#   RAW_TIMEOUT (s, 600), LOG_LEVEL (relay, info), PERF=1 (`perf record -g` the relay for
#   PERF_SECONDS=10 s, PERF_AT=2 s after the POST; prints the hottest symbols; PERF_CALL_GRAPH=dwarf
#   to see who calls malloc: glibc has no frame pointers; ~50 MB of perf.data per second), RELAY_BIN, SERVER
#   (nginx | python), KEEP=1 (keep the temp dir: export file, data dirs, logs, perf.data),
#   STRICT=1 (exit 2 on a missed target).
# Exit: 0 when every run completed with every record on Kafka; 1 when one failed; 2 (STRICT=1) on a miss.
# Needs ~60 MB of temp space per 1M records (~230 MB for SIZE=1GiB) plus the relay's outbox.
# Loopback only; every wait is bounded; processes and the temp dir are cleaned up on exit (trap).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

MEMORY=${MEMORY:-0}
N=${N:-1000000}
SIZE=${SIZE:-1GiB}
MEM_LIMIT_MIB=${MEM_LIMIT_MIB:-128}
if [[ $MEMORY == 1 ]]; then ROUNDS=${ROUNDS:-1}; RAW=${RAW:-0}; else ROUNDS=${ROUNDS:-2}; RAW=${RAW:-1}; fi
ORDER=${ORDER:-alternate}
BROKERS=${BROKERS:-3}
POLL=${POLL:-0.2}
FETCH_TIMEOUT=${FETCH_TIMEOUT:-1200}
RAW_TIMEOUT=${RAW_TIMEOUT:-600}
LOG_LEVEL=${LOG_LEVEL:-info}
PERF=${PERF:-0}
PERF_AT=${PERF_AT:-2}
PERF_SECONDS=${PERF_SECONDS:-10}
PERF_CALL_GRAPH=${PERF_CALL_GRAPH:-fp}
SERVER=${SERVER:-nginx}
RAW_HEADERS=${RAW_HEADERS:-0}
KEYED=${KEYED:-0}
GEN_PY="$BENCH_DIR/export-gen.py"
POLL_PY="$BENCH_DIR/export-poll.py"
SOURCE=sitecore
DEST=exported-profiles
ROUTE=exported-profiles
TARGET_PCT=70
SELF=export.sh

require_positive_ints N ROUNDS BROKERS FETCH_TIMEOUT RAW_TIMEOUT PERF_AT PERF_SECONDS MEM_LIMIT_MIB
[[ $MEMORY =~ ^[01]$ && $RAW =~ ^[01]$ && $RAW_HEADERS =~ ^[01]$ ]] || { echo "$SELF: MEMORY, RAW and RAW_HEADERS must be 0 or 1" >&2; exit 64; }
[[ $ORDER =~ ^(alternate|relay-first|raw-first)$ ]] || { echo "$SELF: ORDER must be alternate, relay-first or raw-first" >&2; exit 64; }
[[ $SERVER =~ ^(nginx|python)$ ]] || { echo "$SELF: SERVER must be nginx or python" >&2; exit 64; }
size_bytes() { # 1GiB, 512MiB, 100000 -> bytes
  local v=$1
  case $v in
    *GiB) echo $((${v%GiB} << 30)) ;; *MiB) echo $((${v%MiB} << 20)) ;; *KiB) echo $((${v%KiB} << 10)) ;;
    *) [[ $v =~ ^[0-9]+$ ]] && echo "$v" || { echo "$SELF: SIZE must be bytes or NNN{KiB,MiB,GiB} (got '$v')" >&2; exit 64; } ;;
  esac
}
SIZE_BYTES=$(size_bytes "$SIZE")

WORK=""
RELAY_PID=""
MOCK_PID=""
HTTP_PID=""
RAW_JOB=""
BG_PIDS=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  kill_job "$RAW_JOB"
  local pid
  for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  stop_pid "$RELAY_PID" 30; RELAY_PID=""
  stop_pid "$MOCK_PID" 10; MOCK_PID=""
  stop_pid "$HTTP_PID" 10; HTTP_PID=""
  remove_work
  exit "$status"
}
set_traps

# ---------------------------------------------------------------- prerequisites
require_mock_kafka_bin
require_tools "apt-get install -y kcat" kcat python3 curl gunzip awk
NGINX=$(nginx_path)
if [[ $SERVER == nginx && -z $NGINX ]]; then
  if apt_install nginx-light; then
    NGINX=$(nginx_path)
  else
    echo "$SELF: cannot install nginx-light; serving the export with python3 -m http.server instead (slower: its CPU shows in the table)" >&2
    SERVER=python
  fi
fi
HAVE_TIME=0
[[ -x /usr/bin/time ]] && /usr/bin/time -f %M true >/dev/null 2>&1 && HAVE_TIME=1
((HAVE_TIME)) || echo "$SELF: /usr/bin/time missing; the raw stages' peak RSS is VmHWM sampled every 0.1 s (may miss the last growth)" >&2
if [[ $PERF == 1 ]] && ! command -v perf >/dev/null 2>&1; then echo "$SELF: PERF=1 needs perf; skipping it" >&2; PERF=0; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/relay-export.XXXXXX")
RESULTS="$WORK/results.tsv"
: >"$RESULTS"
FAILED=0
MISSED=0
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

# ---------------------------------------------------------------- helpers
mib() { calc "printf \"%.1f\", $1 / 1024"; } # KiB -> MiB
uuid() { cat /proc/sys/kernel/random/uuid; }
vm_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; } # pid VmHWM|VmRSS

# "wall busy idle mock_ticks http_ticks" (relay ticks are read separately: it starts per phase)
snap() { echo "$(now) $(machine_ticks) $(proc_ticks "$MOCK_PID") $(proc_ticks "$HTTP_WORKER")"; }
# Between two snaps: "secs machine_cores mock_cores http_cores".
snap_delta() {
  local w0 b0 i0 m0 h0 w1 b1 i1 m1 h1
  read -r w0 b0 i0 m0 h0 <<<"$1"; read -r w1 b1 i1 m1 h1 <<<"$2"
  calc "printf \"%.2f %.2f %.2f %.2f\", $w1 - $w0, ($b1 - $b0) / (($b1 - $b0) + ($i1 - $i0)) * $NCPU, ($m1 - $m0) / $HZ / ($w1 - $w0), ($h1 - $h0) / $HZ / ($w1 - $w0)"
}

start_http() { # -> HTTP_PID, HTTP_WORKER (the process that sends the bytes), HTTP_PORT, URL_BASE
  local d="$WORK/http"
  mkdir -p "$d/tmp"
  HTTP_PORT=$(free_port)
  if [[ $SERVER == nginx ]]; then
    cat >"$d/nginx.conf" <<EOF
# Generated by bench/$SELF: serves the export file, nothing else.
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  types { }
  default_type application/octet-stream;
$(nginx_temp_paths "$d")
  server {
    listen 127.0.0.1:$HTTP_PORT;
    root $WORK/www;
  }
}
EOF
    nginx_launch "$d"
    HTTP_PID=$NGINX_PID
  else
    python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 --directory "$WORK/www" >"$d/stdout.log" 2>&1 &
    HTTP_PID=$!
  fi
  HTTP_WORKER=""
  if wait_until "$HTTP_PID" 10 curl -sf -o /dev/null --max-time 1 -r 0-0 "http://127.0.0.1:$HTTP_PORT/$FILE_NAME"; then
    HTTP_WORKER=$HTTP_PID
    if [[ $SERVER == nginx ]]; then HTTP_WORKER=$(nginx_worker "$HTTP_PID"); fi
  fi
  [[ -n $HTTP_WORKER ]] || { echo "$SELF: $SERVER did not start or serve the file:" >&2; tail -n 5 "$d/error.log" "$d/stdout.log" >&2 2>/dev/null; return 1; }
  URL_BASE="http://127.0.0.1:$HTTP_PORT/$FILE_NAME"
}

write_routes() { # bootstrap topic file
  cat >"$3" <<EOF
# Generated by bench/$SELF: a Sitecore export source whose exports are on loopback, one fetchExport
# route to one Kafka destination on a standalone mock cluster.
version: 1
$(sources_yaml export)
destinations:
  $DEST:
    type: kafka
    brokers: "$1"
    topic: $2
routes:
  - name: $ROUTE
    source: $SOURCE
    to: $DEST
    fetchExport: true
$( [[ $KEYED == 1 ]] && printf '    export:\n      key: "{{profileId}}"' )
EOF
}

notification() { # apiUrl executionRef
  printf '{"apiUrl":"%s","audienceExportName":"Bench export","clientKey":"pqsDATA3lw12v5a9rrHPW1c4hET73GxQ","definitionType":"FULL_SYNC","executionRef":"%s","executionType":"SCHEDULED","friendlyId":"bench_export","segmentName":"Bench segment","status":"SUCCESS"}' "$1" "$2"
}

# ---------------------------------------------------------------- phases
relay_phase() { # topic -> R_* globals
  local topic=$1 ref t0 t_end code perf_pid="" s0 s1 rt0 rt1
  R_S="-"; R_RPS="-"; R_MBS="-"; R_GZMBS="-"; R_HWM="-"; R_CPU="-"; R_OK=0; R_STATE="-"; R_RECORDS=0; R_NOTE=""
  rm -rf "$RUN/data"
  write_routes "$BOOT" "$topic" "$RUN/routes.yaml"
  PORT=$(free_port)
  "$BIN" serve --config "$RUN/routes.yaml" --data-dir "$RUN/data" --listen "127.0.0.1:$PORT" \
    --log-level "$LOG_LEVEL" >>"$RUN/relay.log" 2>&1 &
  RELAY_PID=$!
  if ! wait_until "$RELAY_PID" 30 http_ok "$PORT" /healthz; then
    echo "$SELF: the relay did not answer /healthz within 30 s:" >&2; tail -n 20 "$RUN/relay.log" >&2
    stop_pid "$RELAY_PID" 10; RELAY_PID=""; return 0
  fi
  local hwm_ready; hwm_ready=$(vm_kib "$RELAY_PID" VmHWM)
  ref=$(uuid)
  notification "$URL_BASE?executionRef=$ref" "$ref" >"$RUN/notification.json"
  s0=$(snap); rt0=$(proc_ticks "$RELAY_PID")
  code=$(curl -s -o "$RUN/post.out" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
           --data-binary @"$RUN/notification.json" "http://127.0.0.1:$PORT/hooks/sitecore" || true)
  t0=$(now)
  if [[ $code != 200 ]]; then
    echo "$SELF: POST /hooks/sitecore answered '$code': $(head -c 300 "$RUN/post.out")" >&2
    stop_pid "$RELAY_PID" 10; RELAY_PID=""; return 0
  fi
  if [[ $PERF == 1 ]]; then
    (sleep "$PERF_AT"; timeout $((PERF_SECONDS + 60)) perf record --call-graph "$PERF_CALL_GRAPH" -o "$RUN/perf.data" -p "$RELAY_PID" -- sleep "$PERF_SECONDS" >/dev/null 2>&1) &
    perf_pid=$!; BG_PIDS+=("$perf_pid")
  fi
  local result
  result=$(python3 "$POLL_PY" --db "$RUN/data/outbox.sqlite" --ref "$ref" --pid "$RELAY_PID" --interval "$POLL" \
             --timeout "$FETCH_TIMEOUT" --progress 10 --trace "$RUN/polls.txt") || true
  s1=$(snap); rt1=$(proc_ticks "$RELAY_PID")
  thread_ticks "$RELAY_PID" >"$RUN/thread-ticks.txt" 2>/dev/null || true
  local hwm_end; hwm_end=$(vm_kib "$RELAY_PID" VmHWM)
  curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$RUN/metrics-end.prom" 2>/dev/null || true
  if [[ -n $perf_pid ]]; then wait "$perf_pid" 2>/dev/null || true; fi
  BG_PIDS=()
  stop_pid "$RELAY_PID" 60; RELAY_PID=""

  local fields=${result%% error=*}
  R_STATE=$(field "$fields" state)
  t_end=$(field "$fields" t_end)
  R_RECORDS=$(field "$fields" records)
  local bytes malformed dead error
  bytes=$(field "$fields" bytes); malformed=$(field "$fields" malformed); dead=$(field "$fields" dead)
  error=${result#*error=}
  [[ -n $hwm_end && $hwm_end != 0 ]] || hwm_end=$(field "$fields" hwm_kib)
  R_HWM=$(mib "$hwm_end")
  local d secs machine mock http
  d=$(snap_delta "$s0" "$s1"); read -r secs machine mock http <<<"$d"
  R_CPU=$(calc "printf \"%.2f\", ($rt1 - $rt0) / $HZ / $secs")
  R_OTHERS=$(calc "v = $machine - $R_CPU - $mock - $http; printf \"%.2f\", (v < 0 ? 0 : v)")
  R_MOCK=$mock; R_HTTP=$http
  if [[ $R_STATE == done ]]; then
    R_S=$(calc "printf \"%.2f\", $t_end - $t0")
    R_RPS=$(calc "printf \"%.0f\", $R_RECORDS / $R_S")
    R_MBS=$(calc "printf \"%.1f\", $RAW_BYTES / $R_S / 1e6")
    R_GZMBS=$(calc "printf \"%.1f\", $bytes / $R_S / 1e6")
    R_OK=1
    [[ $R_RECORDS == "$RECORDS" ]] || { R_OK=0; R_NOTE="records_sent $R_RECORDS != $RECORDS"; }
    [[ $bytes == "$GZ_BYTES" ]] || { R_OK=0; R_NOTE="${R_NOTE:+$R_NOTE; }bytes_received $bytes != $GZ_BYTES"; }
    [[ $malformed == 0 && $dead == 0 ]] || { R_OK=0; R_NOTE="${R_NOTE:+$R_NOTE; }malformed $malformed, dead $dead"; }
  else
    R_NOTE="job $R_STATE: $error"
  fi
  echo "    relay: job $R_STATE after ${R_S}s (from the POST's 200; polls every ${POLL}s): $R_RECORDS records, $bytes bytes received," \
    "malformed $malformed, dead $dead$( [[ $error != "-" ]] && echo ", last_error: ${error:0:200}")"
  echo "    relay: peak RSS (VmHWM) $(mib "$hwm_ready") MiB at /healthz, $R_HWM MiB after the job (max VmRSS sampled: $(mib "$(field "$fields" rss_max_kib)") MiB);" \
    "relay $R_CPU cores, mock-kafka $mock, $SERVER $http, machine $machine of $NCPU busy (others $R_OTHERS)"
  if [[ -s $RUN/metrics-end.prom ]]; then
    echo "    relay /metrics: $(awk '/^relay_export_[a-z_]+(\{[^}]*\})? / { sub(/^relay_export_/, ""); printf "%s=%s ", $1, $2 }' "$RUN/metrics-end.prom")"
  fi
  if [[ -s $RUN/thread-ticks.txt ]]; then
    echo "    relay CPU over its life (started before the POST; cores over the ${secs}s export), by thread name:"
    awk -v hz="$HZ" -v w="$secs" '{ name = $2; gsub(/#[0-9]+$/, "#*", name); c[name] += $3; n[name]++ }
      END { for (k in c) if (c[k] > 0) printf "%.2f %s %d %.1f\n", c[k] / hz / w, k, n[k], c[k] / hz }' "$RUN/thread-ticks.txt" |
      sort -rn | head -n 8 | awk '{ printf "      %-22s %3d thr %7.1f s CPU  %5.2f cores\n", $2, $3, $4, $1 }'
  fi
  if grep -qiE 'error|warning' "$RUN/relay.log"; then
    echo "    relay log warnings/errors (first 5):"; grep -iE 'error|warning' "$RUN/relay.log" | head -n 5 | cut -c1-240 | sed 's/^/      /'
  fi
  if [[ $PERF == 1 && -s $RUN/perf.data ]]; then
    echo "    perf: hottest symbols (self, ${PERF_SECONDS}s from ${PERF_AT}s after the POST):"
    perf report -i "$RUN/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
      awk '/^ +[0-9.]+%/ && n++ < 30' | cut -c1-170 | sed 's/^/      /'
  fi
}

# Peak RSS of the raw stages without /usr/bin/time: sample VmHWM of curl/gunzip/kcat under a process.
sample_hwm() { # ancestor_pid out_file
  local root=$1 out=$2 pid comm h
  declare -A best=()
  while kill -0 "$root" 2>/dev/null; do
    while read -r pid comm; do
      h=$(vm_kib "$pid" VmHWM); [[ -n $h ]] || continue
      if ((h > ${best[$comm]:-0})); then best[$comm]=$h; fi
    done < <(ps -e -o pid=,ppid=,comm= | awk -v r="$root" '{ p[$1] = $2; c[$1] = $3 }
               END { for (x in p) { y = x; while (y in p && y != r) y = p[y]; if (y == r && c[x] ~ /^(curl|gunzip|kcat)$/) print x, c[x] } }')
    for comm in "${!best[@]}"; do echo "$comm ${best[$comm]} 0 0"; done >"$out.tmp"; mv "$out.tmp" "$out"
    sleep 0.1
  done
}

raw_phase() { # topic -> W_* globals
  local topic=$1 t0 t1 status=0 s0 s1 sampler="" url
  W_S="-"; W_RPS="-"; W_MBS="-"; W_GZMBS="-"; W_HWM="-"; W_CPU="-"; W_OK=0; W_NOTE=""
  local kcat_args=(-P -b "$BOOT" -t "$topic" -X enable.idempotence=true -X acks=all -X compression.type=lz4
                   -X linger.ms=5 -X socket.nagle.disable=true)
  if [[ $RAW_HEADERS == 1 ]]; then # the headers the relay puts on a record message, with values of the same length
    kcat_args+=(-H "executionRef=$(uuid)" -H fileIndex=0 -H recordIndex=123456)
  fi
  url="$URL_BASE?raw=$(uuid)"
  rm -f "$RUN"/raw-*.time
  # The pipeline runs under `timeout` (bounded; it signals its whole process group, so no stage
  # is left behind) in `bash -c`, stages wrapped in /usr/bin/time for their peak RSS and CPU.
  local t=() cmd
  if ((HAVE_TIME)); then t=(/usr/bin/time -o "$RUN/raw-STAGE.time" -f 'STAGE %M %U %S'); fi
  cmd="set -o pipefail; $(printf '%q ' "${t[@]//STAGE/curl}" curl -sf "$url")| $(printf '%q ' "${t[@]//STAGE/gunzip}" gunzip)|"
  cmd+=" $(printf '%q ' "${t[@]//STAGE/kcat}" kcat "${kcat_args[@]}")"
  echo "$cmd" >"$RUN/raw.cmd"
  s0=$(snap); t0=$(now)
  ( timeout "$RAW_TIMEOUT" bash -c "$cmd" ) >"$RUN/raw.log" 2>&1 &
  RAW_JOB=$!
  if ((!HAVE_TIME)); then sample_hwm "$RAW_JOB" "$RUN/raw-sampled.time" & sampler=$!; BG_PIDS+=("$sampler"); fi
  wait "$RAW_JOB" || status=$?
  t1=$(now); s1=$(snap)
  RAW_JOB=""
  [[ $status == 124 ]] && echo "$SELF: raw pipeline still running after ${RAW_TIMEOUT}s; stopped it" >&2
  if [[ -n $sampler ]]; then wait "$sampler" 2>/dev/null || true; BG_PIDS=(); fi
  local d secs machine mock http
  d=$(snap_delta "$s0" "$s1"); read -r secs machine mock http <<<"$d"
  W_MOCK=$mock; W_HTTP=$http
  if [[ $status -ne 0 ]]; then
    W_NOTE="pipeline exit $status"
    echo "$SELF: raw pipeline failed (exit $status): $(grep -v '^Command exited' "$RUN/raw.log" | head -c 300 | tr '\n' ' ')" >&2
  fi
  W_S=$(calc "printf \"%.2f\", $t1 - $t0")
  local stages=""
  if ((HAVE_TIME)); then stages=$(cat "$RUN"/raw-curl.time "$RUN"/raw-gunzip.time "$RUN"/raw-kcat.time 2>/dev/null | grep -v '^Command' || true)
  else stages=$(cat "$RUN/raw-sampled.time" 2>/dev/null || true); fi
  local hwm_sum_kib cpu_s
  hwm_sum_kib=$(awk '{ s += $2 } END { print s + 0 }' <<<"$stages")
  cpu_s=$(awk '{ s += $3 + $4 } END { printf "%.2f", s + 0 }' <<<"$stages")
  W_HWM=$(mib "$hwm_sum_kib")
  W_CPU=$(calc "printf \"%.2f\", $cpu_s / $secs")
  ((HAVE_TIME)) || W_CPU="?"
  W_OTHERS=$(calc "v = $machine - ($cpu_s / $secs) - $mock - $http; printf \"%.2f\", (v < 0 ? 0 : v)")
  if [[ $status -eq 0 ]]; then
    W_RPS=$(calc "printf \"%.0f\", $RECORDS / $W_S")
    W_MBS=$(calc "printf \"%.1f\", $RAW_BYTES / $W_S / 1e6")
    W_GZMBS=$(calc "printf \"%.1f\", $GZ_BYTES / $W_S / 1e6")
    W_OK=1
  fi
  echo "    raw: ${W_S}s (exit $status); peak RSS by stage (MiB) $(awk '{ printf "%s %.1f  ", $1, $2 / 1024 }' <<<"$stages")= $W_HWM MiB;" \
    "CPU by stage (s) $(awk '{ printf "%s %.2f  ", $1, $3 + $4 }' <<<"$stages")= $W_CPU cores; mock-kafka $mock, $SERVER $http," \
    "machine $machine of $NCPU busy (others $W_OTHERS)"
}

add_row() { # round order pipeline secs rps mbs gzmbs hwm_mib cpu others topic_count expected ok note
  printf '%s\t' "$@" >>"$RESULTS"; echo >>"$RESULTS"
}

run_round() { # round
  local round=$1 tag order
  tag=$(run_tag)
  RUN="$WORK/round$round"
  mkdir -p "$RUN"
  case $ORDER in
    alternate) ((round % 2)) && order=relay-first || order=raw-first ;;
    *) order=$ORDER ;;
  esac
  ((RAW)) || order=relay-only
  local relay_topic="bench.export.relay.$tag" raw_topic="bench.export.raw.$tag"
  echo "--- round $round ($order): $RECORDS records, topics $relay_topic$( ((RAW)) && echo " / $raw_topic")"
  start_mock || { FAILED=1; return 0; }
  case $order in
    relay-first) relay_phase "$relay_topic"; raw_phase "$raw_topic" ;;
    raw-first) raw_phase "$raw_topic"; relay_phase "$relay_topic" ;;
    relay-only) relay_phase "$relay_topic" ;;
  esac
  local hwm_relay hwm_raw="-"
  hwm_relay=$(hwm_sum "$BOOT" "$relay_topic")
  ((RAW)) && hwm_raw=$(hwm_sum "$BOOT" "$raw_topic")
  stop_pid "$MOCK_PID" 10; MOCK_PID=""
  echo "    high-water marks: relay topic $hwm_relay (>= $((RECORDS + 2)) expected)$( ((RAW)) && echo ", raw topic $hwm_raw (>= $RECORDS expected)")"

  [[ $hwm_relay =~ ^[0-9]+$ && $hwm_relay -ge $((RECORDS + 2)) ]] || { R_OK=0; R_NOTE="${R_NOTE:+$R_NOTE; }topic holds $hwm_relay"; }
  ((R_OK)) || FAILED=1
  add_row "$round" "$order" relay "$R_S" "$R_RPS" "$R_MBS" "$R_GZMBS" "$R_HWM" "$R_CPU" "$R_OTHERS" "$hwm_relay" "$((RECORDS + 2))" "$R_OK" "${R_NOTE:--}"
  if ((RAW)); then
    [[ $hwm_raw =~ ^[0-9]+$ && $hwm_raw -ge $RECORDS ]] || { W_OK=0; W_NOTE="${W_NOTE:+$W_NOTE; }topic holds $hwm_raw"; }
    ((W_OK)) || FAILED=1
    add_row "$round" "$order" raw "$W_S" "$W_RPS" "$W_MBS" "$W_GZMBS" "$W_HWM" "$W_CPU" "$W_OTHERS" "$hwm_raw" "$RECORDS" "$W_OK" "${W_NOTE:--}"
    local ratio="-" verdict=FAIL
    if ((R_OK && W_OK)); then
      ratio=$(calc "printf \"%.3f\", $R_RPS / $W_RPS"); verdict=$(verdict_of "$ratio" ">=$(calc "print $TARGET_PCT / 100")")
    fi
    result_line export "round=$round" metric=relay/raw "relay=$R_RPS" "peer=$W_RPS" unit=records/s "value=$ratio" \
      "target=>=$(calc "print $TARGET_PCT / 100")" "verdict=$verdict" "records=$RECORDS" "order=$order" "relay_peak_rss_mib=$R_HWM"
  fi
  if [[ $MEMORY == 1 ]]; then
    result_line export "round=$round" metric=peak_rss unit=MiB "value=$R_HWM" "target=<$MEM_LIMIT_MIB" \
      "verdict=$( ((R_OK)) && verdict_of "$R_HWM" "<$MEM_LIMIT_MIB" || echo FAIL)" "records=$RECORDS"
  fi
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$RUN/data" "$RUN/perf.data"; fi
}

# ---------------------------------------------------------------- main
echo "$SELF: $NCPU cores, load $(cut -d' ' -f1-3 /proc/loadavg); binary $BIN"
echo "$SELF: binary built $(date -u -r "$BIN" '+%F %T UTC')$(git -C "$ROOT" log -1 --format=', HEAD %h (%ci)' 2>/dev/null || true)"
mkdir -p "$WORK/www"
chmod 755 "$WORK" "$WORK/www" # nginx's worker runs as www-data/nobody when started by root
FILE_NAME=audience-export.jsonl.gz
g0=$(now)
if [[ $MEMORY == 1 ]]; then
  gen=$(nice -n 5 python3 "$GEN_PY" memory --bytes "$SIZE_BYTES" --out "$WORK/www/$FILE_NAME")
else
  gen=$(nice -n 5 python3 "$GEN_PY" records --n "$N" --out "$WORK/www/$FILE_NAME")
fi
RECORDS=$(field "$gen" records); RAW_BYTES=$(field "$gen" raw_bytes); GZ_BYTES=$(field "$gen" gz_bytes)
echo "$SELF: export file: $RECORDS records, $(calc "printf \"%.1f\", $RAW_BYTES / 1e6") MB uncompressed ($(calc "printf \"%.1f\", $RAW_BYTES / 2^20") MiB)," \
  "$(calc "printf \"%.1f\", $GZ_BYTES / 1e6") MB gzipped (ratio $(calc "printf \"%.2f\", $RAW_BYTES / $GZ_BYTES")), $(field "$gen" members) gzip member(s)," \
  "avg record $(field "$gen" avg_record) bytes; made in $(calc "printf \"%.1f\", $(now) - $g0")s (not timed)"
start_http || exit 1
echo "$SELF: serving it with $SERVER at $URL_BASE"
for ((round = 1; round <= ROUNDS; round++)); do
  run_round "$round"
done
stop_pid "$HTTP_PID" 10; HTTP_PID=""

echo
if [[ $MEMORY == 1 ]]; then
  echo "=== Export memory test: $RECORDS records, $(calc "printf \"%.2f\", $RAW_BYTES / 2^30") GiB uncompressed, $(calc "printf \"%.1f\", $GZ_BYTES / 2^20") MiB gzipped; relay peak RSS < $MEM_LIMIT_MIB MiB ==="
else
  echo "=== Export fetch: $RECORDS records ($(calc "printf \"%.0f\", $RAW_BYTES / 1e6") MB JSON Lines, $(calc "printf \"%.0f\", $GZ_BYTES / 1e6") MB gzipped) via $SERVER -> mock Kafka ($BROKERS brokers), relay vs curl | gunzip | kcat -P$( [[ $RAW_HEADERS == 1 ]] && echo " with 3 headers per message")$( [[ $KEYED == 1 ]] && echo "; relay records keyed by profileId") (ROUNDS=$ROUNDS) ==="
fi
awk -F'\t' -v target="$TARGET_PCT" -v memory="$MEMORY" -v limit="$MEM_LIMIT_MIB" '
  BEGIN { printf "%-5s %-11s %-6s %8s %10s %8s %9s %9s %6s %6s %9s  %s\n", "round", "order", "pipe", "secs", "records/s", "MB/s", "gzMB/s", "peakRSS", "cores", "others", "topic", "check" }
  { ok = ($13 == 1) ? "ok" : "FAIL (" $14 ")"
    printf "%-5s %-11s %-6s %8s %10s %8s %9s %9s %6s %6s %9s  %s\n", $1, $2, $3, $4, $5, $6, $7, $8 " MiB", $9, $10, $11, ok
    if ($3 == "relay") { rel[$1] = $5; rss[$1] = $8 } else { raw[$1] = $5 }
    if ($1 > rounds) rounds = $1 }
  END {
    print ""
    miss = 0
    for (r = 1; r <= rounds; r++) {
      line = sprintf("round %d:", r)
      if ((r in raw) && rel[r] ~ /^[0-9]+$/ && raw[r] ~ /^[0-9]+$/ && raw[r] > 0) {
        ratio = rel[r] / raw[r] * 100; sr += rel[r]; sw += raw[r]; k++
        line = line sprintf("  relay/raw records/s = %.1f%% (target >= %d%%) %s", ratio, target, ratio >= target ? "PASS" : "MISS")
        if (ratio < target) miss = 1
      }
      if (memory == 1) {
        line = line sprintf("  relay peak RSS = %s MiB (target < %d MiB) %s", rss[r], limit, (rss[r] ~ /^[0-9.]+$/ && rss[r] < limit) ? "PASS" : "MISS")
        if (!(rss[r] ~ /^[0-9.]+$/ && rss[r] < limit)) miss = 1
      }
      print line
    }
    if (k > 1) printf "mean of %d:  relay %.0f records/s, raw %.0f records/s, relay/raw = %.1f%% (target >= %d%%) %s\n", k, sr / k, sw / k, sr / sw * 100, target, (sr / sw * 100 >= target) ? "PASS" : "MISS"
    if (k > 1 && sr / sw * 100 < target) miss = 1
    exit miss ? 3 : 0
  }' "$RESULTS" || { [[ $? == 3 ]] && MISSED=1 || FAILED=1; }
echo "(MB = 10^6 bytes of the uncompressed export, gzMB of the file as served; peakRSS: relay VmHWM, raw = sum of the" \
  "three stages' max RSS; cores: CPU of the relay process / of curl+gunzip+kcat; others: the rest of the machine, excluding mock-kafka and $SERVER)"
((FAILED)) && { echo "$SELF: some runs FAILED (see above)" >&2; exit 1; }
((MISSED)) && [[ ${STRICT:-0} == 1 ]] && exit 2
exit 0
