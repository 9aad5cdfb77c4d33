#!/usr/bin/env python3
"""Waits for an export job of bench/export.sh to finish, reading the relay's outbox read-only.

  export-poll.py --db DATA/outbox.sqlite --ref EXECUTION_REF --pid RELAY_PID
                 [--interval 0.2] [--timeout 900] [--progress 5] [--trace FILE]

Every INTERVAL s: `SELECT state, records_sent, bytes_received, last_error FROM export_jobs WHERE
execution_ref = ?` (a `mode=ro` connection; the relay's WAL lets it read while the relay writes)
and VmRSS/VmHWM of the relay from /proc/PID/status. One process for the whole wait, so polling
costs ~1-2% of a core instead of a python start-up every 0.2 s. Stops when the job is done (2) or
dead (3), the relay is gone, or TIMEOUT s have passed.

Prints a progress line to stderr every PROGRESS s, appends every poll to TRACE (if given), and at the
end prints one line to stdout:
  RESULT state=done|dead|pending|missing|timeout|relay-exited t_end=EPOCH polls=N records=N bytes=N
         malformed=N dead=N rss_max_kib=N hwm_kib=N error=TEXT
t_end is the wall clock of the poll that saw the final state (within INTERVAL of the real end).
"""
import argparse
import os
import sqlite3
import sys
import time

STATES = {0: "pending", 2: "done", 3: "dead"}


def proc_mem(pid):
    rss = hwm = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--ref", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--progress", type=float, default=5)
    p.add_argument("--trace")
    a = p.parse_args()

    t0 = time.time()
    deadline = t0 + a.timeout
    trace = open(a.trace, "w") if a.trace else None
    conn = None
    polls = 0
    rss_max = 0
    hwm = 0
    row = None
    state = "missing"
    last_progress = t0
    while True:
        now = time.time()
        rss, h = proc_mem(a.pid)
        if rss is None:
            state = "relay-exited"
            break
        rss_max = max(rss_max, rss)
        hwm = max(hwm, h or 0)
        try:
            if conn is None and os.path.exists(a.db):
                conn = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True, timeout=2)
            if conn is not None:
                row = conn.execute(
                    "SELECT state, records_sent, bytes_received, records_malformed, records_dead, last_error "
                    "FROM export_jobs WHERE execution_ref = ?", (a.ref,)).fetchone()
        except sqlite3.Error as e:  # busy or mid-checkpoint: try again next poll
            print("export-poll: %s" % e, file=sys.stderr)
        polls += 1
        if row is not None:
            state = STATES.get(row[0], str(row[0]))
        if trace:
            trace.write("%.3f %s %s %s %d\n" % (now - t0, state, row[1] if row else "-", row[2] if row else "-", rss))
        if now - last_progress >= a.progress:
            last_progress = now
            print("      %6.1fs  %-7s records %-9s bytes %-11s rss %4d MiB%s" % (
                now - t0, state, row[1] if row else "-", row[2] if row else "-", rss // 1024,
                ("  last_error: %s" % row[5][:150]) if row and row[5] else ""), file=sys.stderr, flush=True)
        if state in ("done", "dead"):
            break
        if now > deadline:
            state = "timeout"
            break
        time.sleep(a.interval)
    t_end = time.time() if state not in ("done", "dead") else now
    error = (row[5] if row and row[5] else "-").replace("\n", " ")
    print("RESULT state=%s t_end=%.6f polls=%d records=%s bytes=%s malformed=%s dead=%s rss_max_kib=%d hwm_kib=%d error=%s" % (
        state, t_end, polls, row[1] if row else 0, row[2] if row else 0, row[3] if row else 0, row[4] if row else 0,
        rss_max, hwm, error))
    if trace:
        trace.close()


if __name__ == "__main__":
    sys.exit(main())
