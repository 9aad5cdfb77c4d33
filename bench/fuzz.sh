#!/usr/bin/env bash
# Fuzzing: libFuzzer runs of payload validation (fuzz-payload) and the routing-table loader (fuzz-routes),
# each bounded in time, with their coverage, speed and memory.
#
#   bench/fuzz.sh                          # both targets, FUZZ_SECONDS=60 each
#   FUZZ_SECONDS=10 bench/fuzz.sh fuzz-routes
#
# Builds both targets once into FUZZ_SCRATCH (default .build-fuzz; release, -sanitize=fuzzer,address,
# -DRELAY_FUZZING, linked by lld; ~4 min cold on 2 cores, seconds when nothing changed). Each target runs
# for FUZZ_SECONDS with -rss_limit_mb=FUZZ_RSS_MB and -timeout=FUZZ_TIMEOUT on a working corpus
# (FUZZ_SCRATCH/corpus/NAME, kept between runs) seeded from the checked-in fuzz/corpus/NAME, and the
# script prints its executions, exec/s, coverage (cov = edges, ft = features), corpus size and RSS after
# loading the corpus, once warmed up (at a tenth of the executions) and at the end (peak). libFuzzer
# mutates with fuzz/NAME.dict too. A crash, a broken invariant (the entry points trap on one), a hang, a
# leak or RSS over the limit fails the run, and libFuzzer's input for it is kept in
# FUZZ_SCRATCH/artifacts/NAME/ with the command that replays it. So does memory that is not flat: RSS at
# the end more than FUZZ_RSS_GROWTH_MB (default 32) above RSS once warmed up.
#
# Environment: FUZZ_SECONDS (default 60), FUZZ_RSS_MB (512), FUZZ_TIMEOUT (s per input, 10),
#   FUZZ_RSS_GROWTH_MB (32), FUZZ_SCRATCH (.build-fuzz), BUILD_LOCK (a file to `flock` around the build,
#   for machines whose builds take turns; default none), KEEP_LOGS=1 (print where the libFuzzer logs are).
# Output ends with one line for bench/run (RSS warmed up and at the end, the largest of the targets'):
#   RESULT name=fuzz targets=2 execs=N crashes=N rss_start_mb=N rss_end_mb=N status=PASS|FAIL
# Exit: 0 PASS; 1 a crash, a failed build or memory that grew; 64 bad arguments.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

SELF=fuzz.sh
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_RSS_MB=${FUZZ_RSS_MB:-512}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_RSS_GROWTH_MB=${FUZZ_RSS_GROWTH_MB:-32}
SCRATCH=${FUZZ_SCRATCH:-"$ROOT/.build-fuzz"}
ALL_TARGETS=(fuzz-payload fuzz-routes)
require_positive_ints FUZZ_SECONDS FUZZ_RSS_MB FUZZ_TIMEOUT FUZZ_RSS_GROWTH_MB

TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "$SELF: unknown target '$t' (targets: ${ALL_TARGETS[*]})" >&2; exit 64; }
done

FUZZ_JOB=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  kill_job "$FUZZ_JOB"
  exit "$status"
}
set_traps

fail_result() { # crashes
  echo "RESULT name=fuzz targets=${#TARGETS[@]} execs=0 crashes=$1 rss_start_mb=0 rss_end_mb=0 status=FAIL"
  exit 1
}

# Build every target (SwiftPM builds one product per call; the second only links).
mkdir -p "$SCRATCH"
build_log="$SCRATCH/fuzz-build.log"
build_started=$(now)
: >"$build_log"
for t in "${TARGETS[@]}"; do
  build=(swift build -c release --scratch-path "$SCRATCH" --product "$t"
    -Xswiftc "-sanitize=fuzzer,address" -Xswiftc -DRELAY_FUZZING -Xswiftc -use-ld=lld)
  [[ -z ${BUILD_LOCK:-} ]] || build=(flock "$BUILD_LOCK" "${build[@]}")
  if ! (cd "$ROOT" && timeout 1800 "${build[@]}") >>"$build_log" 2>&1; then
    grep -v "Cannot export local symbol" "$build_log" | tail -n 30 >&2
    echo "$SELF: fuzz build of $t failed (full log: $build_log)" >&2
    fail_result 0
  fi
done
echo "$SELF: built ${TARGETS[*]} in $(calc "printf \"%.1f\", $(now) - $build_started") s ($SCRATCH/release; log: $build_log)"

total_execs=0 total_crashes=0 max_rss_start=0 max_rss_end=0 status=PASS
for t in "${TARGETS[@]}"; do
  name=${t#fuzz-}
  seeds="$ROOT/fuzz/corpus/$name"
  corpus="$SCRATCH/corpus/$name"
  artifacts="$SCRATCH/artifacts/$name"
  log="$SCRATCH/$t.log"
  mkdir -p "$corpus" "$artifacts"
  marker="$SCRATCH/.started-$t"
  touch "$marker"
  run_started=$(now)
  set +e
  # Swift's backtracer would take the fatal signal first; libFuzzer must see it to save the input.
  # A small ASan quarantine keeps use-after-free detection without letting it pass for memory growth.
  # Known leaks outside this repository are listed, with their reasons, in fuzz/lsan.supp.
  (SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=quarantine_size_mb=16:detect_leaks=1 \
    LSAN_OPTIONS="suppressions=$ROOT/fuzz/lsan.supp:print_suppressions=0" \
    timeout -k 10 $((FUZZ_SECONDS + 120)) "$SCRATCH/release/$t" "$corpus" "$seeds" \
    -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" -timeout="$FUZZ_TIMEOUT" \
    -dict="$ROOT/fuzz/$name.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1) &
  FUZZ_JOB=$!
  wait "$FUZZ_JOB"
  rc=$?
  FUZZ_JOB=""
  set -e
  seconds=$(calc "printf \"%.0f\", $(now) - $run_started")

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  rss_end=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n1)
  rss_init=$(sed -n 's/.*INITED .* rss: \([0-9]*\)Mb.*/\1/p' "$log" | head -n1)
  # RSS once warmed up: the first status line after a tenth of the executions (the ASan quarantine and
  # the allocator's caches fill during the first seconds; growth after that is what "flat" is about).
  rss_start=$(awk -v n="$((${execs:-0} / 10))" '/^#[0-9]+.* rss: / { c = substr($1, 2) + 0; if (c >= n) { for (i = 1; i < NF; i++) if ($i == "rss:") { sub("Mb", "", $(i + 1)); print $(i + 1); exit } } }' "$log")
  last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -n1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  new_units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n1)
  mapfile -t kept < <(find "$artifacts" -type f -newer "$marker")
  crashes=${#kept[@]}
  ((rc == 0 || crashes > 0)) || crashes=1 # died without saving an input (e.g. killed by the outer timeout)

  printf '%s: %s s, %s execs (%s/s), cov %s ft %s, corpus %s (+%s new), rss %s MB at init, %s warmed up, %s at end, crashes %s\n' \
    "$t" "$seconds" "${execs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${new_units:-0}" \
    "${rss_init:-?}" "${rss_start:-?}" "${rss_end:-?}" "$crashes"
  if ((crashes > 0)); then
    status=FAIL
    { grep -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|Swift runtime failure|Fatal error|invariant broken|broken:' "$log" | head -n 6
      grep -m 3 '/Sources/' "$log"; } | cut -c1-300 | sed 's/^/  /' || true
    for a in "${kept[@]}"; do
      echo "  input kept: $a"
      echo "  replay: $SCRATCH/release/$t $a   (or: swift build --product $t && .build/debug/$t $a)"
      echo "  then keep it as a regression input: cp $a fuzz/corpus/$name/regression-NAME"
    done
    echo "  libFuzzer log: $log"
  elif [[ -n ${rss_start:-} && -n ${rss_end:-} ]] && ((rss_end > rss_start + FUZZ_RSS_GROWTH_MB)); then
    status=FAIL
    echo "  memory not flat: RSS grew by $((rss_end - rss_start)) MB (limit $FUZZ_RSS_GROWTH_MB); libFuzzer log: $log"
  elif [[ ${KEEP_LOGS:-0} == 1 ]]; then
    echo "  libFuzzer log: $log"
  fi
  total_execs=$((total_execs + ${execs:-0}))
  total_crashes=$((total_crashes + crashes))
  ((${rss_start:-0} <= max_rss_start)) || max_rss_start=${rss_start:-0}
  ((${rss_end:-0} <= max_rss_end)) || max_rss_end=${rss_end:-0}
done

echo "RESULT name=fuzz targets=${#TARGETS[@]} execs=$total_execs crashes=$total_crashes rss_start_mb=$max_rss_start rss_end_mb=$max_rss_end status=$status"
[[ $status == PASS ]]
