#!/usr/bin/env python3
"""The loopback HTTP server of bench/reliability.sh: a webhook destination that fails on purpose, and
a slow export host.

  reliability-sink.py --port P --record FILE [--fail-every N] [--export-file F --export-rate BYTES_PER_S]

POST /hook          a delivery. Answers 500 to every Nth request (--fail-every, 0 = never) and to every
                    request while failing is on (below), 204 otherwise; on 204 it appends the request's
                    `ce-id` header and the time (`ID EPOCH_SECONDS`, one line each, flushed) to FILE,
                    so FILE lists what was delivered and when.
POST /_fail/on      answer 500 to every /hook request from now on;  POST /_fail/off  stop doing so.
GET  /_stats        {"requests", "failed", "delivered", "failing", "exports"} as JSON (exports = GETs of
                    the export file: one per fetch attempt of the relay).
GET  /export/NAME   the bytes of --export-file (NAME should end in .jsonl.gz so the relay detects the
                    format), sent in 16 KiB pieces at about --export-rate bytes/s, so a kill can land
                    in the middle of a fetch; Content-Type application/octet-stream.

HTTP/1.1 with keep-alive, one thread per connection. Ends on SIGTERM/SIGINT.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, record_path, fail_every):
        self.lock = threading.Lock()
        self.record = open(record_path, "a", buffering=1)
        self.fail_every = fail_every
        self.failing = False
        self.requests = 0
        self.failed = 0
        self.delivered = 0
        self.exports = 0

    def decide(self):
        """Counts a /hook request; True when it is to be answered 500."""
        with self.lock:
            self.requests += 1
            fail = self.failing or (self.fail_every > 0 and self.requests % self.fail_every == 0)
            if fail:
                self.failed += 1
            return fail

    def delivered_one(self, ce_id):
        with self.lock:
            self.delivered += 1
            self.record.write("%s %.3f\n" % (ce_id, time.time()))


def make_handler(state, export_file, export_rate):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"", content_type="text/plain"):
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and status != 204:
                self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if self.path == "/hook":
                if state.decide():
                    self.answer(500, b"failing on purpose\n")
                else:
                    state.delivered_one(self.headers.get("ce-id") or "-")
                    self.answer(204)
            elif self.path in ("/_fail/on", "/_fail/off"):
                with state.lock:
                    state.failing = self.path.endswith("/on")
                self.answer(200, b"ok\n")
            else:
                self.answer(404, b"not found\n")

        def do_GET(self):
            if self.path == "/_stats":
                with state.lock:
                    body = json.dumps({"requests": state.requests, "failed": state.failed,
                                       "delivered": state.delivered, "failing": state.failing,
                                       "exports": state.exports}).encode()
                self.answer(200, body, "application/json")
            elif self.path.startswith("/export/") and export_file:
                self.send_export()
            else:
                self.answer(404, b"not found\n")

        def send_export(self):
            with state.lock:
                state.exports += 1
            size = os.path.getsize(export_file)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            piece = 16384
            pause = piece / export_rate if export_rate > 0 else 0
            try:
                with open(export_file, "rb") as f:
                    while True:
                        chunk = f.read(piece)
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        if pause:
                            time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--export-file")
    p.add_argument("--export-rate", type=float, default=0)
    a = p.parse_args()

    state = State(a.record, a.fail_every)
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(state, a.export_file, a.export_rate))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        state.record.close()
        print("sink: requests=%d failed=%d delivered=%d" % (state.requests, state.failed, state.delivered), file=sys.stderr)


if __name__ == "__main__":
    main()
