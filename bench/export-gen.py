#!/usr/bin/env python3
"""Generates the gzipped JSON Lines audience exports of bench/export.sh (not timed by it).

  export-gen.py records --n N --out FILE.jsonl.gz [--seed S] [--level 6]
      N distinct audience-export profiles, one JSON object per line, gzipped as one member.
  export-gen.py memory --bytes B --out FILE.jsonl.gz [--seed S] [--member-bytes M] [--level 6]
      At least B uncompressed bytes, cheaply: one member of ~M uncompressed bytes of distinct
      profiles is compressed once and written again and again (a concatenated-members gzip file,
      like `cat a.gz a.gz ...`); profileIds repeat from one member to the next.

Prints one line: records=N raw_bytes=X gz_bytes=Y members=K avg_record=Z.

Records look like a Sitecore CDP audience export row (~250-300 bytes): a unique profileId, an
email and names, country, segment membership, tags, consent, numbers and a timestamp. Names,
countries and tags come from small lists, ids, amounts and timestamps are random, so gzip -6 gets
~5x, not the 20x+ of repeated lines.
"""
import argparse
import gzip
import random
import sys
import zlib

FIRST = ["Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaja", "Lukas",
         "Mia", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sven", "Tara", "Umut", "Vera", "Wim", "Xenia", "Yusuf", "Zoe"]
LAST = ["Müller", "Schmidt", "Nowak", "García", "Rossi", "Dubois", "Jansen", "Svensson", "Kowalski", "O'Brien",
        "Fischer", "Weber", "Martin", "Silva", "Novak", "Horvat", "Virtanen", "Berg", "Costa", "Meyer"]
COUNTRIES = ["DE", "DE", "FR", "FR", "NL", "ES", "IT", "PL", "SE", "GB", "IE", "US", "AT", "BE"]
DOMAINS = ["example.com", "mail.example.org", "example.net", "shop.example.de", "example.fr"]
SEGMENTS = ["vip", "loyal", "at-risk", "new", "dormant", "high-value", "bargain-hunter", "newsletter"]
TAGS = ["sports", "outdoor", "fashion", "kids", "electronics", "garden", "books", "travel", "beauty", "gourmet"]


def record(rng, i, seed):
    first = rng.choice(FIRST)
    last = rng.choice(LAST)
    country = rng.choice(COUNTRIES)
    tags = rng.sample(TAGS, rng.randint(0, 3))
    day = rng.randint(1, 28)
    pid = "%08x-%04x-4%03x-%04x-%012x" % (i & 0xFFFFFFFF, (seed * 7919 + (i >> 32)) & 0xFFFF, rng.getrandbits(12),
                                          0x8000 | rng.getrandbits(14), rng.getrandbits(48))
    return (
        '{"profileId":"%s","email":"%s.%s%d@%s","firstName":"%s","lastName":"%s","country":"%s",'
        '"segments":["%s"],"tags":[%s],"consent":{"email":%s},"orders":%d,"lifetimeValue":%.2f,'
        '"lastSeen":"2026-%02d-%02dT%02d:%02d:%02dZ"}\n'
    ) % (pid, first.lower(), last.lower().replace("'", ""), rng.randint(1, 9999), rng.choice(DOMAINS), first,
         last.replace("'", "\\u0027"), country, '","'.join(rng.sample(SEGMENTS, rng.randint(1, 2))),
         ",".join('"%s"' % t for t in tags), "true" if rng.random() < 0.7 else "false", rng.randint(0, 240),
         rng.random() * 5000,
         rng.randint(1, 11), day, rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))


def lines(n, seed):
    rng = random.Random(seed)
    batch = []
    for i in range(n):
        batch.append(record(rng, i, seed))
        if len(batch) == 10000:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()


def cmd_records(args):
    raw = 0
    with open(args.out, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=args.level, mtime=0) as gz:
            for chunk in lines(args.n, args.seed):
                gz.write(chunk)
                raw += len(chunk)
        size = f.tell()
    print("records=%d raw_bytes=%d gz_bytes=%d members=1 avg_record=%.0f" % (args.n, raw, size, raw / args.n))


def cmd_memory(args):
    member_raw = []
    raw = 0
    n = 0
    for chunk in lines(10 ** 9, args.seed):
        member_raw.append(chunk)
        raw += len(chunk)
        n += chunk.count(b"\n")
        if raw >= args.member_bytes:
            break
    body = b"".join(member_raw)
    co = zlib.compressobj(args.level, zlib.DEFLATED, 31)  # 31 = gzip wrapper
    member = co.compress(body) + co.flush()
    members = -(-args.bytes // len(body))
    with open(args.out, "wb") as f:
        for _ in range(members):
            f.write(member)
    print("records=%d raw_bytes=%d gz_bytes=%d members=%d avg_record=%.0f"
          % (n * members, len(body) * members, len(member) * members, members, len(body) / n))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("records")
    r.add_argument("--n", type=int, required=True)
    m = sub.add_parser("memory")
    m.add_argument("--bytes", type=int, required=True)
    m.add_argument("--member-bytes", type=int, default=64 << 20)
    for s in (r, m):
        s.add_argument("--out", required=True)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("--level", type=int, default=6)
    args = p.parse_args()
    if args.cmd == "records":
        cmd_records(args)
    else:
        cmd_memory(args)


if __name__ == "__main__":
    sys.exit(main())
