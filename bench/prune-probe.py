#!/usr/bin/env python3
"""Ingest latency while the relay prunes: POSTs Sitecore notifications one at a time (a pause between them)
and reports how long the answers took. Used by bench/prune.sh.

  prune-probe.py --port PORT --bodies FILE --seconds S [--pause 0.02]
Prints: PROBE posts=N ok=N p50_ms=X p99_ms=X max_ms=X max_at_s=X over_1s=N errors=N
"""
import argparse
import http.client
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bodies", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--pause", type=float, default=0.02)
    args = ap.parse_args()
    bodies = open(args.bodies).read().splitlines()
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
    took, ok, errors, n = [], 0, 0, 0
    start = time.time()
    while time.time() - start < args.seconds:
        body = bodies[n % len(bodies)]
        n += 1
        sent = time.time()
        try:
            conn.request("POST", "/hooks/sitecore", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            ok += response.status == 200
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        took.append((time.time() - sent, sent - start))
        time.sleep(args.pause)
    ordered = sorted(t for t, _ in took)
    worst = max(took)
    print(f"PROBE posts={len(took)} ok={ok} p50_ms={ordered[len(ordered) // 2] * 1000:.1f} "
          f"p99_ms={ordered[int(len(ordered) * 0.99)] * 1000:.1f} max_ms={worst[0] * 1000:.0f} max_at_s={worst[1]:.1f} "
          f"over_1s={sum(1 for t in ordered if t > 1)} errors={errors}")


if __name__ == "__main__":
    main()
