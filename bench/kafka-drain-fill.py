#!/usr/bin/env python3
"""Backlog of bench/kafka-drain.sh: N Sitecore events + N pending Kafka deliveries in one transaction.

  kafka-drain-fill.py --db DATA/outbox.sqlite --n 1000000 --kcat-out FILE [--keys 1000] [--seed 1]
                      [--source sitecore] [--destination sitecore-events] [--route sitecore-notifications]

The outbox must already exist (the relay creates the schema when it starts; see
Sources/RelayOutbox/OutboxSchema.swift). Rows look like what POST /hooks/sitecore stores
(Sources/RelayOutbox/EventInsert.swift): events(id = lowercased UUID, source, type =
com.sitecore.cdp.audience-export.notification, subject = friendlyId, dedupe_key = executionRef,
received_at, body = the compact JSON, ~400 bytes) and deliveries(event_id, event_seq = the event's seq, destination, route,
msg_key = friendlyId, headers = [["client-key", clientKey]], state 0 = queued (pending above the cursor), attempts 0,
created_at = next_attempt_at = received_at). friendlyId is one of --keys values (uniform random,
seeded), executionRef is distinct per event.

The same N messages go to --kcat-out, one per line as "KEY<TAB>BODY" (for `kcat -P -K '\\t' -l`),
in the same order. Prints one line: FILL n=N events=N deliveries=N body_bytes_avg=B seconds=S file_bytes=F
"""
import argparse
import json
import random
import sqlite3
import sys
import time
import uuid

EVENT_TYPE = "com.sitecore.cdp.audience-export.notification"
STATUSES = ["SUCCESS"] * 6 + ["FAILED", "PENDING_SEGMENTATION", "ALERT"]
SEGMENTS = ["VIP customers", "Lapsed buyers", "Newsletter subscribers", "High-value prospects",
            "Cart abandoners", "Loyalty gold tier", "Recent visitors", "Mobile app users"]
CLIENT_KEYS = ["pqsDATA3lw12v5a9rrHPW1c4hET73GxQ", "x7TQm2Lk9cVbN4rS8wEuYh1JdP6aZ0fG",
               "Hc5Wn8KqR2mT7yXpB4vLs9GdF3jA6eUz", "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuV"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--kcat-out", required=True)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--source", default="sitecore")
    ap.add_argument("--destination", default="sitecore-events")
    ap.add_argument("--route", default="sitecore-notifications")
    args = ap.parse_args()

    started = time.monotonic()
    rng = random.Random(args.seed)
    # Per-key attributes: an export keeps its name, segment and tenant (client key).
    exports = []
    for k in range(args.keys):
        segment = SEGMENTS[k % len(SEGMENTS)]
        exports.append((f"audience_export_{k:04d}", f"{segment} - weekly export {k:04d}", segment,
                        CLIENT_KEYS[k % len(CLIENT_KEYS)]))
    now = time.time()
    tag = rng.getrandbits(32)

    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute("PRAGMA cache_size = -1048576")  # 1 GiB: keep the index pages of the big transaction in memory
    if db.execute("SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'deliveries')").fetchone()[0] != 2:
        sys.exit(f"kafka-drain-fill.py: {args.db} has no outbox schema (start the relay once first)")

    body_bytes = 0
    file_bytes = 0
    events = []
    deliveries = []
    with open(args.kcat_out, "wb") as out:
        for i in range(args.n):
            friendly, name, segment, client = exports[rng.randrange(args.keys)]
            ref = f"{tag:08x}-{(i >> 48) & 0xffff:04x}-4{(i >> 36) & 0xfff:03x}-8{(i >> 24) & 0xfff:03x}-{i & 0xffffff:06x}{rng.getrandbits(24):06x}"
            body = json.dumps({
                "apiUrl": f"https://api.example.com/v2/audienceExports/exports/{ref}/download",
                "audienceExportName": name,
                "clientKey": client,
                "definitionType": "FULL_SYNC" if i % 5 else "DELTA",
                "executionRef": ref,
                "executionType": "SCHEDULED" if i % 3 else "INSTANT_RUN",
                "friendlyId": friendly,
                "segmentName": segment,
                "status": STATUSES[i % len(STATUSES)],
            }, separators=(",", ":")).encode()
            body_bytes += len(body)
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            events.append((event_id, args.source, EVENT_TYPE, friendly, ref, now, body))
            deliveries.append((event_id, args.destination, args.route, friendly,
                               json.dumps([["client-key", client]], separators=(",", ":")), now, now))
            line = friendly.encode() + b"\t" + body + b"\n"
            file_bytes += len(line)
            out.write(line)

    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO events (id, source, type, subject, dedupe_key, received_at, body) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", events)
    db.executemany("INSERT INTO deliveries (event_id, event_seq, destination, route, msg_key, headers, state, attempts, "
                   "created_at, next_attempt_at) VALUES (?1, (SELECT seq FROM events WHERE id = ?1), ?2, ?3, ?4, ?5, 0, 0, ?6, ?7)",
                   deliveries)
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n_events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    n_pending = db.execute("SELECT count(*) FROM deliveries WHERE state = 0 AND destination = ?",
                           (args.destination,)).fetchone()[0]
    db.close()
    print(f"FILL n={args.n} events={n_events} deliveries={n_pending} body_bytes_avg={body_bytes / max(args.n, 1):.0f} "
          f"seconds={time.monotonic() - started:.1f} file_bytes={file_bytes}")


if __name__ == "__main__":
    main()
