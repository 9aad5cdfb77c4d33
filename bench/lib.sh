# shellcheck shell=bash
# Helpers shared by bench/ingest.sh, kafka-e2e.sh, kafka-drain.sh and http-sink.sh; sourced, not run:
#   . "$(dirname "$0")/lib.sh"
# Messages start with "$SELF:" (the caller's name). Some helpers read the caller's globals:
# BIN (the relay binary), ROOT, RUN (the current run's dir), DEST, SOURCE, ROUTE, BROKERS, PORT,
# WORK; they set the globals named in their comment (MOCK_PID, BOOT, RELAY_PID, PORT).

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

# Exit 1 unless BIN is executable and has the mock-kafka subcommand.
# shellcheck disable=SC2153 # ROOT is the caller's, not a misspelt BOOT
require_mock_kafka_bin() {
  if [[ ! -x $BIN ]]; then
    echo "$SELF: $BIN missing; build it with" >&2
    echo "  swift build -c release --scratch-path $ROOT/.build-release --product audience-relay" >&2
    exit 1
  fi
  "$BIN" mock-kafka --help >/dev/null 2>&1 || { echo "$SELF: $BIN has no mock-kafka subcommand; rebuild it" >&2; exit 1; }
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

# Print the sum of the high-water marks over a topic's partitions (kcat), "?" when unreadable.
hwm_sum() { # bootstrap topic
  local boot=$1 topic=$2 parts args=() p
  parts=$(timeout 20 kcat -b "$boot" -L -t "$topic" 2>/dev/null | awk '/^ +partition [0-9]+,/ { sub(",", "", $2); print $2 }')
  [[ -n $parts ]] || { echo "?"; return 0; }
  for p in $parts; do args+=(-t "$topic:$p:-1"); done
  timeout 20 kcat -b "$boot" -Q "${args[@]}" 2>/dev/null | awk '/ offset / { n += $NF; k++ } END { if (k) print n; else print "?" }'
}

# Start `audience-relay mock-kafka --brokers $BROKERS` in $RUN; sets MOCK_PID and BOOT (bootstrap address).
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
launch_relay() {
  PORT=$(free_port)
  "$BIN" serve --config "$RUN/routes.yaml" --data-dir "$RUN/data" --listen "127.0.0.1:$PORT" \
    --log-level "${RELAY_LOG_LEVEL:-warning}" >>"$RUN/relay.log" 2>&1 &
  RELAY_PID=$!
}

# Let the relay create $RUN/data/outbox.sqlite: start it, wait for /healthz (30 s at most), stop it.
create_schema() {
  local i
  launch_relay
  for ((i = 0; i < 300; i++)); do
    kill -0 "$RELAY_PID" 2>/dev/null || break
    curl -sf --max-time 1 "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  stop_pid "$RELAY_PID" 30; RELAY_PID=""
  [[ -s $RUN/data/outbox.sqlite ]] || { echo "$SELF: the relay did not create $RUN/data/outbox.sqlite:" >&2; tail -n 20 "$RUN/relay.log" >&2; return 1; }
}
