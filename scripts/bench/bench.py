#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  bench.py pgbench-summary LABEL PGBENCH_OUTPUT OPS_PER_TX MONEY_OK LOGFILE...
      one pgbench run as JSON on stdout: tps, ops/s, failed transactions and the latency
      percentiles of every transaction, from pgbench's per-transaction logs (pgbench -l).
  bench.py report RUNDIR
      the results table, the mutasi lines and the targets (Markdown) from RUNDIR's files.
  bench.py chart RUNDIR PNG
      the latency percentiles of every run as a bar chart (needs matplotlib).
"""

import json
import math
import re
import sys
from pathlib import Path

# Run labels (file names in RUNDIR) in table order.
PGBENCH_RUNS = [
    ("pgbench-hot", "pgbench hot (1 account, 1 statement/tx)"),
    ("pgbench-spread", "pgbench spread (1 statement/tx)"),
    ("pgbench-batch", "pgbench hot, batched and pipelined (reference)"),
]
LOADGEN_RUNS = [
    ("loadgen-hot", "a. platform hot, closed loop"),
    ("loadgen-spread", "b. platform spread, closed loop"),
    ("loadgen-deposit", "b1. deposits only, spread, closed loop"),
    ("loadgen-transfer", "b2. transfers only, spread, closed loop"),
    ("loadgen-half", "c. platform spread, open loop at ½ of b"),
    ("loadgen-backlog", "d. backlog (mutasi stopped)"),
]


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None if empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def pgbench_summary(label, output_path, ops_per_tx, money_ok, logs):
    text = Path(output_path).read_text()

    def grab(pattern, cast=float, default=None):
        m = re.search(pattern, text, re.MULTILINE)
        return cast(m.group(1)) if m else default

    tps = grab(r"^tps = ([0-9.]+)")
    failed = grab(r"^number of failed transactions: (\d+)", int, 0)
    processed = grab(r"^number of transactions actually processed: (\d+)", int, 0)
    latencies = []
    for log in logs:
        with open(log) as f:
            for line in f:
                # client_id transaction_no time script_no time_epoch time_us [schedule_lag]
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000.0)
    latencies.sort()
    result = {
        "label": label,
        "tps": tps,
        "ops_per_tx": ops_per_tx,
        "throughput_ops_s": tps * ops_per_tx if tps is not None else None,
        "transactions": processed,
        "failed": failed,
        "money_ok": money_ok == "true",
        "latency_ms": {
            "avg": sum(latencies) / len(latencies) if latencies else None,
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "p999": percentile(latencies, 99.9),
            "max": latencies[-1] if latencies else None,
        },
    }
    json.dump(result, sys.stdout, indent=2)
    print()


def load(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def ms(value):
    return "—" if value is None else f"{value:.1f}"


def num(value):
    return "—" if value is None else f"{value:,.0f}"


def ratio(a, b):
    if a is None or not b:
        return None
    return a / b


def errors_of(summary):
    """(5xx answers, transport errors) of a loadgen summary, warm-up included."""
    e5xx = transport = 0
    for phase in (summary, summary.get("warmup") or {}):
        counts = phase.get("status_counts") or {}
        e5xx += sum(n for code, n in counts.items() if str(code).startswith("5"))
        transport += phase.get("transport_errors") or 0
    return e5xx, transport


def report(rundir):
    rundir = Path(rundir)
    pg = {name: load(rundir / f"{name}.json") for name, _ in PGBENCH_RUNS}
    lg = {name: load(rundir / f"{name}.json") for name, _ in LOADGEN_RUNS}
    status = {}
    for name, _ in LOADGEN_RUNS:
        try:
            status[name] = int((rundir / f"{name}.status").read_text().strip())
        except (OSError, ValueError):
            status[name] = None
    drain = load(rundir / "drain.json")
    delay = load(rundir / "delay.json")

    def tput(d):
        return d.get("throughput_ops_s") if d else None

    pg_hot, pg_spread = tput(pg["pgbench-hot"]), tput(pg["pgbench-spread"])
    out = []
    failures = []
    out.append("## Results\n")
    out.append(
        "| run | throughput (ops/s) | p50 | p99 | p99.9 | max (ms) "
        "| errors (5xx/transport) | money check | statements | ratio to pgbench ceiling |"
    )
    out.append("|---|--:|--:|--:|--:|--:|--:|:-:|:-:|--:|")
    for name, title in PGBENCH_RUNS:
        d = pg[name]
        if d is None:
            out.append(f"| {title} | not run | | | | | | | | |")
            continue
        lat = d["latency_ms"]
        if name == "pgbench-batch":
            r = ratio(tput(d), pg_hot)
            rtext = f"{r:.2f}× pgbench hot" if r is not None else "—"
            title = f"{title}, {d['ops_per_tx']} ops/tx"
        else:
            rtext = "1.00 (the ceiling)"
        out.append(
            f"| {title} | {num(tput(d))} | {ms(lat['p50'])} | {ms(lat['p99'])} "
            f"| {ms(lat['p999'])} | {ms(lat['max'])} | {d['failed']} failed tx "
            f"| {'OK' if d['money_ok'] else '**FAILED**'} | n/a | {rtext} |"
        )
    for name, title in LOADGEN_RUNS:
        d = lg[name]
        if d is None:
            why = "not run" if status[name] is None else f"no summary (exit {status[name]})"
            out.append(f"| {title} | {why} | | | | | | | | |")
            continue
        lat = d.get("latency_ms") or {}
        e5xx, transport = errors_of(d)
        money = "OK" if d.get("money_ok") else "**FAILED**"
        st = d.get("statement_ok")
        statements = "skipped" if st is None else ("OK" if st else "**FAILED**")
        if name == "loadgen-hot":
            r = ratio(tput(d), pg_hot)
            rtext = f"{r:.2f}× pgbench hot" if r is not None else "—"
        elif name == "loadgen-spread":
            r = ratio(tput(d), pg_spread)
            rtext = f"{r:.2f}× pgbench spread" if r is not None else "—"
        elif name == "loadgen-transfer":
            r = ratio(tput(d), tput(lg["loadgen-deposit"]))
            rtext = f"{r:.2f}× deposits (b1)" if r is not None else "—"
        else:
            rtext = "—"
        if name == "loadgen-half" and d.get("rate_asked"):
            title = f"{title} ({num(d['rate_asked'])}/s asked"
            if d.get("rate_achieved") is not None:
                title += f", {num(d['rate_achieved'])}/s sent"
            if d.get("ops_missed"):
                title += f", {num(d['ops_missed'])} never sent"
            title += ")"
        if d.get("failures"):
            failures.append((title, d["failures"]))
        out.append(
            f"| {title} | {num(tput(d))} | {ms(lat.get('p50'))} | {ms(lat.get('p99'))} "
            f"| {ms(lat.get('p999'))} | {ms(lat.get('max'))} | {e5xx} / {transport} "
            f"| {money} | {statements} | {rtext} |"
        )
    out.append("")
    for title, reasons in failures:
        out.append(f"**{title} failed**: " + "; ".join(str(r) for r in reasons))
        out.append("")
    out.append(
        "Errors count the warm-up too. Latency: pgbench, per transaction from its own log (connection to commit); loadgen, "
        "request to response, coordinated-omission corrected in the open-loop run. Refused "
        "withdrawals (balance too low) count as successful operations in both."
    )
    out.append("")
    dep, tra = lg["loadgen-deposit"], lg["loadgen-transfer"]
    if dep and tra:
        out.append(
            f"- **transfers beside deposits** (runs b1, b2, same accounts, same platform, one "
            f"after the other): deposits {num(tput(dep))} ops/s, transfers {num(tput(tra))} ops/s "
            f"(each transfer locks two balance rows and writes two customer legs, two outbox "
            f"rows and, with a fee, a third leg; a deposit one row, one customer leg and the "
            f"cash leg)"
        )
    if drain:
        out.append(
            f"- **mutasi backlog drain**: {num(drain['events'])} events consumed in "
            f"{drain['seconds']:.2f} s after mutasi's restart = **{num(drain['events_s'])} events/s** "
            f"(the relay had published the whole backlog {drain['relay_wait_s']:.1f} s after the "
            f"load ended; measured from mutasi's start, start-up included, polled every 100 ms)"
        )
        if drain.get("events_s_after_first"):
            out.append(
                f"  (the first rows appeared {drain['first_rows_after_s']:.2f} s after the start; "
                f"from then on {num(drain['events_after_first'])} events at "
                f"{num(drain['events_s_after_first'])} events/s)"
            )
    else:
        out.append("- **mutasi backlog drain**: not measured")
    if delay:
        out.append(
            f"- **statement delay** during run c ({delay['since']} … {delay['until']}, "
            f"{num(delay['rows'])} rows, every row, from mutasi's table: diterima_pada − "
            f"tanggal_transaksi): p50 {ms(delay['p50_ms'])} ms, p90 {ms(delay['p90_ms'])} ms, "
            f"p99 {ms(delay['p99_ms'])} ms, max {ms(delay['max_ms'])} ms"
        )
        probe = (lg["loadgen-half"] or {}).get("statement_delay_ms")
        if probe:
            out.append(
                "  (loadgen's probe in run c, one deposit every ~100 ms seen through mutasi's "
                "API: " + ", ".join(f"{k} {ms(v)} ms" for k, v in probe.items()
                                     if isinstance(v, (int, float))) + ")"
            )
    else:
        out.append("- **statement delay**: not measured")
    out.append("")

    # Targets: goals, reported; they do not fail the run.
    def target(text, value, ok):
        if ok is None:
            return f"| {text} | {value} | not measured |"
        return f"| {text} | {value} | {'met' if ok else '**not met**'} |"

    out.append("## Targets\n")
    out.append("| target | measured | |")
    out.append("|---|---|---|")
    r = ratio(tput(lg["loadgen-spread"]), pg_spread)
    out.append(target("spread ≥ 1.0× pgbench spread", f"{r:.2f}×" if r is not None else "—",
                      None if r is None else r >= 1.0))
    r = ratio(tput(lg["loadgen-hot"]), pg_hot)
    out.append(target("hot ≥ 3× pgbench hot", f"{r:.2f}×" if r is not None else "—",
                      None if r is None else r >= 3.0))
    half = lg["loadgen-half"]
    p99 = (half.get("latency_ms") or {}).get("p99") if half else None
    out.append(target("p99 ≤ 25 ms at half peak", f"{ms(p99)} ms",
                      None if p99 is None else p99 <= 25.0))
    ran = [lg[name] for name, _ in LOADGEN_RUNS if lg[name] is not None]
    if ran and len(ran) == len(LOADGEN_RUNS):
        errors = sum(sum(errors_of(d)) for d in ran)
        checks = all(d.get("money_ok") and d.get("statement_ok") is not False for d in ran)
        ok = errors == 0 and checks and all(status[n] == 0 for n, _ in LOADGEN_RUNS)
        out.append(target("zero 5xx/transport errors, money and statement checks OK (runs a–d)",
                          f"{errors} errors, checks {'OK' if checks else 'FAILED'}", ok))
    else:
        out.append(target("zero 5xx/transport errors, money and statement checks OK (runs a–d)",
                          f"{len(ran)} of {len(LOADGEN_RUNS)} runs summarised",
                          False if any(s not in (None, 0) for s in status.values()) else None))
    dp99 = delay.get("p99_ms") if delay else None
    out.append(target("statement delay p99 < 1 s at half peak", f"{ms(dp99)} ms",
                      None if dp99 is None else dp99 < 1000.0))
    rate = drain.get("events_s") if drain else None
    out.append(target("mutasi drain ≥ 20,000 events/s", f"{num(rate)} events/s",
                      None if rate is None else rate >= 20000))
    out.append("")
    print("\n".join(out))


def chart(rundir, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rundir = Path(rundir)
    runs = []
    for name, title in PGBENCH_RUNS + LOADGEN_RUNS:
        d = load(rundir / f"{name}.json")
        lat = (d or {}).get("latency_ms") or {}
        if lat.get("p50") is not None:
            if name == "pgbench-batch":
                title += f"\n(per {d['ops_per_tx']}-posting transaction)"
            runs.append((title, lat))
    if not runs:
        sys.exit("no latencies to draw")
    keys = [("p50", "p50"), ("p99", "p99"), ("p999", "p99.9"), ("max", "max")]
    width = 0.8 / len(keys)
    fig, ax = plt.subplots(figsize=(11, 5.5))
    for i, (key, label) in enumerate(keys):
        xs = [j + (i - (len(keys) - 1) / 2) * width for j in range(len(runs))]
        ax.bar(xs, [max(lat.get(key) or 0, 0.01) for _, lat in runs], width, label=label)
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms, log scale)")
    ax.axhline(25, color="grey", linestyle="--", linewidth=1)
    ax.text(len(runs) - 0.5, 25, " 25 ms", va="bottom", ha="right", color="grey")
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels([t for t, _ in runs], rotation=20, ha="right", fontsize=8)
    ax.set_title(f"bukubesar benchmark {rundir.name.removeprefix('run-')}: latency percentiles")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main(argv):
    if len(argv) >= 6 and argv[1] == "pgbench-summary":
        pgbench_summary(argv[2], argv[3], int(argv[4]), argv[5], argv[6:])
    elif len(argv) == 3 and argv[1] == "report":
        report(argv[2])
    elif len(argv) == 4 and argv[1] == "chart":
        chart(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
