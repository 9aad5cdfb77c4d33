# shellcheck shell=bash
# The setup shared by bench/ingest.sh, kafka-e2e.sh, kafka-drain.sh, http-sink.sh, export.sh and
# reliability.sh; sourced, not run:
#   . "$(dirname "$0")/lib.sh"
# Sourcing sets BENCH_DIR (this folder), ROOT (the repository), RELEASE_SCRATCH (the README's release
# build folder) and BIN (the relay binary: RELAY_BIN, else the release build's).
# Messages start with "$SELF:" (the caller's name). Some helpers read the caller's globals:
# RUN (the current run's dir), DEST, SOURCE, ROUTE, BROKERS, PORT, WORK, NGINX; they set the globals
# named in their comment (MOCK_PID, BOOT, RELAY_PID, PORT, NGINX_PID).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
RELEASE_SCRATCH="$ROOT/.build-release"
BIN=${RELAY_BIN:-"$RELEASE_SCRATCH/release/audience-relay"}

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
    echo "$SELF: $BIN missing; build it with" >&2
    echo "  swift build -c release --scratch-path $RELEASE_SCRATCH --product audience-relay" >&2
    exit 1
  fi
}

# Exit 1 unless BIN is executable and has the mock-kafka subcommand.
require_mock_kafka_bin() {
  require_bin
  "$BIN" mock-kafka --help >/dev/null 2>&1 || { echo "$SELF: $BIN has no mock-kafka subcommand; rebuild it" >&2; exit 1; }
}

# Build the release binary when BIN is the release build's and it is missing, REBUILD=1, or (with
# "stale") older than the newest file in Sources/; exit 1 when that fails. RELAY_BIN is never built.
# A cold build takes ~4-8 min on 2 cores; its log is $RELEASE_SCRATCH/bench-build.log.
ensure_release_bin() { # [stale]
  [[ -z ${RELAY_BIN:-} ]] || { [[ -x $BIN ]] || { echo "$SELF: RELAY_BIN=$RELAY_BIN is not executable" >&2; exit 1; }; return 0; }
  local why="" log="$RELEASE_SCRATCH/bench-build.log" newest
  if [[ ! -x $BIN ]]; then
    why="missing"
  elif [[ ${REBUILD:-0} == 1 ]]; then
    why="to be rebuilt (REBUILD=1)"
  elif [[ ${1:-} == stale ]]; then
    newest=$(find "$ROOT/Sources" -type f -printf '%T@\n' 2>/dev/null | sort -n | tail -n1)
    awk -v b="$(stat -c %Y "$BIN")" -v s="$newest" 'BEGIN { exit !(s > b) }' && why="older than Sources"
  fi
  [[ -n $why ]] || return 0
  mkdir -p "$RELEASE_SCRATCH"
  echo "$SELF: $BIN is $why; building it (SwiftPM waits for another build of the same scratch path; log: $log)" >&2
  if ! (cd "$ROOT" && timeout 1800 swift build -c release --scratch-path "$RELEASE_SCRATCH" --product audience-relay) >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "$SELF: release build failed (full log: $log)" >&2
    exit 1
  fi
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

# Write a routing table: $SOURCE (sitecore-export) routed as $ROUTE to the Kafka destination $DEST.
write_kafka_routes() { # bootstrap topic file
  cat >"$3" <<EOF
# Generated by bench/$SELF: the Sitecore path of routes/routes.yaml, to a standalone mock cluster.
version: 1
sources:
  $SOURCE:
    kind: sitecore-export
    path: /hooks/sitecore
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
