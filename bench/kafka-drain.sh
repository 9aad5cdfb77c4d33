#!/usr/bin/env bash
# Kafka drain benchmark: a backlog of N pending deliveries in the SQLite outbox drained by the relay
# to librdkafka's mock cluster, next to `kcat -P` producing the same N messages to the same
# mock-kafka process.
#
#   bench/kafka-drain.sh                    # N=1000000 ROUNDS=2
#   N=200000 ROUNDS=1 bench/kafka-drain.sh  # quick look
#
# Each round:
#   1. starts `audience-relay mock-kafka --brokers 3` (one process for both producers of the round);
#   2. lets the relay create the outbox schema (starts `serve` until /healthz answers, SIGTERM);
#   3. bench/kafka-drain-fill.py inserts N events + N pending deliveries in one transaction
#      (~420-byte Sitecore bodies, key = friendlyId from KEYS=1000 values, distinct executionRefs)
#      and writes the same N messages as "key<TAB>body" lines for kcat (not timed);
#   4. in alternating order (odd rounds relay first, even rounds kcat first):
#      relay: starts `serve` and times from the start until the poll (every POLL=0.2 s, one poll after
#             another) whose /metrics shows N delivered, confirmed by `audience-relay outbox stats`
#             showing 0 pending right after it (POLL_WITH=stats: until the poll whose `outbox stats`
#             shows 0 pending, that run included); also records when /healthz
#             first answered (from the /healthz probe below; without it, from these polls, which ask
#             /healthz only between two `outbox stats` runs and so report it 2-4 s late at N=1e6),
#             when relay_deliveries_total{outcome="delivered"} reached N (/metrics, same polls), the
#             relay's per-thread CPU over the drain (/proc/PID/task) and a `top -H` snapshot TOP_AT s
#             into the drain;
#      kcat:  `kcat -P -K '\t' -l FILE -X enable.idempotence=true -X acks=all -X linger.ms=5
#             -X compression.type=lz4` to its own topic, wall time of that command only (kcat exits
#             after every delivery report);
#   5. sums the high-water marks of both topics (kcat -Q), which must each be >= N.
# Reported: messages/s of both (N / time), relay/kcat ratio (target >= 20%), spread over rounds; per
# round also a `RESULT name=kafka-drain metric=relay/kcat ...` line (bench/lib.sh result_line) for bench/run.
#
# Environment: N (1000000), ROUNDS (2), KEYS (1000), BROKERS (3), POLL (s, 0.2), TOP_AT (s, 5),
#   DRAIN_TIMEOUT (s, 1200), KCAT_TIMEOUT (s, 600), ORDER (alternate | relay-first | kcat-first),
#   POLL_WITH (metrics = the default: polls read /metrics and `outbox stats` runs once the delivered
#   counter reaches N, then every poll until it shows 0 pending; stats = every poll also runs `outbox
#   stats`, which scans all N rows, 0.3-0.6 s of CPU each: on 2 cores that polling takes a third to half
#   of a core from the relay while it drains, and kcat pays nothing alike),
#   HEALTHZ_EVERY (s between /healthz probes during the relay drain, 0.1; 0 = no probe),
#   PERF=1 (also `perf record -g` the relay for PERF_SECONDS=10 s mid-drain and print the top symbols),
#   RELAY_BIN, KEEP=1 (keep the temp dir: databases, kcat file, logs), STRICT=1 (exit 2 on a missed
#   target).
# Exit: 0 when every round drained completely and both topics hold >= N messages; 1 otherwise.
# Needs ~1.5 GB of temp space per round at N=1e6 (the round's files are deleted after it).
# Loopback only; every wait is bounded; processes and the temp dir are cleaned up on exit (trap).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

N=${N:-1000000}
ROUNDS=${ROUNDS:-2}
KEYS=${KEYS:-1000}
BROKERS=${BROKERS:-3}
POLL=${POLL:-0.2}
TOP_AT=${TOP_AT:-5}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-1200}
KCAT_TIMEOUT=${KCAT_TIMEOUT:-600}
ORDER=${ORDER:-alternate}
PERF=${PERF:-0}
POLL_WITH=${POLL_WITH:-metrics}
PERF_SECONDS=${PERF_SECONDS:-10}
HEALTHZ_EVERY=${HEALTHZ_EVERY:-0.1}
FILL_PY="$BENCH_DIR/kafka-drain-fill.py"
METRICS_PY="$BENCH_DIR/kafka-metrics.py"
DEST=sitecore-events
SOURCE=sitecore
ROUTE=sitecore-notifications
TARGET_PCT=20
SELF=kafka-drain.sh

require_positive_ints N ROUNDS KEYS BROKERS TOP_AT DRAIN_TIMEOUT KCAT_TIMEOUT PERF_SECONDS
[[ $POLL_WITH =~ ^(stats|metrics)$ ]] || { echo "kafka-drain.sh: POLL_WITH must be stats or metrics" >&2; exit 64; }
[[ $ORDER =~ ^(alternate|relay-first|kcat-first)$ ]] || { echo "kafka-drain.sh: ORDER must be alternate, relay-first or kcat-first" >&2; exit 64; }

WORK=""
RELAY_PID=""
MOCK_PID=""
KCAT_JOB=""
BG_PIDS=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  kill_job "$KCAT_JOB"
  local pid
  for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  stop_pid "$RELAY_PID" 30; RELAY_PID=""
  stop_pid "$MOCK_PID" 10; MOCK_PID=""
  remove_work
  exit "$status"
}
set_traps

# ---------------------------------------------------------------- prerequisites
require_mock_kafka_bin
require_tools "apt-get install -y kcat" kcat python3 curl top
if [[ $PERF == 1 ]] && ! command -v perf >/dev/null 2>&1; then echo "kafka-drain.sh: PERF=1 needs perf; skipping it" >&2; PERF=0; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/relay-kafka-drain.XXXXXX")
RESULTS="$WORK/results.tsv"
printf '%s\n' "round	n	order	relay_s	relay_mps	ready_s	relay_mps_ready	metric_done_s	kcat_s	kcat_mps	ratio_pct	hwm_relay	hwm_kcat	verdict" >"$RESULTS"
FAILED=0
MISSED=0

# ---------------------------------------------------------------- helpers
delivered_now() { # -> relay_deliveries_total{outcome="delivered"} of $DEST, "?" when unreachable
  { curl -sf --max-time 2 "http://127.0.0.1:$PORT/metrics" 2>/dev/null || true; } | awk -v d="$DEST" '
    /^relay_deliveries_total\{/ && index($0, "destination=\"" d "\"") && /outcome="delivered"/ { v += $NF; f = 1 }
    END { if (f) printf "%d\n", v; else print "?" }'
}

# "mock-kafka X cores, machine Y of Z cores busy" between two snapshots "wall mock_ticks busy idle".
cpu_line() {
  local hz; hz=$(getconf CLK_TCK)
  local w0 m0 b0 i0 w1 m1 b1 i1
  read -r w0 m0 b0 i0 <<<"$1"; read -r w1 m1 b1 i1 <<<"$2"
  calc "printf \"mock-kafka %.2f cores, machine %.2f of $(nproc) cores busy\", ($m1 - $m0) / $hz / ($w1 - $w0), ($b1 - $b0) / (($b1 - $b0) + ($i1 - $i0)) * $(nproc)"
}
snap() { echo "$(now) $(proc_ticks "$MOCK_PID") $(machine_ticks)"; }

# Asks /healthz every HEALTHZ_EVERY s until killed, one line per probe: "s_since_t0 latency_s http_code"
# (code 000 = no answer: not listening yet, or no answer within 5 s).
healthz_probe() { # t0 file
  local t0=$1 out=$2 t line
  while :; do
    t=$(now)
    line=$(curl -s -o /dev/null --max-time 5 -w '%{time_total} %{http_code}' "http://127.0.0.1:$PORT/healthz" 2>/dev/null || true)
    echo "$(calc "printf \"%.3f\", $t - $t0") ${line:-5 000}" >>"$out"
    sleep "$HEALTHZ_EVERY"
  done
}

# "first answer after X s; N probes while draining: latency p50 / p99 / max, M over 100 ms" from a probe file.
healthz_summary() { # file
  awk '$3 == 200 && first == "" { first = $1 + $2 } first != "" { n++; l[n] = $2 * 1000; at[n] = $1; if ($3 != 200) bad++; if ($2 > 0.1) slow++ }
    END {
      if (first == "") { print "never answered"; exit }
      for (i = 1; i <= n; i++) for (j = i; j > 1 && l[j - 1] > l[j]; j--) { x = l[j]; l[j] = l[j - 1]; l[j - 1] = x; y = at[j]; at[j] = at[j - 1]; at[j - 1] = y }
      printf "first answer %.2f s after start; %d probes from then on: latency p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d over 100 ms, %d failed; slowest (s into the drain:ms)",
        first, n, l[int(n * 0.5) + (n * 0.5 > int(n * 0.5))], l[int(n * 0.99) + (n * 0.99 > int(n * 0.99))], l[n], slow, bad
      for (i = n; i > 0 && i > n - 5; i--) printf " %.1f:%.0f", at[i], l[i]
      printf "\n"
    }' "$1"
}

# ---------------------------------------------------------------- phases
relay_phase() { # topic -> RELAY_S READY_S METRIC_DONE_S RELAY_DELIVERED RELAY_PEAK_MB
  local t0 t_ready="" t_metric="" t_done="" p d deadline top_job="" perf_pid=""
  RELAY_S="-"; READY_S="-"; METRIC_DONE_S="-"; RELAY_DELIVERED="?"; RELAY_PEAK_MB="?"
  : >"$RUN/drain-polls.txt"
  local s0 s1; s0=$(snap)
  # The port is chosen before the clock starts (free_port runs Python, ~0.1 s).
  local port; port=$(free_port)
  t0=$(now)
  launch_relay_on "$port"
  deadline=$(calc "printf \"%.3f\", $t0 + $DRAIN_TIMEOUT")
  : >"$RUN/healthz-probes.txt"
  if [[ $HEALTHZ_EVERY != 0 ]]; then healthz_probe "$t0" "$RUN/healthz-probes.txt" & BG_PIDS+=("$!"); fi
  (sleep "$TOP_AT"; top -b -n2 -d1 -H -w 200 -p "$RELAY_PID" 2>/dev/null | awk '/^top -/ { f++ } f == 2 && n++ < 20 && n >= 7' >"$RUN/top-threads.txt") &
  top_job=$!; BG_PIDS+=("$top_job")
  if [[ $PERF == 1 ]]; then
    (sleep "$TOP_AT"; timeout $((PERF_SECONDS + 30)) perf record -g -o "$RUN/perf.data" -p "$RELAY_PID" -- sleep "$PERF_SECONDS" >/dev/null 2>&1) &
    perf_pid=$!; BG_PIDS+=("$perf_pid")
  fi
  while :; do
    if ! kill -0 "$RELAY_PID" 2>/dev/null; then
      echo "kafka-drain.sh: the relay exited during the drain:" >&2; tail -n 20 "$RUN/relay.log" >&2; break
    fi
    if [[ -z $t_ready ]] && curl -sf --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then t_ready=$(now); fi
    local t
    if [[ $POLL_WITH == stats ]]; then p=$(pending_now); d=$(delivered_now); t=$(now)
    else
      # The drain is over when the counter shows N delivered; the `outbox stats` run right after only
      # confirms it (its scan of all N rows, ~1 s at N=1e6, is the benchmark's time, not the relay's).
      d=$(delivered_now); t=$(now); p="-"; [[ $d != "?" && $d -ge $N ]] && p=$(pending_now)
    fi
    echo "$(calc "printf \"%.2f\", $t - $t0") $p $d" >>"$RUN/drain-polls.txt"
    [[ -z $t_metric && $d != "?" && $d -ge $N ]] && t_metric=$t
    if [[ $p == 0 ]]; then t_done=$t; break; fi
    [[ $(calc "print (($t > $deadline) ? 1 : 0)") == 1 ]] && { echo "kafka-drain.sh: not drained within ${DRAIN_TIMEOUT}s" >&2; break; }
    sleep "$POLL"
  done
  # Thread CPU over the whole drain (the process started at t0), before anything else runs in it.
  thread_ticks "$RELAY_PID" >"$RUN/thread-ticks.txt" 2>/dev/null || true
  local proc_ticks; proc_ticks=$(awk '{ print $14 + $15 }' "/proc/$RELAY_PID/stat" 2>/dev/null || echo 0)
  local elapsed_cpu; elapsed_cpu=$(calc "printf \"%.3f\", $(now) - $t0")
  s1=$(snap)
  # Peak resident memory over the whole drain (the kernel's high-water mark, VmHWM).
  RELAY_PEAK_MB=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$RELAY_PID/status" 2>/dev/null || echo "?")
  RELAY_DELIVERED=$(delivered_now)
  [[ -z $t_metric && $RELAY_DELIVERED != "?" && $RELAY_DELIVERED -ge $N ]] && t_metric=$(now)
  curl -sf --max-time 5 "http://127.0.0.1:$PORT/metrics" >"$RUN/metrics-end.prom" 2>/dev/null || true
  local pid; for pid in "${BG_PIDS[@]}"; do [[ $pid == "$top_job" || $pid == "$perf_pid" ]] || kill "$pid" 2>/dev/null || true; done
  kill -0 "$top_job" 2>/dev/null && { kill "$top_job" 2>/dev/null || true; }
  wait "$top_job" 2>/dev/null || true
  if [[ -n $perf_pid ]]; then wait "$perf_pid" 2>/dev/null || true; fi
  BG_PIDS=()
  stop_pid "$RELAY_PID" 60; RELAY_PID=""
  [[ -n $t_done ]] && RELAY_S=$(calc "printf \"%.2f\", $t_done - $t0")
  [[ -n $t_ready ]] && READY_S=$(calc "printf \"%.2f\", $t_ready - $t0")
  # The loop above asks /healthz only between two `outbox stats` polls (each a full scan, 1-3 s at N=1e6),
  # so its first answer says more about that poll than about the relay: the probe's own, when it ran, counts.
  local probed; probed=$(awk '$3 == 200 { printf "%.2f", $1 + $2; exit }' "$RUN/healthz-probes.txt")
  [[ -n $probed ]] && READY_S=$probed
  [[ -n $t_metric ]] && METRIC_DONE_S=$(calc "printf \"%.2f\", $t_metric - $t0")
  local hz; hz=$(getconf CLK_TCK)
  echo "    relay: $( [[ -n $t_done ]] && echo "0 pending after ${RELAY_S}s" || echo "NOT drained") (healthz after ${READY_S}s," \
    "delivered counter = $RELAY_DELIVERED, reached N after ${METRIC_DONE_S}s; peak RSS ${RELAY_PEAK_MB} MB); retries" \
    "$(python3 "$METRICS_PY" value "$RUN/metrics-end.prom" relay_deliveries_total destination=$DEST outcome=retry 2>/dev/null || echo "?"), dead" \
    "$(python3 "$METRICS_PY" value "$RUN/metrics-end.prom" relay_deliveries_total destination=$DEST outcome=dead 2>/dev/null || echo "?")"
  [[ -s $RUN/healthz-probes.txt ]] && echo "    /healthz probe (every ${HEALTHZ_EVERY}s): $(healthz_summary "$RUN/healthz-probes.txt")"
  echo "    relay polls (every 8th, s:pending/delivered): $(awk 'NR % 8 == 1 { printf "%s:%s/%s ", $1, $2, $3 } END { printf "%s:%s/%s (%d polls)", $1, $2, $3, NR }' "$RUN/drain-polls.txt")"
  echo "    during the relay drain: $(cpu_line "$s0" "$s1")"
  if [[ -s $RUN/thread-ticks.txt ]]; then
    echo "    relay CPU over the drain (${elapsed_cpu}s; cores = CPU s / wall s), by thread name:"
    awk -v hz="$hz" -v w="$elapsed_cpu" '{ name = $2; gsub(/#[0-9]+$/, "#*", name); c[name] += $3; n[name]++ }
      END { for (k in c) if (c[k] > 0) printf "%.2f %s %d %.1f\n", c[k] / hz / w, k, n[k], c[k] / hz }' "$RUN/thread-ticks.txt" |
      sort -rn | awk '{ printf "      %-22s %3d thr %7.1f s CPU  %5.2f cores\n", $2, $3, $4, $1 }'
    calc "printf \"      %-22s         %7.1f s CPU  %5.2f cores\\n\", \"process total\", $proc_ticks / $hz, $proc_ticks / $hz / $elapsed_cpu"
  fi
  if [[ -s $RUN/top-threads.txt ]]; then
    echo "    top -H ${TOP_AT}s into the drain (1 s sample; the line whose PID is the process id shows the whole process in this procps):"
    sed 's/^/      /' "$RUN/top-threads.txt"
  fi
  if [[ $PERF == 1 && -s $RUN/perf.data ]]; then
    echo "    perf: hottest symbols (self, ${PERF_SECONDS}s mid-drain):"
    perf report -i "$RUN/perf.data" --no-children --sort comm,dso,symbol --stdio 2>/dev/null |
      awk '/^ +[0-9.]+%/ && n++ < 25' | cut -c1-160 | sed 's/^/      /'
  fi
}

kcat_phase() { # topic -> KCAT_S
  local topic=$1 t0 t1 status=0 s0 s1
  KCAT_S="-"
  s0=$(snap)
  t0=$(now)
  (TIMEFORMAT='%U %S'; time timeout "$KCAT_TIMEOUT" kcat -P -b "$BOOT" -t "$topic" -K '\t' -l "$RUN/kcat-input.txt" \
     -X enable.idempotence=true -X acks=all -X linger.ms=5 -X compression.type=lz4 >"$RUN/kcat.log" 2>&1) 2>"$RUN/kcat-time.txt" &
  KCAT_JOB=$!
  wait "$KCAT_JOB" || status=$?
  KCAT_JOB=""
  t1=$(now)
  s1=$(snap)
  if [[ $status -ne 0 ]]; then
    echo "kafka-drain.sh: kcat -P failed (exit $status):" >&2; tail -n 10 "$RUN/kcat.log" >&2
    return 0
  fi
  KCAT_S=$(calc "printf \"%.2f\", $t1 - $t0")
  local kcat_cpu
  kcat_cpu=$(awk -v w="$KCAT_S" 'NF == 2 { printf "%.2f", ($1 + $2) / w }' "$RUN/kcat-time.txt" 2>/dev/null)
  echo "    kcat: ${KCAT_S}s for $N messages; kcat ${kcat_cpu:-?} cores, $(cpu_line "$s0" "$s1")$( [[ -s $RUN/kcat.log ]] && echo " (stderr: $(head -c 300 "$RUN/kcat.log" | tr '\n' ' '))")"
}

run_round() { # round
  local round=$1 tag order
  tag=$(run_tag)
  RUN="$WORK/round$round"
  mkdir -p "$RUN"
  case $ORDER in
    alternate) ((round % 2)) && order=relay-first || order=kcat-first ;;
    *) order=$ORDER ;;
  esac
  local relay_topic="bench.drain.relay.$tag" kcat_topic="bench.drain.kcat.$tag"
  echo "--- round $round ($order): N=$N, topics $relay_topic / $kcat_topic"
  start_mock || { FAILED=1; return 0; }
  write_kafka_routes "$BOOT" "$relay_topic" "$RUN/routes.yaml"
  create_schema || { FAILED=1; stop_pid "$MOCK_PID" 10; MOCK_PID=""; return 0; }
  local fill
  fill=$(python3 "$FILL_PY" --db "$RUN/data/outbox.sqlite" --n "$N" --keys "$KEYS" --seed "$round" \
           --kcat-out "$RUN/kcat-input.txt" --source "$SOURCE" --destination "$DEST" --route "$ROUTE") ||
    { echo "kafka-drain.sh: backlog fill failed" >&2; FAILED=1; stop_pid "$MOCK_PID" 10; MOCK_PID=""; return 0; }
  local ts0 ts1 pending0
  ts0=$(now); pending0=$(pending_now); ts1=$(now)
  echo "    backlog: $fill; outbox stats: $pending0 pending (one poll takes $(calc "printf \"%.2f\", $ts1 - $ts0")s)"
  [[ $pending0 == "$N" ]] || { echo "kafka-drain.sh: expected $N pending, outbox stats says $pending0" >&2; FAILED=1; }
  sync

  if [[ $order == relay-first ]]; then
    relay_phase "$relay_topic"; kcat_phase "$kcat_topic"
  else
    kcat_phase "$kcat_topic"; relay_phase "$relay_topic"
  fi
  local hwm_relay hwm_kcat
  hwm_relay=$(hwm_sum "$BOOT" "$relay_topic")
  hwm_kcat=$(hwm_sum "$BOOT" "$kcat_topic")
  stop_pid "$MOCK_PID" 10; MOCK_PID=""

  local relay_mps="-" relay_mps_ready="-" kcat_mps="-" ratio="-" verdict
  [[ $RELAY_S != "-" ]] && relay_mps=$(calc "printf \"%.0f\", $N / $RELAY_S")
  [[ $RELAY_S != "-" && $READY_S != "-" ]] && relay_mps_ready=$(calc "printf \"%.0f\", $N / ($RELAY_S - $READY_S)")
  [[ $KCAT_S != "-" ]] && kcat_mps=$(calc "printf \"%.0f\", $N / $KCAT_S")
  if [[ $relay_mps != "-" && $kcat_mps != "-" ]]; then
    ratio=$(calc "printf \"%.1f\", $relay_mps / $kcat_mps * 100")
    verdict=$(calc "print (($ratio >= $TARGET_PCT) ? \"PASS\" : \"MISS\")")
  else
    verdict=FAIL
  fi
  local hwm_ok=1
  [[ $hwm_relay =~ ^[0-9]+$ && $hwm_relay -ge $N ]] || hwm_ok=0
  [[ $hwm_kcat =~ ^[0-9]+$ && $hwm_kcat -ge $N ]] || hwm_ok=0
  [[ $RELAY_DELIVERED == "$N" ]] || hwm_ok=0
  if ((!hwm_ok)); then verdict="FAIL(count)"; fi
  [[ $verdict == PASS ]] || { [[ $verdict == MISS ]] && MISSED=1 || FAILED=1; }
  echo "    high-water marks: relay topic $hwm_relay, kcat topic $hwm_kcat (>= $N expected); relay $relay_mps msg/s, kcat $kcat_mps msg/s, ratio $ratio%"
  result_line kafka-drain "round=$round" metric=relay/kcat "relay=$relay_mps" "peer=$kcat_mps" unit=msg/s \
    "value=$( [[ $ratio == - ]] && echo - || calc "printf \"%.3f\", $ratio / 100")" "target=>=$(calc "print $TARGET_PCT / 100")" \
    "verdict=$( [[ $verdict == FAIL* ]] && echo FAIL || echo "$verdict")" "n=$N" "order=$order" "relay_peak_rss_mb=${RELAY_PEAK_MB:-?}"
  printf '%s\n' "$round	$N	$order	$RELAY_S	$relay_mps	$READY_S	$relay_mps_ready	$METRIC_DONE_S	$KCAT_S	$kcat_mps	$ratio	$hwm_relay	$hwm_kcat	$verdict" >>"$RESULTS"
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$RUN/data" "$RUN/kcat-input.txt" "$RUN/perf.data"; fi
}

# ---------------------------------------------------------------- main
echo "kafka-drain.sh: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); binary $BIN"
echo "kafka-drain.sh: binary built $(date -u -r "$BIN" '+%F %T UTC')$(git -C "$ROOT" log -1 --format=', HEAD %h (%ci)' 2>/dev/null || true)"
for ((round = 1; round <= ROUNDS; round++)); do
  run_round "$round"
done
echo
echo "=== Kafka drain: $N pending deliveries vs kcat -P (mock cluster, $BROKERS brokers; ROUNDS=$ROUNDS; POLL_WITH=$POLL_WITH) ==="
python3 "$METRICS_PY" drain-table "$RESULTS"
((FAILED)) && { echo "kafka-drain.sh: some rounds FAILED (see above)" >&2; exit 1; }
((MISSED)) && [[ ${STRICT:-0} == 1 ]] && exit 2
exit 0
