# shellcheck shell=bash
# The setup shared by bench/run and the benchmarks it runs (ingest.sh, kafka-e2e.sh, kafka-drain.sh,
# http-sink.sh, export.sh, reliability.sh); sourced, not run:
#   . "$(dirname "$0")/lib.sh"
# Sourcing sets BENCH_DIR (this folder), ROOT (the repository), RELEASE_DIR (the README's release build,
# `swift build -c release` into .build/release), BIN (the relay binary: RELAY_BIN, else the release
# build's), PEER_BIN (the bare Hummingbird peer: HUMMINGBIRD_BIN, else the release build's) and VENV
# (bench/.venv, the Python peer's and the chart's virtualenv).
# Messages start with "$SELF:" (the caller's name). Some helpers read the caller's globals:
# RUN (the current run's dir), DEST, SOURCE, ROUTE, BROKERS, PORT, WORK, NGINX; they set the globals
# named in their comment (MOCK_PID, BOOT, RELAY_PID, PORT, NGINX_PID).
# Every benchmark prints its figures as lines `RESULT name=NAME key=value ...` for bench/run (see
# result_line below and bench/README.md).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
RELEASE_DIR="$ROOT/.build/release"
BIN=${RELAY_BIN:-"$RELEASE_DIR/audience-relay"}
PEER_BIN=${HUMMINGBIRD_BIN:-"$RELEASE_DIR/bench-hummingbird-peer"}
VENV="$BENCH_DIR/.venv"

# Exit 64 unless every named variable holds a positive integer.
require_positive_ints() {
  local v
  for v in "$@"; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || { echo "$SELF: $v must be a positive integer (got '${!v}')" >&2; exit 64; }
  done
}

# Exit 1 unless every tool after $1 is on PATH; $1 is a hint for the message ("" for none).
require_tools() {
  local hint=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$SELF: $tool is required${hint:+ ($hint)}" >&2; exit 1; }
  done
}

# Exit 1 unless BIN is executable, saying how to build it.
require_bin() {
  if [[ ! -x $BIN ]]; then
    echo "$SELF: $BIN missing; build it with (in $ROOT)" >&2
    echo "  swift build -c release --product audience-relay" >&2
    exit 1
  fi
}

# Exit 1 unless BIN is executable and has the mock-kafka subcommand.
require_mock_kafka_bin() {
  require_bin
  "$BIN" mock-kafka --help >/dev/null 2>&1 || { echo "$SELF: $BIN has no mock-kafka subcommand; rebuild it" >&2; exit 1; }
}

# `swift build -c release --product PRODUCT` in ROOT (the README's release build, .build/release), under
# `flock BUILD_LOCK` when BUILD_LOCK names a lock file (machines that serialise their builds); exit 1
# when it fails. A cold build takes ~4-8 min on 2 cores; its log is .build/bench-build-PRODUCT.log.
build_release_product() { # product why
  local log="$ROOT/.build/bench-build-$1.log" lock=()
  [[ -n ${BUILD_LOCK:-} ]] && lock=(flock "$BUILD_LOCK")
  mkdir -p "$ROOT/.build"
  echo "$SELF: $RELEASE_DIR/$1 is $2; building it (log: $log)" >&2
  if ! (cd "$ROOT" && timeout 1800 "${lock[@]}" swift build -c release --product "$1") >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "$SELF: release build of $1 failed (full log: $log)" >&2
    exit 1
  fi
}

# Why the release build of a product should be (re)built ("" when it need not): missing, REBUILD=1, or
# (with "stale") older than the newest file under the given source folder.
release_build_reason() { # binary [stale source_dir]
  local newest
  if [[ ! -x $1 ]]; then
    echo "missing"
  elif [[ ${REBUILD:-0} == 1 ]]; then
    echo "to be rebuilt (REBUILD=1)"
  elif [[ ${2:-} == stale ]]; then
    newest=$(find "$3" -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -n1)
    awk -v b="$(stat -c %Y "$1")" -v s="${newest:-0}" 'BEGIN { exit !(s > b) }' && echo "older than ${3#"$ROOT"/}"
  fi
  return 0
}

# Build the relay's release binary when BIN is the release build's and it is missing, REBUILD=1, or
# (with "stale") older than the newest file in Sources/. RELAY_BIN is never built, only checked.
ensure_release_bin() { # [stale]
  [[ -z ${RELAY_BIN:-} ]] || { [[ -x $BIN ]] || { echo "$SELF: RELAY_BIN=$RELAY_BIN is not executable" >&2; exit 1; }; return 0; }
  local why; why=$(release_build_reason "$BIN" "${1:-}" "$ROOT/Sources")
  [[ -z $why ]] || build_release_product audience-relay "$why"
}

# The same for the bare Hummingbird peer (bench/peers/hummingbird); HUMMINGBIRD_BIN is never built.
ensure_peer_bin() {
  [[ -z ${HUMMINGBIRD_BIN:-} ]] || { [[ -x $PEER_BIN ]] || { echo "$SELF: HUMMINGBIRD_BIN=$HUMMINGBIRD_BIN is not executable" >&2; exit 1; }; return 0; }
  local why; why=$(release_build_reason "$PEER_BIN" stale "$BENCH_DIR/peers/hummingbird")
  [[ -z $why ]] || build_release_product bench-hummingbird-peer "$why"
}

# Make bench/.venv (python3 -m venv) with the packages of bench/requirements.txt (the Python peer relay
# and the chart) unless it already imports them; exit 1 with the reason when pip cannot install them.
ensure_venv() {
  local check="import aiohttp, confluent_kafka, matplotlib"
  [[ -x $VENV/bin/python ]] && "$VENV/bin/python" -c "$check" 2>/dev/null && return 0
  echo "$SELF: installing the Python peer's and the chart's packages into $VENV (pip, bench/requirements.txt)" >&2
  local log="$BENCH_DIR/.venv-install.log"
  if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$BENCH_DIR/requirements.txt"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "$SELF: cannot install aiohttp, confluent-kafka and matplotlib into $VENV (log: $log): pip needs PyPI" \
      "or a mirror of it (pip config list); remove $VENV to start over" >&2
    exit 1
  fi
  "$VENV/bin/python" -c "$check" || { echo "$SELF: $VENV cannot import them after pip install (log: $log)" >&2; exit 1; }
}

# Print one machine-readable result line for bench/run: `RESULT name=NAME key=value ...` (spaces in
# values become "_"). Keys bench/run reads: name (the benchmark), round, metric, value, unit, target
# (">=1.5", "<20", "<=0.6"; free text when the script decides), verdict (PASS | MISS | FAIL); a line
# with a target and a verdict is a row of RESULTS.md's table. A metric with a "/" is a ratio of
# relay=FIGURE to peer=FIGURE (both in unit); otherwise value is in unit. Other keys are shown as
# they are.
result_line() { # name key=value...
  local line="RESULT name=$1" kv
  shift
  for kv in "$@"; do line+=" ${kv// /_}"; done
  echo "$line"
}

# PASS when the value meets the target (">=X", ">X", "<=X", "<X"), MISS when not, FAIL when it is no number.
verdict_of() { # value target
  [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || { echo FAIL; return 0; }
  awk -v v="$1" -v t="$2" 'BEGIN {
    if (t ~ /^>=/) ok = v >= substr(t, 3) + 0; else if (t ~ /^<=/) ok = v <= substr(t, 3) + 0
    else if (t ~ /^>/) ok = v > substr(t, 2) + 0; else if (t ~ /^</) ok = v < substr(t, 2) + 0; else ok = 0
    print ok ? "PASS" : "MISS" }'
}

# Install Debian packages quietly (apt-get update only when the plain install fails); false when it fails.
apt_install() { # package...
  echo "$SELF: installing $*" >&2
  { apt-get install -y "$@" || { apt-get update && apt-get install -y "$@"; }; } >/dev/null 2>&1
}

# Print the nginx binary's path ("" when there is none).
nginx_path() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }

# Start $NGINX in the background with DIR/nginx.conf (logs in DIR); sets NGINX_PID (the master).
nginx_launch() { # dir
  "$NGINX" -p "$1" -c "$1/nginx.conf" -e "$1/error.log" >"$1/stdout.log" 2>&1 &
  NGINX_PID=$!
}

# Print the pid of an nginx master's (first) worker.
nginx_worker() { ps -o pid= --ppid "$1" | awk 'NR == 1 { print $1 }'; }

# Print the temp-path directives of an nginx http block that keep every file inside DIR/tmp.
nginx_temp_paths() { # dir
  printf '  %s_temp_path %s;\n' client_body "$1/tmp/body" proxy "$1/tmp/proxy" fastcgi "$1/tmp/fastcgi" \
    uwsgi "$1/tmp/uwsgi" scgi "$1/tmp/scgi"
}

# Poll every 0.1 s until the command succeeds (0), or the process has exited or the seconds have
# passed (1).
wait_until() { # pid seconds command...
  local pid=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

# True when http://127.0.0.1:PORT/PATH answers 2xx within a second.
http_ok() { curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$1$2" 2>/dev/null; }

# Print the status of GET http://127.0.0.1:PORT/PATH (000 when nothing answers within a second); with a
# file, the body goes there.
http_status() { # port path [body_file]
  curl -s -o "${3:-/dev/null}" -w '%{http_code}' --max-time 1 "http://127.0.0.1:$1$2" 2>/dev/null || true
}

# Install the traps: the caller's cleanup on exit, exit 130 on SIGINT and 143 on SIGTERM.
set_traps() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Delete the temp dir WORK (if any), or keep it and say so when KEEP=1.
remove_work() {
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ ${KEEP:-0} == 1 ]]; then echo "$SELF: kept $WORK" >&2; else rm -rf "$WORK"; fi
  fi
}

# SIGTERM a background job (a subshell running `timeout cmd`, which passes it on) and its children.
kill_job() { # job_pid ("" = none)
  [[ -n $1 ]] || return 0
  pkill -TERM -P "$1" 2>/dev/null || true
  kill -TERM "$1" 2>/dev/null || true
}

# SIGTERM a process, wait up to the given seconds (default 30) for it to exit, then SIGKILL it.
stop_pid() { # pid seconds
  local pid=$1 secs=${2:-30} i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && { echo "$SELF: $pid ignored SIGTERM for ${secs}s; killing it" >&2; kill -KILL "$pid" 2>/dev/null || true; }
  wait "$pid" 2>/dev/null || true
}

# Print a free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# Print 8 random hex digits (tags a run's requests, names its topics).
run_tag() { od -An -N4 -tx4 /dev/urandom | tr -d ' \n'; }

# Print the wall clock in seconds with microseconds.
now() { echo "$EPOCHREALTIME"; }

# Run an awk BEGIN block, e.g. calc 'printf "%.2f", 1 / 3'.
calc() { awk "BEGIN { $1 }"; }

# Print the value of key=value in a line of space-separated pairs.
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1"; }

# Print the user+system CPU ticks of a process (0 when it is gone).
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# Print the machine's CPU ticks from /proc/stat as "busy idle+iowait".
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

# Print the per-thread CPU of a process as "tid comm ticks" lines.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    awk '{ s = $0; sub(/^[0-9]+ \(/, "", s); comm = substr(s, 1, index(s, ") ") - 1); sub(/^.*\) /, "", s); split(s, f, " ");
           gsub(/ /, "_", comm); print FILENAME, comm, f[12] + f[13] }' "$t/stat" 2>/dev/null || true
  done | sed 's|^/proc/[0-9]*/task/\([0-9]*\)/stat|\1|'
}

# Print the pending deliveries of $DEST in $RUN/data per `outbox stats`, "?" when unreadable.
pending_now() {
  local out
  out=$("$BIN" outbox stats --data-dir "$RUN/data" 2>/dev/null) || { echo "?"; return 0; }
  awk -v d="$DEST" '$1 == d { print $2; found = 1 } END { if (!found) print 0 }' <<<"$out"
}

# Print the pending deliveries of every destination in $RUN/data together per `outbox stats`, "?" when
# unreadable.
pending_all() {
  local out
  out=$("$BIN" outbox stats --data-dir "$RUN/data" 2>/dev/null) || { echo "?"; return 0; }
  awk 'NR > 1 && $2 ~ /^[0-9]+$/ { n += $2 } END { print n + 0 }' <<<"$out"
}

# Write every message's headers in a topic, from the beginning to its current end, one kcat `%h` line
# per message (`name=value,name=value`) to FILE; false when kcat fails or takes over 60 s.
topic_headers() { # bootstrap topic file
  timeout 60 kcat -b "$1" -C -t "$2" -o beginning -e -q -f '%h\n' >"$3" 2>/dev/null
}

# Print the sum of the high-water marks over a topic's partitions (kcat), "?" when unreadable.
hwm_sum() { # bootstrap topic
  local boot=$1 topic=$2 parts args=() p
  parts=$(timeout 20 kcat -b "$boot" -L -t "$topic" 2>/dev/null | awk '/^ +partition [0-9]+,/ { sub(",", "", $2); print $2 }')
  [[ -n $parts ]] || { echo "?"; return 0; }
  for p in $parts; do args+=(-t "$topic:$p:-1"); done
  timeout 20 kcat -b "$boot" -Q "${args[@]}" 2>/dev/null | awk '/ offset / { n += $NF; k++ } END { if (k) print n; else print "?" }'
}

# Start `audience-relay mock-kafka --brokers $BROKERS` in $RUN; sets MOCK_PID and BOOT (bootstrap address).
# `mock_brokers down|up` then takes all its brokers down or up (SIGUSR1 / SIGUSR2).
start_mock() {
  "$BIN" mock-kafka --brokers "$BROKERS" >"$RUN/mock.boot" 2>"$RUN/mock.log" &
  MOCK_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $RUN/mock.boot ]] && break
    kill -0 "$MOCK_PID" 2>/dev/null || break
    sleep 0.1
  done
  BOOT=$(head -n1 "$RUN/mock.boot" 2>/dev/null || true)
  [[ -n $BOOT ]] || { echo "$SELF: mock-kafka printed no bootstrap address" >&2; cat "$RUN/mock.log" >&2; return 1; }
}

# Take every broker of the mock cluster MOCK_PID down or bring them back up; mock-kafka logs it in
# $RUN/mock.log.
mock_brokers() { # down|up
  case $1 in
    down) kill -USR1 "$MOCK_PID" ;;
    up) kill -USR2 "$MOCK_PID" ;;
    *) echo "$SELF: mock_brokers down|up (got '$1')" >&2; return 64 ;;
  esac
}

# The `sources:` block of a generated routing table: one Sitecore source named $SOURCE; with "export",
# its exports may be fetched from loopback over plain HTTP.
sources_yaml() { # [export]
  printf 'sources:\n  %s:\n    kind: sitecore-export\n    path: /hooks/sitecore\n' "$SOURCE"
  if [[ ${1:-} == export ]]; then
    printf '    export:\n      allowHosts: [127.0.0.1]\n      allowPlainHTTP: [127.0.0.1]\n      allowPrivateAddresses: [127.0.0.1]\n'
  fi
}

# Write a routing table: $SOURCE (sitecore-export) routed as $ROUTE to the Kafka destination $DEST.
write_kafka_routes() { # bootstrap topic file
  cat >"$3" <<EOF
# Generated by bench/$SELF: the Sitecore path of routes/routes.yaml, to a standalone mock cluster.
version: 1
$(sources_yaml)
destinations:
  $DEST:
    type: kafka
    brokers: "$1"
    topic: $2
routes:
  - name: $ROUTE
    source: $SOURCE
    to: $DEST
    headers:
      client-key: "{{clientKey}}"
EOF
}

# Start `serve` with $RUN/routes.yaml and $RUN/data on a free port (log level RELAY_LOG_LEVEL, default
# warning); sets RELAY_PID, PORT (does not wait).
launch_relay() { launch_relay_on "$(free_port)"; }

# The same on the given port (a restart on the same address, after a kill, say).
launch_relay_on() { # port
  PORT=$1
  "$BIN" serve --config "$RUN/routes.yaml" --data-dir "$RUN/data" --listen "127.0.0.1:$PORT" \
    --log-level "${RELAY_LOG_LEVEL:-warning}" >>"$RUN/relay.log" 2>&1 &
  RELAY_PID=$!
}

# Let the relay create $RUN/data/outbox.sqlite: start it, wait for /healthz (30 s at most), stop it.
create_schema() {
  launch_relay
  wait_until "$RELAY_PID" 30 http_ok "$PORT" /healthz || true
  stop_pid "$RELAY_PID" 30; RELAY_PID=""
  [[ -s $RUN/data/outbox.sqlite ]] || { echo "$SELF: the relay did not create $RUN/data/outbox.sqlite:" >&2; tail -n 20 "$RUN/relay.log" >&2; return 1; }
}
