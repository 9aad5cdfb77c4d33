#!/usr/bin/env python3
"""Backlog and request bodies of bench/http-sink.sh.

  http-sink-fill.py fill   --db DATA/outbox.sqlite --n 200000 [--keys 1000] [--seed 1]
                           [--source sitecore] [--destination crm-hook] [--route sitecore-to-hook]
  http-sink-fill.py bodies --out FILE [--n 1000] [--keys 1000] [--seed 1]
  http-sink-fill.py verify --db DATA/outbox.sqlite --destination crm-hook

fill:   N Sitecore events + N pending deliveries to one destination, in one transaction. The outbox
        must exist already (the relay creates the schema at start, Sources/RelayOutbox/OutboxSchema.swift).
        Rows look like what POST /hooks/sitecore stores (Sources/RelayOutbox/EventInsert.swift):
        events(id = lowercased UUID v4, source, type = com.sitecore.cdp.audience-export.notification,
        subject = friendlyId, dedupe_key = executionRef, received_at, body = compact JSON of ~400 bytes)
        and deliveries(event_id, event_seq, destination, route, msg_key = friendlyId,
        headers = [["client-key", clientKey]], state 0 = queued, attempts 0, created_at = next_attempt_at
        = received_at). friendlyId is one of --keys values (seeded uniform random; the dispatcher sends
        one delivery per key at a time, so keys must be well above the destination's concurrency);
        executionRef is distinct per event.
        Prints: FILL n=N events=E pending=P body_bytes_avg=B seconds=S
bodies: the same kind of bodies, one per line, for the wrk script (bench/http-sink-wrk.lua).
        Prints: BODIES n=N body_bytes_avg=B
verify: counts the destination's deliveries by state and the rows that are not delivered.
        Prints: VERIFY total=T pending=P delivered=D dead=X other=O attempts_max=A attempts_gt1=R
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


def sitecore_events(n, keys, seed):
    """Yields (friendlyId, clientKey, executionRef, body bytes) for n distinct Sitecore notifications."""
    rng = random.Random(seed)
    exports = []
    for k in range(keys):
        segment = SEGMENTS[k % len(SEGMENTS)]
        exports.append((f"audience_export_{k:04d}", f"{segment} - weekly export {k:04d}", segment,
                        CLIENT_KEYS[k % len(CLIENT_KEYS)]))
    tag = rng.getrandbits(32)
    for i in range(n):
        friendly, name, segment, client = exports[rng.randrange(keys)]
        ref = (f"{tag:08x}-{(i >> 48) & 0xffff:04x}-4{(i >> 36) & 0xfff:03x}-"
               f"8{(i >> 24) & 0xfff:03x}-{i & 0xffffff:06x}{rng.getrandbits(24):06x}")
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
        yield friendly, client, ref, body, rng


def fill(args):
    started = time.monotonic()
    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 10000")
    db.execute("PRAGMA cache_size = -524288")  # 512 MiB: the indexes of one big transaction stay in memory
    if db.execute("SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'deliveries')").fetchone()[0] != 2:
        sys.exit(f"http-sink-fill.py: {args.db} has no outbox schema (start the relay once first)")
    now = time.time()
    events, deliveries, body_bytes = [], [], 0
    for friendly, client, ref, body, rng in sitecore_events(args.n, args.keys, args.seed):
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body_bytes += len(body)
        events.append((event_id, args.source, EVENT_TYPE, friendly, ref, now, body))
        deliveries.append((event_id, args.destination, args.route, friendly,
                           json.dumps([["client-key", client]], separators=(",", ":")), now, now))
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
    print(f"FILL n={args.n} events={n_events} pending={n_pending} body_bytes_avg={body_bytes / max(args.n, 1):.0f} "
          f"seconds={time.monotonic() - started:.1f}")


def bodies(args):
    total = 0
    with open(args.out, "wb") as out:
        for _, _, _, body, _ in sitecore_events(args.n, args.keys, args.seed):
            total += len(body)
            out.write(body + b"\n")
    print(f"BODIES n={args.n} body_bytes_avg={total / max(args.n, 1):.0f}")


def verify(args):
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    db.execute("PRAGMA busy_timeout = 10000")
    # Queued rows (state 0) at or below the destination's cursor are delivered; state 1 (retrying) is pending.
    counts = dict(db.execute("SELECT CASE WHEN state = 0 AND id <= COALESCE((SELECT delivered_through FROM delivery_cursors "
                             "WHERE destination = ?1), 0) THEN 2 WHEN state = 1 THEN 0 ELSE state END AS s, count(*) "
                             "FROM deliveries WHERE destination = ?1 GROUP BY s", (args.destination,)).fetchall())
    amax, retried = db.execute("SELECT coalesce(max(attempts), 0), coalesce(sum(attempts > 1), 0) FROM deliveries "
                               "WHERE destination = ?", (args.destination,)).fetchone()
    db.close()
    total = sum(counts.values())
    other = total - counts.get(0, 0) - counts.get(2, 0) - counts.get(3, 0)
    print(f"VERIFY total={total} pending={counts.get(0, 0)} delivered={counts.get(2, 0)} dead={counts.get(3, 0)} "
          f"other={other} attempts_max={amax} attempts_gt1={retried}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fill")
    f.add_argument("--db", required=True)
    f.add_argument("--n", type=int, required=True)
    f.add_argument("--keys", type=int, default=1000)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--source", default="sitecore")
    f.add_argument("--destination", default="crm-hook")
    f.add_argument("--route", default="sitecore-to-hook")
    b = sub.add_parser("bodies")
    b.add_argument("--out", required=True)
    b.add_argument("--n", type=int, default=1000)
    b.add_argument("--keys", type=int, default=1000)
    b.add_argument("--seed", type=int, default=1)
    v = sub.add_parser("verify")
    v.add_argument("--db", required=True)
    v.add_argument("--destination", default="crm-hook")
    args = ap.parse_args()
    {"fill": fill, "bodies": bodies, "verify": verify}[args.cmd](args)


if __name__ == "__main__":
    main()
