#!/usr/bin/env python3
"""Watches a relay drain its backlog, cheaply: one process and one keep-alive connection for the whole
drain, instead of a curl, an awk and a sleep forked per poll (those took ~11 ms of CPU each, 0.05-0.1 of
the 2 cores at 5 polls/s, taken from the relay in the middle of the run it is timed on).

  drain-watch.py --port PORT --destination NAME --target N --t0 EPOCHSECONDS --out POLLS
                 [--interval 0.05] [--timeout 600] [--pid RELAY_PID]

Polls http://127.0.0.1:PORT/healthz until it answers, then /metrics every --interval seconds, summing
relay_deliveries_total{destination=NAME} by outcome. Appends "seconds_since_t0 - delivered" per poll to
POLLS (the format of bench/http-sink.sh's drain-polls.txt). Stops when the delivered counter reaches
--target, when --pid has exited, or after --timeout seconds from --t0.
Prints: WATCH ready=S reached=S delivered=D retry=R dead=X   (S in seconds since --t0, "-" when never)
"""
import argparse
import http.client
import os
import re
import sys
import time

SAMPLE = re.compile(r'^relay_deliveries_total\{([^}]*)\}\s+(\S+)')


def alive(pid):
    if not pid:
        return True
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Relay:
    """GETs on one connection, made again after any failure."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, path):
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            self.conn.request("GET", path)
            response = self.conn.getresponse()
            body = response.read()
            return body.decode("utf-8", "replace") if response.status == 200 else None
        except (OSError, http.client.HTTPException):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None


def outcomes(metrics, destination):
    """relay_deliveries_total of one destination by outcome."""
    totals = {}
    wanted = f'destination="{destination}"'
    for line in metrics.splitlines():
        match = SAMPLE.match(line)
        if not match or wanted not in match.group(1):
            continue
        outcome = re.search(r'outcome="([^"]*)"', match.group(1))
        if outcome:
            totals[outcome.group(1)] = totals.get(outcome.group(1), 0) + int(float(match.group(2)))
    return totals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--destination", required=True)
    ap.add_argument("--target", type=int, required=True)
    ap.add_argument("--t0", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--pid", type=int, default=0)
    args = ap.parse_args()

    relay = Relay(args.port)
    ready = reached = None
    totals = {}
    with open(args.out, "a", buffering=1) as polls:
        while alive(args.pid) and time.time() - args.t0 < args.timeout:
            if ready is None:
                if relay.get("/healthz") is not None:
                    ready = time.time() - args.t0
                else:
                    time.sleep(args.interval)
                    continue
            metrics = relay.get("/metrics")
            at = time.time() - args.t0
            if metrics is not None:
                totals = outcomes(metrics, args.destination)
            delivered = totals.get("delivered", "?") if metrics is not None else "?"
            polls.write(f"{at:.3f} - {delivered}\n")
            if metrics is not None and totals.get("delivered", 0) >= args.target:
                reached = at
                break
            time.sleep(args.interval)

    def show(value):
        return "-" if value is None else f"{value:.3f}"
    print(f"WATCH ready={show(ready)} reached={show(reached)} delivered={totals.get('delivered', 0)} "
          f"retry={totals.get('retry', 0)} dead={totals.get('dead', 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
