#!/usr/bin/env python3
"""The accounting of bench/reliability.sh: what the relay acknowledged against what arrived.

  reliability-count.py deliveries --accepted FILE [--accepted FILE ...] --dead FILE
                                  --dest NAME=FILE [--dest NAME=FILE ...]
      FILE of --accepted: `executionRef eventId duplicate` lines (reliability-load.py); every event
      is owed once to every --dest. --dead: the output of `audience-relay outbox dead`. Each --dest
      FILE lists what that destination received, one message per line: an event id first on the line
      (the HTTP sink's `ce-id` record) or a kcat `%h` header line holding `ce_id=ID`.
      Per destination: owed, delivered (distinct owed ids that arrived), dead (owed, not delivered,
      dead-lettered for it), lost (owed - delivered - dead), duplicates (messages beyond the first
      for an owed id) and unowed (ids that arrived but were never acknowledged: the answer was lost
      to a kill, or the sender gave up on a 503 after the commit). Prints one `DEST` line each, then
        COUNT accepted=N owed=N delivered=N dead=N duplicates=N lost=N unowed=N
      and up to 10 lost (event id, destination) pairs. Exit 1 when anything is lost.

  reliability-count.py export --dump FILE --ref EXECUTION_REF --records N
      FILE: kcat `%h` header lines of the export topic. Counts the record messages of that
      executionRef by distinct (fileIndex, recordIndex), their duplicates, and whether an
      export.completed event arrived. Prints
        EXPORT records=N forwarded=N duplicates=N missing=N completed=0|1
      Exit 1 when a record is missing.
"""
import argparse
import re
import sys
from collections import Counter, defaultdict

CE_ID = re.compile(r"(?:^|,)ce_id=([^,\s]+)")


def header_map(line):
    out = {}
    for part in line.rstrip("\n").split(","):
        k, sep, v = part.partition("=")
        if sep:
            out[k] = v
    return out


def received_ids(path):
    ids = Counter()
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            m = CE_ID.search(line)
            if m:
                ids[m.group(1)] += 1
            elif "=" not in line:
                ids[line.split()[0]] += 1
    return ids


def deliveries(a):
    accepted = set()
    for path in a.accepted:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2:
                    accepted.add(parts[1])
    dead = defaultdict(set)
    with open(a.dead) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[0].isdigit():
                dead[parts[1]].add(parts[2])
    total = Counter()
    lost_sample = []
    for spec in a.dest:
        name, _, path = spec.partition("=")
        got = received_ids(path)
        delivered = {i for i in accepted if got[i] > 0}
        dead_here = (dead[name] & accepted) - delivered
        lost = accepted - delivered - dead_here
        dups = sum(got[i] - 1 for i in delivered)
        unowed = sum(1 for i in got if i not in accepted)
        print("DEST %s owed=%d delivered=%d dead=%d duplicates=%d lost=%d unowed=%d" % (
            name, len(accepted), len(delivered), len(dead_here), dups, len(lost), unowed))
        total.update(owed=len(accepted), delivered=len(delivered), dead=len(dead_here), duplicates=dups,
                     lost=len(lost), unowed=unowed)
        lost_sample.extend((i, name) for i in sorted(lost)[:10])
    print("COUNT accepted=%d owed=%d delivered=%d dead=%d duplicates=%d lost=%d unowed=%d" % (
        len(accepted), total["owed"], total["delivered"], total["dead"], total["duplicates"], total["lost"],
        total["unowed"]))
    for event_id, name in lost_sample[:10]:
        print("LOST %s %s" % (event_id, name))
    return 1 if total["lost"] else 0


def export(a):
    seen = Counter()
    completed = 0
    with open(a.dump) as f:
        for line in f:
            h = header_map(line)
            if h.get("ce_type", "").endswith(".completed") and h.get("ce_id", "").endswith("/completed"):
                completed = 1
            if h.get("executionRef") == a.ref and "recordIndex" in h:
                seen[(h.get("fileIndex", "0"), h["recordIndex"])] += 1
    forwarded = len(seen)
    dups = sum(n - 1 for n in seen.values())
    missing = max(a.records - forwarded, 0)
    print("EXPORT records=%d forwarded=%d duplicates=%d missing=%d completed=%d" % (
        a.records, forwarded, dups, missing, completed))
    return 1 if missing else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("deliveries")
    d.add_argument("--accepted", action="append", required=True)
    d.add_argument("--dead", required=True)
    d.add_argument("--dest", action="append", required=True)
    e = sub.add_parser("export")
    e.add_argument("--dump", required=True)
    e.add_argument("--ref", required=True)
    e.add_argument("--records", type=int, required=True)
    a = p.parse_args()
    sys.exit(deliveries(a) if a.cmd == "deliveries" else export(a))


if __name__ == "__main__":
    main()
