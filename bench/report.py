#!/usr/bin/env python3
"""bench/run's report: RESULTS.md and the PNG chart of the ratios from the benchmarks' RESULT lines.

    report.py --results RESULTS_TXT --summary SUMMARY_TSV --relay-bin BIN --mode full|QUICK=1 --wall SECONDS
              --root REPO --md OUT.md --png OUT.png

RESULTS_TXT holds `RESULT name=NAME key=value ...` lines (see result_line in bench/lib.sh): a line with
target= and verdict= is a row of the targets table; a metric with a "/" is a ratio relay/peer and goes
into the chart too. SUMMARY_TSV has one line per benchmark: name, script, exit status, seconds,
time limit, settings. Needs matplotlib (bench/.venv).
"""
import argparse
import datetime
import os
import platform
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after choosing the backend)

CORE_KEYS = ("name", "round", "metric", "value", "unit", "target", "verdict", "relay", "peer")


def parse_results(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            fields = {}
            for pair in line.split()[1:]:
                key, _, value = pair.partition("=")
                fields[key] = value
            # The reliability run and the fuzzers say status=PASS|FAIL: the same as verdict=, judged by their own checks.
            if "verdict" not in fields and fields.get("status") in ("PASS", "MISS", "FAIL"):
                fields["verdict"] = fields.pop("status")
                fields.setdefault("target", "its_own_checks")
            rows.append(fields)
    return rows


def parse_summary(path):
    runs = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 6:
                runs.append(dict(zip(("name", "script", "status", "secs", "limit", "settings"), parts)))
    return runs


def sh(*command, cwd=None):
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def number(text):
    """Thousands separators for integers, as given otherwise."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text or ""
    if value == int(value) and abs(value) >= 1000:
        return f"{int(value):,}"
    return text


def target_text(target):
    t = (target or "").replace("_", " ")
    for op, sign in ((">=", "≥ "), ("<=", "≤ "), (">", "> "), ("<", "< ")):
        if t.startswith(op):
            return sign + t[len(op):]
    return t


def measure_text(row):
    """The metric with its unit; for a line without one (e.g. the reliability run's), its other keys."""
    if "metric" not in row:
        return details_text(row) or "?"
    metric, unit = row["metric"], row.get("unit", "")
    return f"{metric} ({unit})" if unit else metric


def value_text(row):
    value = row.get("value", "")
    if value in ("", "-"):
        return "–"
    if "/" in row.get("metric", ""):
        try:
            return f"{float(value):.3f}"
        except ValueError:
            return value
    return number(value)


def details_text(row, skip=CORE_KEYS):
    return " ".join(f"{k}={v}" for k, v in row.items() if k not in skip)


def summary_table(targets):
    """One row per (benchmark, measure): the rounds' figures joined with " / ", PASS only when every round passed."""
    groups = {}
    for r in targets:
        groups.setdefault((r["name"], r.get("metric") or measure_text(r)), []).append(r)
    lines = ["| benchmark | measure | relay | peer | value | target | result |", "|---|---|---:|---:|---:|---|---|"]
    for (name, _), members in groups.items():
        verdicts = [m["verdict"] for m in members]
        passed = verdicts.count("PASS")
        result = "PASS" if passed == len(verdicts) else f"**{'FAIL' if 'FAIL' in verdicts else 'MISS'}**"
        if 0 < passed < len(verdicts):
            result += f" ({passed} of {len(verdicts)} rounds pass)"

        def joined(key, members=members):
            return " / ".join(number(m.get(key, "")) for m in members) if any(m.get(key) for m in members) else ""
        lines.append(f"| {name} | {measure_text(members[0])} | {joined('relay')} | {joined('peer')} | "
                     f"{' / '.join(value_text(m) for m in members)} | {target_text(members[0]['target'])} | {result} |")
    return lines


def machine_lines(args):
    commit = sh("git", "rev-parse", "--short", "HEAD", cwd=args.root)
    subject = sh("git", "log", "-1", "--format=%s", cwd=args.root)
    branch = sh("git", "rev-parse", "--abbrev-ref", "HEAD", cwd=args.root)
    # This run's own outputs (the chart is written before this check) do not make the tree dirty.
    outputs = {os.path.relpath(os.path.abspath(path), args.root) for path in (args.md, args.png) if path}
    dirty = [line for line in sh("git", "status", "--porcelain", "--untracked-files=no", cwd=args.root).splitlines()
             if line.split(maxsplit=1)[-1] not in outputs]
    built = "?"
    try:
        built = datetime.datetime.fromtimestamp(os.stat(args.relay_bin).st_mtime, datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC")
    except OSError:
        pass
    shown_bin = os.path.relpath(args.relay_bin, args.root) if args.relay_bin.startswith(args.root + "/") else args.relay_bin
    nginx = sh("sh", "-c", "nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1").replace("nginx version: nginx/", "")
    wrk = sh("sh", "-c", "wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2")
    kcat = sh("sh", "-c", "kcat -V 2>&1 | sed -n 's/^Version \\([^ ]*\\).*/\\1/p' | head -n1")
    try:
        import aiohttp
        import confluent_kafka
        client = confluent_kafka.version()
        client = client[0] if isinstance(client, tuple) else client
        peers_py = (f"Python {platform.python_version()} (aiohttp {aiohttp.__version__}, confluent-kafka "
                    f"{client} with librdkafka {confluent_kafka.libversion()[0]})")
    except ImportError:
        peers_py = f"Python {platform.python_version()}"
    return [
        f"- Machine: {os.cpu_count()} cores (`nproc` {sh('nproc')}), {cpu_model()}, Linux {platform.release()}; "
        f"shared with other builds, so absolute figures move between hours: compare the ratios within one run.",
        f"- Commit: `{commit}` on `{branch}` ({subject}){' with uncommitted changes' if dirty else ''}.",
        f"- Relay binary: `{shown_bin}`, built {built}.",
        f"- Peers: nginx {nginx or '?'}, {wrk or 'wrk ?'}, kcat {kcat or '?'}, {peers_py}, "
        f"bare Hummingbird 2 (`bench-hummingbird-peer`).",
    ]


def write_markdown(args, rows, runs, chart_name):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    wall = int(float(args.wall))
    targets = [r for r in rows if r.get("target") and r.get("verdict")]
    counts = {v: sum(1 for r in targets if r["verdict"] == v) for v in ("PASS", "MISS", "FAIL")}
    out = ["# Benchmark results", "",
           f"Written by `bench/run` ({'`QUICK=1`, smaller settings' if args.mode != 'full' else 'full run'}) "
           f"on {now}; wall time {wall // 60} min {wall % 60:02d} s. Do not edit: run `bench/run` again.", ""]
    out += machine_lines(args)
    failed = [run["name"] for run in runs if run["status"] not in ("0", "skipped")]
    out += ["", "## Summary", "",
            "One row per measure; figures of the rounds separated by /. The README's \"Performance and "
            "guarantees\" quotes this table.", ""]
    if failed:
        out += [f"**Failed or timed out: {', '.join(failed)}** (see Runs and their logs).", ""]
    out += summary_table(targets)
    out += ["", "## Per round", "",
            "Every figure comes from this run; each ratio compares the relay with its peer measured in the same "
            "round (alternating order; http-sink's peer is the mean of a wrk run before and one after the drain). "
            "MISS is reported as measured.", "",
            "| benchmark | round | measure | relay | peer | value | target | result |",
            "|---|---:|---|---:|---:|---:|---|---|"]
    for r in targets:
        verdict = r["verdict"] if r["verdict"] == "PASS" else f"**{r['verdict']}**"
        out.append(f"| {r['name']} | {r.get('round', '')} | {measure_text(r)} | {number(r.get('relay', ''))} | "
                   f"{number(r.get('peer', ''))} | {value_text(r)} | {target_text(r['target'])} | {verdict} |")
    out += ["", f"{counts['PASS']} PASS, {counts['MISS']} MISS, {counts['FAIL']} FAIL.", "",
            f"![ratios of the relay to its peers, per round, with the targets]({chart_name})", ""]
    figures = [r for r in rows if not (r.get("target") and r.get("verdict"))]
    if figures:
        out += ["## Figures per run", "", "| benchmark | round | measure | value | details |", "|---|---:|---|---:|---|"]
        for r in figures:
            out.append(f"| {r['name']} | {r.get('round', '')} | {r.get('metric', '')} | {value_text(r)} {r.get('unit', '')} | "
                       f"{details_text(r)} |")
        out.append("")
    detailed = [r for r in targets if details_text(r) and "metric" in r]
    if detailed:
        out += ["## Details of the target rows", ""]
        out += [f"- {r['name']} round {r.get('round', '')} {r.get('metric', '')}: {details_text(r)}" for r in detailed]
        out.append("")
    out += ["## Runs", "", "| benchmark | command | wall | limit | exit |", "|---|---|---:|---:|---|"]
    for run in runs:
        status = run["status"]
        shown = {"0": "0", "124": "124 (timed out)", "137": "137 (killed at the limit)", "skipped": "skipped (no script)"}.get(
            status, f"{status} (failed)")
        command = f"`{run['settings'].strip()} bench/{run['script']}`" if run["settings"] not in ("", "-") else f"`bench/{run['script']}`"
        secs = f"{run['secs']} s" if run["secs"] != "-" else "–"
        out.append(f"| {run['name']} | {command} | {secs} | {run['limit']} s | {shown} |")
    out += ["", "Full output of each: `bench/.logs/NAME.log` on the machine that ran it (not committed).", ""]
    with open(args.md, "w") as f:
        f.write("\n".join(out))


def write_chart(args, rows):
    ratios = [r for r in rows if "/" in r.get("metric", "") and r.get("target", "").startswith(">")]
    groups = []
    for r in ratios:
        key = (r["name"], r["metric"])
        if key not in [g[0] for g in groups]:
            groups.append((key, []))
        next(g for g in groups if g[0] == key)[1].append(r)
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(groups) + 2), 5.5), dpi=110)
    width = 0.8
    top = 0
    for i, ((name, metric), members) in enumerate(groups):
        n = len(members)
        for j, r in enumerate(members):
            try:
                value = float(r.get("value", "nan"))
            except ValueError:
                value = float("nan")
            x = i - width / 2 + width * (j + 0.5) / n
            color = {"PASS": "#2e8b57", "MISS": "#e08a1e"}.get(r["verdict"], "#b22222")
            if value == value:  # not NaN
                ax.bar(x, value, width / n * 0.9, color=color)
                ax.annotate(f"{value:.2f}" if value >= 0.1 else f"{value:.3f}", (x, value), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                            textcoords="offset points")
                top = max(top, value)
            else:
                ax.annotate("FAIL", (x, 0), ha="center", va="bottom", fontsize=7, color=color)
        target = float(members[0]["target"].lstrip(">="))
        top = max(top, target)
        ax.hlines(target, i - width / 2 - 0.05, i + width / 2 + 0.05, colors="#222222", linestyles="--", linewidth=1.5)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{name}\n{metric} ({members[0].get('unit', '')})\ntarget {target_text(members[0]['target'])}"
                        for (name, metric), members in groups], fontsize=8)
    ax.set_ylim(0, top * 1.15 if top else 1)
    ax.set_ylabel("relay / peer (higher is better); one bar per round")
    ax.set_title(f"audience-relay vs its peers, bench/run {args.mode}, "
                 f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, commit "
                 f"{sh('git', 'rev-parse', '--short', 'HEAD', cwd=args.root)}", fontsize=10)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("#2e8b57", "#e08a1e")]
    ax.legend(handles + [plt.Line2D([0], [0], color="#222222", linestyle="--")], ["PASS", "MISS", "target"],
              fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.png)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("results", "summary", "relay-bin", "mode", "wall", "root", "md", "png"):
        parser.add_argument(f"--{name}", required=True)
    args = parser.parse_args()
    rows = parse_results(args.results)
    runs = parse_summary(args.summary)
    write_chart(args, rows)
    write_markdown(args, rows, runs, os.path.relpath(args.png, os.path.dirname(os.path.abspath(args.md))))


if __name__ == "__main__":
    main()
