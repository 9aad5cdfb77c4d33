#!/usr/bin/env python3
"""The load generator of bench/reliability.sh: posts Sitecore notifications, each with a fresh
executionRef, and writes down every one the relay acknowledged.

  reliability-load.py --url http://127.0.0.1:PORT/hooks/sitecore --accepted FILE
                      [--rate 300] [--workers 8] [--keys 64] [--retry-for 5] [--seconds 600]

Each worker sends its events one after another over a keep-alive connection, paced so that all
workers together send about RATE new events per second. An event is sent again (the same body, as a
sender would) after a connection error, a timeout or a 503, with a short back-off, for up to
RETRY_FOR seconds; then it is given up (never acknowledged, so owed nothing). Every 200 appends
`executionRef eventId duplicate` to FILE, flushed at once: FILE is the list of events the relay
promised to deliver. A 200 answering `duplicate: true` is a re-send of an event whose first answer
was lost (a kill landed between the commit and the answer).

Runs for SECONDS or until SIGTERM/SIGINT; then starts no new event, gives the ones in flight at
most RETRY_FOR seconds, and prints one line:
  LOAD sent=N accepted=N acked_duplicates=N gave_up=N s200=N s503=N conn_errors=N other=N
and, when any, the statuses of the `other` answers.
"""
import argparse
import http.client
import json
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter


class Totals:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.out = open(path, "a", buffering=1)
        self.c = Counter()
        self.other = Counter()

    def add(self, name, n=1):
        with self.lock:
            self.c[name] += n

    def accepted(self, ref, event_id, duplicate):
        with self.lock:
            self.c["accepted"] += 1
            if duplicate:
                self.c["acked_duplicates"] += 1
            self.out.write("%s %s %d\n" % (ref, event_id, 1 if duplicate else 0))


def body(ref, friendly_id):
    return json.dumps({
        "apiUrl": "https://api.example.com/v2/audienceExports/exports/%s/download" % ref,
        "audienceExportName": "Reliability run", "clientKey": "pqsDATA3lw12v5a9rrHPW1c4hET73GxQ",
        "definitionType": "DELTA", "executionRef": ref, "executionType": "INSTANT_RUN",
        "friendlyId": friendly_id, "segmentName": "Reliability", "status": "PENDING_SEGMENTATION",
    }).encode()


def worker(index, a, totals, stop, per_worker_rate):
    url = urllib.parse.urlsplit(a.url)
    conn = None
    interval = 1.0 / per_worker_rate if per_worker_rate > 0 else 0
    next_at = time.monotonic()
    n = 0
    while not stop.is_set():
        if interval:
            delay = next_at - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            next_at = max(next_at + interval, time.monotonic() - 1.0)
        ref = str(uuid.uuid4())
        payload = body(ref, "rel_%d" % ((index * 7919 + n) % a.keys))
        n += 1
        totals.add("sent")
        give_up_at = time.monotonic() + a.retry_for
        backoff = 0.05
        while True:
            status = None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
                conn.request("POST", url.path, payload, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                totals.add("conn_errors")
                if conn is not None:
                    conn.close()
                conn = None
            if status == 200:
                totals.add("s200")
                answer = json.loads(data)
                totals.accepted(ref, answer["id"], answer.get("duplicate", False))
                break
            if status == 503:
                totals.add("s503")
            elif status is not None:
                totals.add("other")
                with totals.lock:
                    totals.other[status] += 1
                break
            if time.monotonic() + backoff > give_up_at:
                totals.add("gave_up")
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, 0.5)
    if conn is not None:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--accepted", required=True)
    p.add_argument("--rate", type=float, default=300)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--keys", type=int, default=64)
    p.add_argument("--retry-for", type=float, default=5)
    p.add_argument("--seconds", type=float, default=600)
    a = p.parse_args()

    totals = Totals(a.accepted)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=worker, args=(i, a, totals, stop, a.rate / a.workers), daemon=True)
               for i in range(a.workers)]
    for t in threads:
        t.start()
    stop.wait(a.seconds)
    stop.set()
    for t in threads:
        t.join(a.retry_for + 6)
    c = totals.c
    print("LOAD sent=%d accepted=%d acked_duplicates=%d gave_up=%d s200=%d s503=%d conn_errors=%d other=%d" % (
        c["sent"], c["accepted"], c["acked_duplicates"], c["gave_up"], c["s200"], c["s503"], c["conn_errors"], c["other"]))
    if totals.other:
        print("LOAD other statuses: %s" % dict(totals.other))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
