#!/usr/bin/env python3
"""Python peer relay for bench/ingest.sh: what a small script does with a Sitecore notification.

aiohttp answers POST /hooks/sitecore: it parses the JSON body, validates it with the relay's rules
for Sitecore's standard template (SPEC section 1: the nine fields required and strings; uppercase
enums; friendlyId ^[a-z0-9_]+$; executionRef a UUID; apiUrl absolute; the names non-empty), hands
the raw body to confluent-kafka (librdkafka) for the topic, keyed by friendlyId with a client-key
header like the relay's route, and answers 200 with a small JSON body. Invalid bodies get 422 with
every problem (415 unless the Content-Type is JSON). There is no durability: the 200 goes out before Kafka has the message, and a crash
loses what librdkafka still queues. One process, one event loop.

    python_relay.py --port PORT --brokers BOOTSTRAP --topic TOPIC

The producer uses the relay's producer defaults (idempotent, acks=all, lz4, linger.ms=5). GET /healthz
answers 200. SIGTERM/SIGINT stop it after flushing the producer for at most 5 s.
"""
import argparse
import json
import re

from aiohttp import web
from confluent_kafka import Producer

DEFINITION_TYPES = {"FULL_SYNC", "DELTA"}
EXECUTION_TYPES = {"INSTANT_RUN", "SCHEDULED"}
STATUSES = {"PENDING_GUEST_CONTEXT", "PENDING_SEGMENTATION", "PENDING_EMR_SUBMIT", "PENDING_EMR_JOB",
            "SUCCESS", "FAILED", "ALERT"}
ENUMS = {"definitionType": DEFINITION_TYPES, "executionType": EXECUTION_TYPES, "status": STATUSES}
REQUIRED = ("apiUrl", "audienceExportName", "clientKey", "definitionType", "executionRef", "executionType",
            "friendlyId", "segmentName", "status")
NON_EMPTY = ("audienceExportName", "clientKey")
FRIENDLY_ID = re.compile(r"[a-z0-9_]+")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#\s]+\S*")
JSON_HEADERS = {"Content-Type": "application/json"}


def problems_of(event):
    """Every rule the decoded body breaks, as 'field: message' strings (empty when valid)."""
    if not isinstance(event, dict):
        return ["body: must be a JSON object"]
    problems = []
    for name in REQUIRED:
        value = event.get(name)
        if value is None:
            problems.append(f"{name}: required")
        elif not isinstance(value, str):
            problems.append(f"{name}: must be a string")
    text = {name: event[name] for name in REQUIRED if isinstance(event.get(name), str)}
    for name, allowed in ENUMS.items():
        value = text.get(name)
        if value is not None and value not in allowed:
            if value.upper() in allowed:
                problems.append(f"{name}: must be uppercase ({value.upper()})")
            else:
                problems.append(f"{name}: must be one of {', '.join(sorted(allowed))}")
    checks = (("friendlyId", FRIENDLY_ID, "only a-z, 0-9 and _, non-empty"),
              ("executionRef", UUID, "must be a UUID (8-4-4-4-12 hex)"),
              ("apiUrl", ABSOLUTE_URL, "must be an absolute URL"))
    problems.extend(f"{name}: {message}" for name, pattern, message in checks
                    if name in text and not pattern.fullmatch(text[name]))
    problems.extend(f"{name}: must not be empty" for name in NON_EMPTY if text.get(name) == "")
    return problems


def make_app(producer, topic):
    async def ingest(request):
        if request.content_type != "application/json":
            return web.json_response({"title": "Content type must be JSON"}, status=415)
        body = await request.read()
        try:
            event = json.loads(body)
        except ValueError as error:
            return web.json_response({"title": "malformed JSON", "detail": str(error)}, status=400)
        problems = problems_of(event)
        if problems:
            return web.json_response({"title": "invalid notification", "errors": problems}, status=422)
        headers = [("client-key", event["clientKey"])]
        try:
            producer.produce(topic, value=body, key=event["friendlyId"], headers=headers)
        except BufferError:  # librdkafka's queue is full: serve delivery reports, then try once more
            producer.poll(0.1)
            try:
                producer.produce(topic, value=body, key=event["friendlyId"], headers=headers)
            except BufferError:
                return web.json_response({"title": "busy"}, status=503)
        producer.poll(0)
        return web.Response(body=b'{"status":"accepted"}', headers=JSON_HEADERS)

    async def healthz(_request):
        return web.Response(text="ok")

    async def flush(_app):
        producer.flush(5)

    app = web.Application(client_max_size=1 << 20)
    app.router.add_post("/hooks/sitecore", ingest)
    app.router.add_get("/healthz", healthz)
    app.on_shutdown.append(flush)
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--brokers", required=True, help="Kafka bootstrap servers (the mock cluster)")
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    producer = Producer({
        "bootstrap.servers": args.brokers,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": 5,
    })
    web.run_app(make_app(producer, args.topic), host="127.0.0.1", port=args.port, access_log=None,
                print=None, handle_signals=True)


if __name__ == "__main__":
    main()
