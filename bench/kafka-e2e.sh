#!/usr/bin/env bash
# Kafka end-to-end benchmark: POST /hooks/sitecore -> outbox -> dispatcher -> Kafka (mock cluster).
#
#   bench/kafka-e2e.sh                         # DURATION=30 ROUNDS=2, profiles "steady" and "max"
#   DURATION=10 ROUNDS=1 PROFILES=steady bench/kafka-e2e.sh
#
# Every run starts its own `audience-relay mock-kafka --brokers 3` and its own relay
# (`serve --log-level warning`, fresh data dir, one sitecore-export source routed to a fresh topic
# on that cluster), warms up for WARMUP s and waits until the warm-up is delivered, then runs wrk
# for DURATION s with bench/kafka-e2e.lua (fresh executionRef per request, KEYS distinct
# friendlyIds as message keys). Meanwhile a sampler records, every SAMPLE s, the relay's
# /metrics counters and `audience-relay outbox stats` pending. After wrk it records the backlog,
# waits (at most DRAIN_TIMEOUT s) until everything accepted is delivered, checks the topic's
# high-water marks (kcat -Q) against the relay's delivered counter, and stops both processes.
#
# Profiles (PROFILES, default "steady max"; both run in each round, order alternating):
#   steady  CONNECTIONS (default 16) connections paced to RATE req/s in total (default 2000),
#           so the 2-core machine is not saturated and latency means something;
#   max     MAX_CONNECTIONS (default 64) connections, unpaced (as fast as the relay answers).
# Custom profiles: PROFILES="name:connections:rate ..." (rate 0 = unpaced).
#
# Reported per run: accepted/s (wrk's 200s / wrk's duration), delivered/s (increase of
# relay_deliveries_total{outcome="delivered"} over the same window / its length), backlog at the end
# of the load and its movement (sampled `outbox stats` pending, least-squares slope), p99
# accept-to-delivered latency (relay_delivery_latency_seconds is a Prometheus *histogram* with
# bounds 5/10/25/50/100 ms...; p99 is interpolated inside its bucket as histogram_quantile() does,
# and le50 = the exact fraction of deliveries <= 50 ms; both cover deliveries reported inside the
# load window), wrk's HTTP p99, time to drain after the load, relay and mock-kafka CPU.
# Targets: delivered/s >= 95% of accepted/s; no growing backlog (slope < 1% of the accepted rate
# per second and end backlog < 1 s of accepted traffic); p99 < 50 ms (le50 >= 0.99); in the steady
# profile, relay CPU <= 0.6 cores. Each run also prints them as `RESULT name=kafka-e2e-PROFILE ...`
# lines (bench/lib.sh result_line) for bench/run.
#
# Environment: DURATION (s, 30), ROUNDS (2), WARMUP (s, 3), SAMPLE (s, 2), RATE (2000),
#   CONNECTIONS (16), MAX_CONNECTIONS (64), THREADS (wrk threads, 1), KEYS (1000), BROKERS (3),
#   DRAIN_TIMEOUT (s, 60), PROFILES, RELAY_BIN, KEEP=1 (keep the temp dir), STRICT=1 (exit 2 when
#   a target is missed).
# Exit: 0 when every run completed with only 200s and Kafka holds what the relay reported
#   delivered; 1 otherwise. Loopback only; every wait is bounded; processes and the temp dir are
#   cleaned up on exit (trap).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

DURATION=${DURATION:-30}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-3}
SAMPLE=${SAMPLE:-2}
RATE=${RATE:-2000}
CONNECTIONS=${CONNECTIONS:-16}
MAX_CONNECTIONS=${MAX_CONNECTIONS:-64}
THREADS=${THREADS:-1}
KEYS=${KEYS:-1000}
BROKERS=${BROKERS:-3}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-60}
STEADY_CPU_TARGET=0.6
PROFILES=${PROFILES:-"steady max"}
LUA="$BENCH_DIR/kafka-e2e.lua"
METRICS_PY="$BENCH_DIR/kafka-metrics.py"
DEST=sitecore-events
SOURCE=sitecore
ROUTE=sitecore-notifications
SELF=kafka-e2e.sh

require_positive_ints DURATION ROUNDS WARMUP SAMPLE CONNECTIONS MAX_CONNECTIONS THREADS KEYS BROKERS DRAIN_TIMEOUT
[[ $RATE =~ ^[0-9]+$ ]] || { echo "kafka-e2e.sh: RATE must be a non-negative integer" >&2; exit 64; }

# Expand profile names to name:connections:rate.
SPECS=()
for p in $PROFILES; do
  case $p in
    steady) SPECS+=("steady:$CONNECTIONS:$RATE") ;;
    max) SPECS+=("max:$MAX_CONNECTIONS:0") ;;
    *:*:*) SPECS+=("$p") ;;
    *) echo "kafka-e2e.sh: unknown profile '$p' (steady, max or name:connections:rate)" >&2; exit 64 ;;
  esac
done

WORK=""
RELAY_PID=""
MOCK_PID=""
SAMPLER_PID=""
WRK_JOB=""

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  kill_job "$WRK_JOB"
  [[ -n $SAMPLER_PID ]] && { kill -TERM "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; }
  stop_pid "$RELAY_PID" 30; RELAY_PID=""
  stop_pid "$MOCK_PID" 10; MOCK_PID=""
  remove_work
  exit "$status"
}
set_traps

# ---------------------------------------------------------------- prerequisites
require_mock_kafka_bin
require_tools "apt-get install -y wrk kcat" wrk kcat python3 curl top

WORK=$(mktemp -d "${TMPDIR:-/tmp}/relay-kafka-e2e.XXXXXX")
RESULTS="$WORK/results.tsv"
RESULT_LINES="$WORK/result-lines.txt"
: >"$RESULT_LINES"
printf '%s\n' "round	profile	conns	rate	accepted_ps	delivered_ps	ratio_pct	pending_end	pending_max	growth_pct	p99_ms	p99_bucket	le50	http_p99_ms	drain_s	kafka_check	relay_cpu	others_cpu	ratio_ok	backlog_ok	p99_ok	verdict" >"$RESULTS"
FAILED=0
MISSED=0

# ---------------------------------------------------------------- helpers
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$1"; }
metric_counts() { # -> "accepted delivered dead" from /metrics, "? ? ?" when unreachable
  { curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true; } | awk -v d="$DEST" -v s="$SOURCE" '
    /^relay_ingest_total\{/ && index($0, "source=\"" s "\"") && /outcome="accepted"/ { a += $NF }
    /^relay_deliveries_total\{/ && index($0, "destination=\"" d "\"") && /outcome="delivered"/ { v += $NF }
    /^relay_deliveries_total\{/ && index($0, "destination=\"" d "\"") && /outcome="dead"/ { x += $NF }
    END { if (NR) printf "%d %d %d\n", a, v, x; else print "? ? ?" }'
}
start_relay() {
  local attempt
  for attempt in 1 2 3; do
    PORT=$(free_port)
    "$BIN" serve --config "$RUN/routes.yaml" --data-dir "$RUN/data" --listen "127.0.0.1:$PORT" \
      --log-level warning >>"$RUN/relay.log" 2>&1 &
    RELAY_PID=$!
    wait_until "$RELAY_PID" 30 http_ok "$PORT" /readyz && return 0
    if kill -0 "$RELAY_PID" 2>/dev/null; then
      echo "kafka-e2e.sh: relay not ready within 30 s:" >&2
      curl -s --max-time 2 "http://127.0.0.1:$PORT/readyz" >&2 || true
      tail -n 20 "$RUN/relay.log" >&2
      stop_pid "$RELAY_PID" 10; RELAY_PID=""
      return 1
    fi
    wait "$RELAY_PID" 2>/dev/null || true
    RELAY_PID=""
    grep -qi "address already in use" "$RUN/relay.log" || break
  done
  echo "kafka-e2e.sh: relay exited during start-up:" >&2
  tail -n 20 "$RUN/relay.log" >&2
  return 1
}

# wrk in a background job so that signals reach the trap at once.
run_wrk() { # conns rate seconds tag out [options]
  local conns=$1 rate=$2 secs=$3 tag=$4 out=$5 status=0
  shift 5
  (TIMEFORMAT='%U %S'; time RUN_TAG=$tag RATE=$rate THREADS=$THREADS KEYS=$KEYS timeout $((secs + 30)) \
     wrk -t"$THREADS" -c"$conns" -d"${secs}s" --timeout 10s "$@" -s "$LUA" "http://127.0.0.1:$PORT/hooks/sitecore" >"$out" 2>&1) 2>"$out.time" &
  WRK_JOB=$!
  wait "$WRK_JOB" || status=$?
  WRK_JOB=""
  return "$status"
}

wait_delivered() { # seconds -> 0 when delivered+dead >= accepted (per /metrics) and outbox pending = 0
  local deadline i a v x p
  deadline=$(calc "printf \"%.3f\", $(now) + $1")
  while :; do
    read -r a v x < <(metric_counts)
    if [[ $a != "?" && $((v + x)) -ge $a ]]; then
      p=$(pending_now)
      [[ $p == 0 ]] && return 0
    fi
    [[ $(calc "print (($(now) > $deadline) ? 1 : 0)") == 1 ]] && return 1
    sleep 0.25
  done
}

sampler() { # out stop_file
  while [[ ! -e $2 ]]; do
    local t a v x p
    t=$(now)
    read -r a v x < <(metric_counts)
    p=$(pending_now)
    echo "$t $a $v $x $p" >>"$1"
    sleep "$SAMPLE"
  done
}

# ---------------------------------------------------------------- one run
run_profile() { # round spec
  local round=$1 name conns rate
  IFS=: read -r name conns rate <<<"$2"
  RUN="$WORK/r$round-$name"
  mkdir -p "$RUN"
  local topic="bench.e2e.$(run_tag)"
  echo "--- round $round: $name (wrk -t$THREADS -c$conns, $( ((rate > 0)) && echo "paced to $rate req/s" || echo unpaced), ${DURATION}s, topic $topic)"
  start_mock || { FAILED=1; return 0; }
  write_kafka_routes "$BOOT" "$topic" "$RUN/routes.yaml"
  if ! start_relay; then FAILED=1; stop_pid "$MOCK_PID" 10; MOCK_PID=""; return 0; fi

  # Warm-up: producer connected, topic created, caches warm; then let it drain.
  run_wrk "$conns" "$rate" "$WARMUP" "$(run_tag)" "$RUN/warmup.txt" || true
  wait_delivered 30 || echo "    warm-up not fully delivered within 30 s (continuing)"

  local tag t0 t1 ticks0 ticks1 mticks0 mticks1 wrk_status=0
  tag=$(run_tag)
  : >"$RUN/samples.txt"
  (sampler "$RUN/samples.txt" "$RUN/stop-sampler") &
  SAMPLER_PID=$!
  (sleep $((DURATION / 2 > 1 ? DURATION / 2 - 1 : 0))
   top -b -n2 -d1 -H -w 200 -p "$RELAY_PID" 2>/dev/null | awk '/^top -/ { f++ } f == 2 && n++ < 17 && n >= 7' >"$RUN/top-threads.txt") &
  local top_job=$!
  scrape "$RUN/m0.prom"
  local busy0 idle0 busy1 idle1
  read -r busy0 idle0 < <(machine_ticks)
  t0=$(now); ticks0=$(proc_ticks "$RELAY_PID"); mticks0=$(proc_ticks "$MOCK_PID")
  run_wrk "$conns" "$rate" "$DURATION" "$tag" "$RUN/wrk.txt" --latency || wrk_status=$?
  t1=$(now); ticks1=$(proc_ticks "$RELAY_PID"); mticks1=$(proc_ticks "$MOCK_PID")
  read -r busy1 idle1 < <(machine_ticks)
  scrape "$RUN/m1.prom" || true
  local pending_end
  pending_end=$(pending_now)
  echo "$(now) - - - $pending_end" >>"$RUN/samples.txt"
  touch "$RUN/stop-sampler"
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
  wait "$top_job" 2>/dev/null || true

  local drain_s="-" td=""
  if wait_delivered "$DRAIN_TIMEOUT"; then
    td=$(now); drain_s=$(calc "printf \"%.1f\", $td - $t1")
  else
    drain_s=">$DRAIN_TIMEOUT"
  fi
  scrape "$RUN/m2.prom" || true
  local alive=1
  kill -0 "$RELAY_PID" 2>/dev/null || alive=0
  local hwm relay_total accepted_total
  hwm=$(hwm_sum "$BOOT" "$topic")
  relay_total=$(python3 "$METRICS_PY" value "$RUN/m2.prom" relay_deliveries_total destination=$DEST outcome=delivered 2>/dev/null || echo "?")
  accepted_total=$(python3 "$METRICS_PY" value "$RUN/m2.prom" relay_ingest_total source=$SOURCE outcome=accepted 2>/dev/null || echo "?")
  stop_pid "$RELAY_PID" 30; RELAY_PID=""
  stop_pid "$MOCK_PID" 10; MOCK_PID=""

  # ---- figures
  local counts
  counts=$(grep '^KAFKA_E2E_COUNTS' "$RUN/wrk.txt" || true)
  if [[ $wrk_status -ne 0 || -z $counts || $alive -eq 0 ]]; then
    echo "kafka-e2e.sh: run failed (wrk exit $wrk_status, relay alive $alive):" >&2
    tail -n 20 "$RUN/wrk.txt" >&2; tail -n 10 "$RUN/relay.log" >&2
    result_line "kafka-e2e-$name" "round=$round" metric=delivered verdict=FAIL "note=wrk_exit_${wrk_status}_relay_alive_$alive" >>"$RESULT_LINES"
    FAILED=1
    return 0
  fi
  local ok non200 dur_us http_p99 sock
  ok=$(field "$counts" ok); non200=$(field "$counts" non200); dur_us=$(field "$counts" duration_us)
  http_p99=$(calc "printf \"%.1f\", $(field "$counts" p99_us) / 1000")
  sock=$(grep -m1 '^ *Socket errors' "$RUN/wrk.txt" | sed 's/^ *//' || true)
  local delta window accepted_ps delivered_ps ratio
  delta=$(python3 "$METRICS_PY" delta "$RUN/m0.prom" "$RUN/m1.prom" "$DEST" "$SOURCE")
  window=$(calc "printf \"%.3f\", $t1 - $t0")
  accepted_ps=$(calc "printf \"%.0f\", $ok / ($dur_us / 1e6)")
  delivered_ps=$(calc "printf \"%.0f\", $(field "$delta" delivered) / $window")
  ratio=$(calc "printf \"%.1f\", (($accepted_ps > 0) ? $delivered_ps / $accepted_ps * 100 : 0)")
  local backlog
  backlog=$(python3 "$METRICS_PY" backlog "$RUN/samples.txt" "$t0" "$(calc "printf \"%.3f\", $t1 + 60")" "$accepted_ps")
  local pending_max growth p99 p99_bucket le50 relay_cpu mock_cpu hz
  pending_max=$(field "$backlog" max); growth=$(field "$backlog" growth_pct)
  p99=$(field "$delta" lat_p99_ms); p99_bucket=$(field "$delta" lat_p99_bucket); le50=$(field "$delta" lat_le_50ms)
  hz=$(getconf CLK_TCK)
  relay_cpu=$(calc "printf \"%.2f\", ($ticks1 - $ticks0) / $hz / $window")
  mock_cpu=$(calc "printf \"%.2f\", ($mticks1 - $mticks0) / $hz / $window")
  local machine_busy wrk_cpu others
  machine_busy=$(calc "printf \"%.2f\", ($busy1 - $busy0) / (($busy1 - $busy0) + ($idle1 - $idle0)) * $(nproc)")
  wrk_cpu=$(awk -v w="$window" 'NF == 2 { printf "%.2f", ($1 + $2) / w }' "$RUN/wrk.txt.time" 2>/dev/null); wrk_cpu=${wrk_cpu:-0}
  others=$(calc "x = $machine_busy - $relay_cpu - $mock_cpu - $wrk_cpu; printf \"%.2f\", (x > 0 ? x : 0)")

  local ratio_ok backlog_ok p99_ok verdict kafka_check
  ratio_ok=$(calc "print (($ratio >= 95) ? \"PASS\" : \"MISS\")")
  if [[ $pending_end == "?" || $growth == "-" ]]; then backlog_ok=MISS
  else backlog_ok=$(calc "print (($growth < 1 && $pending_end < ($accepted_ps > 1 ? $accepted_ps : 1)) ? \"PASS\" : \"MISS\")"); fi
  if [[ $le50 == "-" ]]; then p99_ok=MISS; else p99_ok=$(calc "print (($le50 >= 0.99) ? \"PASS\" : \"MISS\")"); fi
  if [[ $ratio_ok == PASS && $backlog_ok == PASS && $p99_ok == PASS ]]; then verdict=PASS
  else verdict="MISS($( [[ $ratio_ok == MISS ]] && echo -n r)$( [[ $backlog_ok == MISS ]] && echo -n b)$( [[ $p99_ok == MISS ]] && echo -n l))"; MISSED=1; fi
  if [[ $hwm == "$relay_total" && $relay_total == "$accepted_total" ]]; then kafka_check="ok:$hwm"
  else kafka_check="FAIL:$hwm/$relay_total/$accepted_total"; FAILED=1; fi
  if [[ $non200 -ne 0 || -n $sock ]]; then
    verdict="FAIL(non200=$non200 ${sock:+sockerr})"; FAILED=1
  fi

  local cpu_ok="-"
  if [[ $name == steady ]]; then
    cpu_ok=$(verdict_of "$relay_cpu" "<=$STEADY_CPU_TARGET")
    [[ $cpu_ok == PASS ]] || MISSED=1
  fi
  {
    result_line "kafka-e2e-$name" "round=$round" metric=delivered unit=% "value=$ratio" "target=>=95" \
      "verdict=$( [[ $verdict == FAIL* || $kafka_check == FAIL* ]] && echo FAIL || echo "$ratio_ok")" \
      "accepted_ps=$accepted_ps" "delivered_ps=$delivered_ps" "kafka=$kafka_check"
    result_line "kafka-e2e-$name" "round=$round" metric=delivery_p99 unit=ms "value=$p99" "target=<50" "verdict=$p99_ok" \
      "le50=$le50" "http_p99_ms=$http_p99"
    result_line "kafka-e2e-$name" "round=$round" metric=backlog_end unit=events "value=$pending_end" \
      "target=<1s_of_traffic,_not_growing" "verdict=$backlog_ok" "growth_pct=$growth"
    if [[ $name == steady ]]; then
      result_line "kafka-e2e-$name" "round=$round" metric=relay_cpu unit=cores "value=$relay_cpu" \
        "target=<=$STEADY_CPU_TARGET" "verdict=$cpu_ok" "accepted_ps=$accepted_ps" "others=$others"
    fi
  } >>"$RESULT_LINES"
  printf '%s\n' "$round	$name	$conns	$rate	$accepted_ps	$delivered_ps	$ratio	$pending_end	$pending_max	$growth	$p99	$p99_bucket	$le50	$http_p99	$drain_s	$kafka_check	$relay_cpu	$others	$ratio_ok	$backlog_ok	$p99_ok	$verdict" >>"$RESULTS"
  echo "    accepted $ok x 200 in $(calc "printf \"%.1f\", $dur_us / 1e6")s = $accepted_ps/s (non-200 $non200${sock:+, $sock}); delivered in window $(field "$delta" delivered) = $delivered_ps/s ($ratio%); retries $(field "$delta" retry), dead $(field "$delta" dead)"
  echo "    delivery latency (relay histogram, deliveries in window: $(field "$delta" lat_count)): p50 ~$(field "$delta" lat_p50_ms) ms, p90 ~$(field "$delta" lat_p90_ms) ms, p99 ~$p99 ms ($p99_bucket bucket), mean $(field "$delta" lat_mean_ms) ms, <=50 ms: $le50; wrk HTTP p50 $(calc "printf \"%.1f\", $(field "$counts" p50_us) / 1000") ms, p99 $http_p99 ms"
  echo "    backlog (outbox stats pending every ${SAMPLE}s): $(field "$backlog" series); end $pending_end, max $pending_max, slope $(field "$backlog" slope)/s ($growth% of accepted/s); drained ${drain_s}s after the load"
  echo "    kafka high-water marks $hwm, relay delivered $relay_total, accepted $accepted_total (incl. warm-up); cpu cores: relay $relay_cpu, mock-kafka $mock_cpu, wrk $wrk_cpu, machine busy $machine_busy of $(nproc) (other processes ~$others)"
  if [[ -s $RUN/top-threads.txt ]]; then
    echo "    relay threads mid-run (top -H):"
    sed 's/^/      /' "$RUN/top-threads.txt"
  fi
}

# ---------------------------------------------------------------- main
echo "kafka-e2e.sh: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); binary $BIN"
echo "kafka-e2e.sh: binary built $(date -u -r "$BIN" '+%F %T UTC')$(git -C "$ROOT" log -1 --format=', HEAD %h (%ci)' 2>/dev/null || true)"
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${SPECS[@]}")
  if ((round % 2 == 0)); then
    order=()
    for ((k = ${#SPECS[@]} - 1; k >= 0; k--)); do order+=("${SPECS[k]}"); done
  fi
  for spec in "${order[@]}"; do
    run_profile "$round" "$spec"
  done
done

echo
echo "=== Kafka end-to-end (mock cluster, $BROKERS brokers; DURATION=${DURATION}s, ROUNDS=$ROUNDS, KEYS=$KEYS) ==="
python3 "$METRICS_PY" e2e-table "$RESULTS"
echo "(steady profile: relay CPU target <= $STEADY_CPU_TARGET cores)"
cat "$RESULT_LINES"
((FAILED)) && { echo "kafka-e2e.sh: some runs FAILED (see above)" >&2; exit 1; }
((MISSED)) && [[ ${STRICT:-0} == 1 ]] && exit 2
exit 0
