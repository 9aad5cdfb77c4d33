#!/usr/bin/env python3
"""Helpers of the Kafka benchmarks (bench/kafka-e2e.sh, bench/kafka-drain.sh).

  kafka-metrics.py delta BEFORE.prom AFTER.prom DESTINATION SOURCE
      Differences of two /metrics scrapes of the relay, one `key=value` line:
      accepted (relay_ingest_total{source,outcome="accepted"}), delivered / retry / dead
      (relay_deliveries_total{destination,outcome}), lat_count, lat_le_50ms (fraction of
      deliveries whose accept-to-delivery-report latency was <= 50 ms, exact: 0.05 is a bucket
      bound) and lat_p50_ms / lat_p90_ms / lat_p99_ms, estimated from the
      relay_delivery_latency_seconds *histogram* (this build exports a Prometheus histogram with
      bounds 5, 10, 25, 50, 100, 250 ms, ... 10 s, not a summary) by linear interpolation inside
      the bucket that holds the quantile, as PromQL's histogram_quantile() does; lat_p99_bucket
      names that bucket, e.g. "10-25ms".
  kafka-metrics.py value FILE.prom METRIC [label=value ...]
      Sum of the samples of METRIC whose labels match.
  kafka-metrics.py backlog SAMPLES T0 T1 ACCEPTED_PER_S
      Backlog over the load window from the sampler's lines "t accepted delivered dead pending":
      first/last/max pending inside [T0, T1], least-squares slope (deliveries/s), and
      growth_pct = slope / accepted rate * 100.
  kafka-metrics.py e2e-table RESULTS.tsv      final table of kafka-e2e.sh
  kafka-metrics.py drain-table RESULTS.tsv    final table of kafka-drain.sh
"""
import math
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(path):
    samples = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                continue
            labels = dict(LABEL.findall(m.group(2) or ""))
            try:
                value = float(m.group(3))
            except ValueError:
                continue
            samples.append((m.group(1), labels, value))
    return samples


def total(samples, name, **want):
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in want.items()))


def buckets(samples, name, **want):
    out = {}
    for n, l, v in samples:
        if n == name + "_bucket" and all(l.get(k) == w for k, w in want.items()):
            le = l.get("le", "+Inf")
            out[math.inf if le in ("+Inf", "Inf") else float(le)] = v
    return out


def quantile(q, cum):
    """cum: sorted [(upper_bound, cumulative_count)]; returns (estimate_s, lower, upper)."""
    if not cum or cum[-1][1] <= 0:
        return None, None, None
    rank = q * cum[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in cum:
        if count >= rank:
            if math.isinf(bound):
                return lower, lower, bound  # beyond the last finite bound: report that bound
            inside = count - below
            frac = (rank - below) / inside if inside > 0 else 1.0
            return lower + (bound - lower) * frac, lower, bound
        lower, below = bound, count
    return None, None, None


def fmt_bound(b):
    if math.isinf(b):
        return "inf"
    return f"{b * 1000:g}ms"


def cmd_delta(before, after, destination, source):
    a, b = parse(before), parse(after)
    d = lambda name, **kw: total(b, name, **kw) - total(a, name, **kw)
    out = {
        "accepted": d("relay_ingest_total", source=source, outcome="accepted"),
        "delivered": d("relay_deliveries_total", destination=destination, outcome="delivered"),
        "retry": d("relay_deliveries_total", destination=destination, outcome="retry"),
        "dead": d("relay_deliveries_total", destination=destination, outcome="dead"),
    }
    ba = buckets(a, "relay_delivery_latency_seconds", destination=destination)
    bb = buckets(b, "relay_delivery_latency_seconds", destination=destination)
    cum = sorted((le, bb[le] - ba.get(le, 0.0)) for le in bb)
    count = cum[-1][1] if cum else 0
    out["lat_count"] = count
    le50 = dict(cum).get(0.05)
    out["lat_le_50ms"] = f"{le50 / count:.5f}" if count and le50 is not None else "-"
    for q, key in ((0.5, "lat_p50_ms"), (0.9, "lat_p90_ms"), (0.99, "lat_p99_ms")):
        est, lo, hi = quantile(q, cum)
        out[key] = f"{est * 1000:.1f}" if est is not None else "-"
        if q == 0.99:
            out["lat_p99_bucket"] = f"{fmt_bound(lo) if lo else '0'}-{fmt_bound(hi)}" if est is not None else "-"
    lat_sum = total(b, "relay_delivery_latency_seconds_sum", destination=destination) - \
        total(a, "relay_delivery_latency_seconds_sum", destination=destination)
    out["lat_mean_ms"] = f"{lat_sum / count * 1000:.1f}" if count else "-"
    print(" ".join(f"{k}={int(v) if isinstance(v, float) else v}" for k, v in out.items()))


def cmd_value(path, metric, *labels):
    want = dict(x.split("=", 1) for x in labels)
    print(int(total(parse(path), metric, **want)))


def cmd_backlog(path, t0, t1, rate):
    t0, t1, rate = float(t0), float(t1), float(rate)
    pts = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 5 and p[4] not in ("-", "?") and t0 <= float(p[0]) <= t1:
                pts.append((float(p[0]) - t0, int(p[4])))
    if not pts:
        print("samples=0 first=- last=- max=- slope=- growth_pct=- series=-")
        return
    n = len(pts)
    slope = 0.0
    if n >= 2:
        mx = sum(x for x, _ in pts) / n
        my = sum(y for _, y in pts) / n
        sxx = sum((x - mx) ** 2 for x, _ in pts)
        slope = sum((x - mx) * (y - my) for x, y in pts) / sxx if sxx > 0 else 0.0
    growth = slope / rate * 100 if rate > 0 else 0.0
    series = ",".join(f"{int(round(x))}s:{y}" for x, y in pts)
    print(f"samples={n} first={pts[0][1]} last={pts[-1][1]} max={max(y for _, y in pts)} "
          f"slope={slope:.1f} growth_pct={growth:.2f} series={series}")


def read_tsv(path):
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    head, rows = lines[0], lines[1:]
    return [dict(zip(head, r)) for r in rows]


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def table(header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(header))
    print(line(["-" * w for w in widths]))
    for r in rows:
        print(line(r))


def spread(values, fmt):
    vals = [v for v in values if v is not None]
    if not vals:
        return "-"
    lo, hi = min(vals), max(vals)
    med = sorted(vals)[len(vals) // 2] if len(vals) % 2 else sum(sorted(vals)[len(vals) // 2 - 1:len(vals) // 2 + 1]) / 2
    if len(vals) == 1:
        return fmt(lo)
    return f"{fmt(med)} [{fmt(lo)}..{fmt(hi)}]"


def cmd_e2e_table(path):
    rows = read_tsv(path)
    if not rows:
        print("(no runs)")
        return
    print("Per run (accepted = wrk 200s / wrk duration; delivered = relay_deliveries_total{outcome=delivered} over the")
    print("same window; p99 = accept-to-delivery-report latency from the relay histogram, interpolated; le50 = exact")
    print("fraction <= 50 ms; backlog = `outbox stats` pending at load end / max, growth = LSQ slope / accepted rate;\n"
          "relay cpu / others cpu = cores used by the relay / by processes other than relay, mock-kafka and wrk):")
    header = ["run", "profile", "conns", "rate", "accepted/s", "delivered/s", "deliv/acc", "backlog end/max",
              "growth", "p99 ms", "le50", "http p99", "drain", "kafka=relay", "relay cpu", "others cpu", "targets"]
    out = []
    for r in rows:
        out.append([r["round"], r["profile"], r["conns"], r["rate"] if r["rate"] != "0" else "max",
                    r["accepted_ps"], r["delivered_ps"], r["ratio_pct"] + "%",
                    f'{r["pending_end"]}/{r["pending_max"]}', r["growth_pct"] + "%/s",
                    f'{r["p99_ms"]} ({r["p99_bucket"]})', r["le50"], r["http_p99_ms"], r["drain_s"] + "s",
                    r["kafka_check"], r["relay_cpu"], r["others_cpu"], r["verdict"]])
    table(header, out)
    print()
    print("Per profile: median [min..max] over runs; targets: delivered/s >= 95% of accepted/s, no growing backlog")
    print("(growth < 1% of the accepted rate per second and end backlog < 1 s of traffic), p99 < 50 ms.")
    header = ["profile", "runs", "accepted/s", "delivered/s", "deliv/acc", "backlog end", "p99 ms", "ratio", "backlog", "p99"]
    out = []
    for prof in dict.fromkeys(r["profile"] for r in rows):
        rs = [r for r in rows if r["profile"] == prof]
        verdict = lambda key: "PASS" if all(r[key] == "PASS" for r in rs) else \
            ("MISS" if all(r[key] == "MISS" for r in rs) else f'MISS {sum(r[key] == "MISS" for r in rs)}/{len(rs)}')
        out.append([prof, len(rs),
                    spread([num(r["accepted_ps"]) for r in rs], lambda v: f"{v:.0f}"),
                    spread([num(r["delivered_ps"]) for r in rs], lambda v: f"{v:.0f}"),
                    spread([num(r["ratio_pct"]) for r in rs], lambda v: f"{v:.1f}%"),
                    spread([num(r["pending_end"]) for r in rs], lambda v: f"{v:.0f}"),
                    spread([num(r["p99_ms"]) for r in rs], lambda v: f"{v:.1f}"),
                    verdict("ratio_ok"), verdict("backlog_ok"), verdict("p99_ok")])
    table(header, out)


def cmd_drain_table(path):
    rows = read_tsv(path)
    if not rows:
        print("(no rounds)")
        return
    print("Per round (N messages each; relay = `serve` start until `outbox stats` shows 0 pending, polled every 0.5 s;")
    print("kcat = `kcat -P` wall time, same bodies and keys, idempotent acks=all lz4 linger.ms=5; same mock cluster):")
    header = ["round", "N", "order", "relay s", "relay msg/s", "ready s", "msg/s after ready", "metric=N at",
              "kcat s", "kcat msg/s", "relay/kcat", "hwm relay", "hwm kcat", "target"]
    out = []
    for r in rows:
        out.append([r["round"], r["n"], r["order"], r["relay_s"], r["relay_mps"], r["ready_s"], r["relay_mps_ready"],
                    r["metric_done_s"] + "s", r["kcat_s"], r["kcat_mps"], r["ratio_pct"] + "%",
                    r["hwm_relay"], r["hwm_kcat"], r["verdict"]])
    table(header, out)
    print()
    print("Spread: median [min..max] over rounds; target relay/kcat >= 20%.")
    header = ["rounds", "relay msg/s", "kcat msg/s", "relay/kcat", "target"]
    ok = sum(r["verdict"] == "PASS" for r in rows)
    table(header, [[len(rows),
                    spread([num(r["relay_mps"]) for r in rows], lambda v: f"{v:.0f}"),
                    spread([num(r["kcat_mps"]) for r in rows], lambda v: f"{v:.0f}"),
                    spread([num(r["ratio_pct"]) for r in rows], lambda v: f"{v:.1f}%"),
                    "PASS" if ok == len(rows) else ("MISS" if ok == 0 else f"MISS {len(rows) - ok}/{len(rows)}")]])


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    {"delta": cmd_delta, "value": cmd_value, "backlog": cmd_backlog,
     "e2e-table": cmd_e2e_table, "drain-table": cmd_drain_table}[cmd](*args)


if __name__ == "__main__":
    main(sys.argv)
