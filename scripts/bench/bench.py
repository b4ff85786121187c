#!/usr/bin/env python3
"""Helpers of scripts/bench.sh (standard library only).

  bench.py pgbench-summary LABEL PGBENCH_OUTPUT OPS_PER_TX MONEY_OK LOGFILE...
      one pgbench run as JSON on stdout: tps, ops/s, failed transactions and the latency
      percentiles of every transaction, from pgbench's per-transaction logs (pgbench -l).
  bench.py report RUNDIR
      the results table, the mutasi lines, the sustained run, the resources and the targets
      (Markdown) from RUNDIR's files.
  bench.py chart RUNDIR PNG
      the latency percentiles of every run as a bar chart (needs matplotlib).
  bench.py timeline-chart RUNDIR PNG
      every loadgen run over time, one after the other: operations answered per second, the
      probe's commit-to-statement delay, the outbox backlog and the stream's pending entries,
      the services' resident memory (needs matplotlib).

RUNDIR's files, written by scripts/bench.sh: NAME.json (loadgen's or pgbench's summary),
NAME.status, NAME-timeline.csv (loadgen --timeline), NAME-samples.csv (the sampler: one row a
second), rest-samples.csv, drain-samples.csv, db-sizes.csv, delay.json, delay-sustained.json,
drain.json.
"""

import csv
import json
import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perf_summary  # noqa: E402  (beside this file)

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
    ("loadgen-sustained", "e. sustained, spread, open loop (ran after c, before d)"),
]
# Per-second statement delays of every row (bench.sh's statement_delay), by run.
EVERY_ROW_DELAYS = {"loadgen-half": "delay-seconds.csv",
                    "loadgen-sustained": "delay-sustained-seconds.csv"}
# Runs the bench may leave out on purpose (SUSTAIN_SECS=0).
OPTIONAL_RUNS = {"loadgen-sustained"}
# After the load, how long the outbox backlog and the stream have to be empty again.
DRAINED_WITHIN_S = 10.0
# The sampler's columns of CPU seconds, and how the report names them.
CPU_COLUMNS = [
    ("transaksi_cpu_s", "transaksi"),
    ("mutasi_cpu_s", "mutasi"),
    ("postgres_cpu_s", "PostgreSQL server"),
    ("redis_cpu_s", "Redis"),
    ("loadgen_cpu_s", "loadgen"),
    ("machine_busy_s", "whole machine"),
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


def read_rows(path):
    """A CSV file as a list of dicts of floats (None for an empty cell); [] when missing."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return []

    def value(text):
        try:
            return float(text) if text not in (None, "") else None
        except ValueError:
            return None

    return [{k: value(v) for k, v in row.items()} for row in rows]


def window_of(rundir, name):
    """(start, end) of a loadgen run's measured phase in Unix seconds, from its timeline and
    summary; None when either is missing."""
    timeline = read_rows(rundir / f"{name}-timeline.csv")
    summary = load(rundir / f"{name}.json")
    if not timeline or not summary or timeline[0].get("unix_time") is None:
        return None
    start = timeline[0]["unix_time"]
    return start, start + (summary.get("duration_s") or len(timeline))


def between(samples, start, end):
    return [r for r in samples if r.get("unix_time") is not None and start <= r["unix_time"] <= end]


def increase(samples, column):
    """How much a cumulative counter grew over the samples. A drop means the process was
    restarted (mutasi in run d): its new value counts from zero. None without two values."""
    values = [r[column] for r in samples if r.get(column) is not None]
    if len(values) < 2:
        return None
    total = 0.0
    for before, after in zip(values, values[1:]):
        total += after - before if after >= before else after
    return total


def cpu_per_1000(samples, ops_per_s):
    """{column: CPU seconds per 1,000 operations} over the samples (their first to their last),
    at `ops_per_s`; also the machine's busy share. {} when too few samples."""
    timed = [r for r in samples if r.get("unix_time") is not None]
    if len(timed) < 2 or not ops_per_s:
        return {}
    span = timed[-1]["unix_time"] - timed[0]["unix_time"]
    if span < 1.0:
        return {}
    out = {}
    for column, _ in CPU_COLUMNS:
        grown = increase(timed, column)
        if grown is not None:
            out[column] = grown / span / ops_per_s * 1000.0
    busy, total = increase(timed, "machine_busy_s"), increase(timed, "machine_total_s")
    if busy is not None and total:
        out["machine_busy_share"] = busy / total
    return out


def peak(samples, column):
    values = [r[column] for r in samples if r.get(column) is not None]
    return max(values) if values else None


def bounded(samples, start, end, column_sum, floor):
    """Whether a backlog stayed bounded during [start, end] and emptied after it.

    The rule: (1) the largest value of the last third of the run is at most twice the largest
    of the first third, or at most `floor` (one second of the asked rate: a backlog smaller
    than that is keeping up whatever the first third did); (2) a sample within
    DRAINED_WITHIN_S seconds after the load's end reads 0. Returns (verdict or None when not
    measured, maximum over the run, maxima of the first and last thirds, the first value 0
    after the end (its seconds after the end) or None)."""

    def value(r):
        parts = [r.get(c) for c in column_sum]
        return None if any(p is None for p in parts) else sum(parts)

    during = [(r["unix_time"], value(r)) for r in between(samples, start, end)]
    during = [(t, v) for t, v in during if v is not None]
    after = [(r["unix_time"] - end, value(r)) for r in samples
             if r.get("unix_time") is not None and end < r["unix_time"] <= end + DRAINED_WITHIN_S]
    after = [(t, v) for t, v in after if v is not None]
    if len(during) < 3:
        return None, None, None, None, None
    third = (end - start) / 3.0
    first = [v for t, v in during if t < start + third]
    last = [v for t, v in during if t >= end - third]
    overall = max(v for _, v in during)
    first_max = max(first) if first else 0
    last_max = max(last) if last else 0
    emptied = next((t for t, v in after if v == 0), None)
    if not after:
        return None, overall, first_max, last_max, None
    ok = last_max <= max(2 * first_max, floor) and emptied is not None
    return ok, overall, first_max, last_max, emptied


def sustained_section(rundir, lg, out):
    """The sustained run: its figures, the backlogs' maxima and whether they stayed bounded.
    Returns (outbox verdict, stream verdict) for the targets."""
    d = lg.get("loadgen-sustained")
    window = window_of(rundir, "loadgen-sustained")
    if not d or not window:
        out.append("- **sustained run (e)**: not run")
        return [None, None]
    start, end = window
    samples = read_rows(rundir / "loadgen-sustained-samples.csv")
    floor = d.get("rate_asked") or 0
    lat = d.get("latency_ms") or {}
    delay = load(rundir / "delay-sustained.json") or {}
    probe = d.get("statement_delay_ms") or {}
    out.append(
        f"- **sustained run (e)**: {num(d.get('rate_asked'))}/s asked for {end - start:.0f} s, "
        f"{num(tput(d))} ops/s answered, p99 {ms(lat.get('p99'))} ms, max {ms(lat.get('max'))} ms; "
        f"statement delay (every row of the run, from mutasi's table) p50 "
        f"{ms(delay.get('p50_ms'))} ms, p99 {ms(delay.get('p99_ms'))} ms, max "
        f"{ms(delay.get('max_ms'))} ms (loadgen's probe: p99 {ms(probe.get('p99'))} ms)"
    )
    asked, sent = d.get("rate_asked"), d.get("rate_achieved")
    kept_up = bool(asked and sent is not None and sent >= 0.95 * asked and not d.get("ops_missed"))
    if not kept_up:
        out.append(
            f"  - **the platform did not keep up with the asked rate**: {num(sent)}/s sent of "
            f"{num(asked)}/s, {num(d.get('ops_missed'))} operations never sent (the excess waited "
            f"in loadgen's queue, not in the outbox or the stream: the verdicts below do not "
            f"see it, the target does)"
        )
    verdicts = []
    for what, columns in (("outbox backlog (rows after the relay watermark)", ["outbox_backlog"]),
                          ("stream pending + lag (mutasi's group: delivered and not acknowledged, "
                           "not yet delivered)", ["stream_pending", "stream_lag"])):
        ok, overall, first_max, last_max, emptied = bounded(samples, start, end, columns, floor)
        extra = ""
        if columns == ["stream_pending", "stream_lag"]:
            extra = (f" (pending alone: max {num(peak(between(samples, start, end), 'stream_pending'))}; "
                     f"lag alone: max {num(peak(between(samples, start, end), 'stream_lag'))})")
        if overall is None:
            out.append(f"  - {what}: not measured (too few samples)")
        else:
            verdict = {None: "not measured after the load", True: "**bounded**",
                       False: "**not bounded**"}[ok]
            empty = ("empty again " + f"{emptied:.1f} s after the load" if emptied is not None
                     else f"not empty within {DRAINED_WITHIN_S:.0f} s after the load")
            out.append(
                f"  - {what}: max {num(overall)}{extra}; max of the first third "
                f"{num(first_max)}, of the last third {num(last_max)}; {empty}: {verdict}"
            )
        verdicts.append(ok)
    out.append(
        f"  (rule: bounded when the last third's maximum is at most twice the first third's, "
        f"or at most one second of the asked rate ({num(floor)}), and a sample within "
        f"{DRAINED_WITHIN_S:.0f} s after the load reads 0; sampled once a second)"
    )
    return [None if ok is None else ok and kept_up for ok in verdicts]


def mib(kb):
    return "—" if kb is None else f"{kb / 1024:,.0f}"


def resources_section(rundir, lg, out):
    """Memory at rest and at peak, CPU per 1,000 operations, database growth."""
    out.append("## Resources\n")
    rest = read_rows(rundir / "rest-samples.csv")
    every = []
    for name, _ in LOADGEN_RUNS:
        every += read_rows(rundir / f"{name}-samples.csv")
    every += read_rows(rundir / "drain-samples.csv")
    if not rest and not every:
        out.append("Not measured (no samples).\n")
        return
    out.append("| service | resident at rest (MiB) | resident at peak (MiB, VmHWM) | largest sampled VmRSS (MiB) |")
    out.append("|---|--:|--:|--:|")
    for service in ("transaksi", "mutasi"):
        out.append(
            f"| {service} | {mib(peak(rest, f'{service}_rss_kb'))} "
            f"| {mib(peak(every + rest, f'{service}_hwm_kb'))} "
            f"| {mib(peak(every, f'{service}_rss_kb'))} |"
        )
    out.append("")
    out.append(
        "At rest: after start-up, before any load. At peak: the highest of the kernel's "
        "high-water mark (VmHWM) over every sample (mutasi's restarts in run d start its own "
        "anew).\n"
    )
    out.append(
        "CPU seconds per 1,000 operations over each measured phase (from the sampler's first "
        "to its last row inside it; an operation is one request answered, a transfer counts "
        "once; at the run's throughput):\n"
    )
    head = " | ".join(label for _, label in CPU_COLUMNS)
    out.append(f"| run | ops/s | {head} | machine busy |")
    out.append("|---|--:|" + "--:|" * len(CPU_COLUMNS) + "--:|")
    for name, title in LOADGEN_RUNS:
        d, window = lg.get(name), window_of(rundir, name)
        if not d or not window:
            continue
        samples = between(read_rows(rundir / f"{name}-samples.csv"), *window)
        cpu = cpu_per_1000(samples, tput(d))
        if not cpu:
            out.append(f"| {title.split(',')[0]} | {num(tput(d))} |" + " — |" * (len(CPU_COLUMNS) + 1))
            continue
        cells = " | ".join("—" if cpu.get(c) is None else f"{cpu[c]:.3f}" for c, _ in CPU_COLUMNS)
        share = cpu.get("machine_busy_share")
        out.append(
            f"| {title.split(',')[0]} | {num(tput(d))} | {cells} "
            f"| {'—' if share is None else f'{share * 100:.0f} %'} |"
        )
    drain = load(rundir / "drain.json")
    drain_samples = read_rows(rundir / "drain-samples.csv")
    if drain and drain.get("events_s") and drain_samples:
        grown = increase(drain_samples, "mutasi_cpu_s")
        pg_grown = increase(drain_samples, "postgres_cpu_s")
        if grown is not None and drain.get("events"):
            out.append(
                f"| d. drain: per 1,000 events ({num(drain['events'])} events, whole drain "
                f"sampled, relay wait and mutasi's start-up included) | — | — "
                f"| {grown / drain['events'] * 1000:.3f} "
                f"| {'—' if pg_grown is None else format(pg_grown / drain['events'] * 1000, '.3f')} "
                f"|" + " — |" * (len(CPU_COLUMNS) - 2)
            )
    out.append("")
    out.append(
        "PostgreSQL server: the CPU of its postmaster and every child process (backends, "
        "WAL writer, checkpointer, autovacuum; exited children through the postmaster's "
        "cutime/cstime): the whole server, so any other client of it counts too. Whole machine: "
        "/proc/stat, every process including other work; machine busy is its share of all "
        "cores. A column reads — when the process was not visible (e.g. a remote database).\n"
    )
    sizes = {r.get("label"): r for r in read_sizes(rundir / "db-sizes.csv")}
    before, after = sizes.get("before"), sizes.get("after")
    if before and after and after["postings"] > before["postings"]:
        postings = after["postings"] - before["postings"]
        per_million = 1e6 / postings
        out.append(
            f"Database growth over runs b1–e and d ({num(postings)} postings committed; a "
            f"posting is one customer journal leg, which is one statement line and one stream "
            f"event: a deposit or a withdrawal is one, a transfer two; the cash and fee legs are "
            f"not counted, their bytes are in the growth):\n"
        )
        out.append("| database | before (MiB) | after (MiB) | growth per million postings (MiB) |")
        out.append("|---|--:|--:|--:|")
        for db in ("transaksi", "mutasi"):
            b, a = before[f"{db}_bytes"], after[f"{db}_bytes"]
            out.append(
                f"| bench_{db} | {b / 2**20:,.1f} | {a / 2**20:,.1f} "
                f"| {(a - b) * per_million / 2**20:,.0f} |"
            )
        out.append("")
        out.append(
            f"pg_database_size (tables, indexes, TOAST; not WAL). Published outbox rows stay "
            f"until the sweep's retention (24 h) has passed: {num(after['outbox_rows'])} outbox "
            f"rows at the end are in the figure. Dead row versions count until vacuumed.\n"
        )
    else:
        out.append("Database growth: not measured.\n")


def perf_sections(rundir, out):
    """The CPU profile of every run bench.sh recorded with perf (PERF_RUNS)."""
    for samples in sorted(rundir.glob("*.perf-samples.gz")):
        name = samples.name.removesuffix(".perf-samples.gz")
        try:
            freq, seconds = (rundir / f"{name}.perf-settings").read_text().split()
            out.extend(perf_summary.section(rundir, name, int(freq), float(seconds)))
        except (OSError, ValueError) as error:
            out.append(f"Profile of {name}: unreadable ({error}).\n")


def read_sizes(path):
    rows = []
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                rows.append({k: (v if k == "label" else float(v)) for k, v in row.items()})
    except (OSError, ValueError):
        return []
    return rows


def tput(d):
    return d.get("throughput_ops_s") if d else None


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
        if name in ("loadgen-half", "loadgen-sustained") and d.get("rate_asked"):
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
    outbox_bounded, stream_bounded = sustained_section(rundir, lg, out)
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
    # A run left out on purpose (never started: no status file) is not required.
    expected = [n for n, _ in LOADGEN_RUNS if n not in OPTIONAL_RUNS or status[n] is not None]
    ran = [lg[name] for name in expected if lg[name] is not None]
    runs_text = "runs a–e" if "loadgen-sustained" in expected else "runs a–d"
    if ran and len(ran) == len(expected):
        errors = sum(sum(errors_of(d)) for d in ran)
        checks = all(d.get("money_ok") and d.get("statement_ok") is not False for d in ran)
        ok = errors == 0 and checks and all(status[n] == 0 for n in expected)
        out.append(target(f"zero 5xx/transport errors, money and statement checks OK ({runs_text})",
                          f"{errors} errors, checks {'OK' if checks else 'FAILED'}", ok))
    else:
        out.append(target(f"zero 5xx/transport errors, money and statement checks OK ({runs_text})",
                          f"{len(ran)} of {len(expected)} runs summarised",
                          False if any(s not in (None, 0) for s in status.values()) else None))
    dp99 = delay.get("p99_ms") if delay else None
    out.append(target("statement delay p99 < 1 s at half peak", f"{ms(dp99)} ms",
                      None if dp99 is None else dp99 < 1000.0))
    rate = drain.get("events_s") if drain else None
    out.append(target("mutasi drain ≥ 20,000 events/s", f"{num(rate)} events/s",
                      None if rate is None else rate >= 20000))
    sustained, spread = lg["loadgen-sustained"], tput(lg["loadgen-spread"])
    at = "at 80 % of peak"
    if sustained and sustained.get("rate_asked") and spread:
        at = (f"at {sustained['rate_asked'] / spread * 100:.0f} % of b's peak for "
              f"{sustained['duration_s']:.0f} s")
    for what, ok in (("outbox backlog", outbox_bounded), ("stream pending + lag", stream_bounded)):
        out.append(target(f"{what} bounded {at} (run e), the rate kept up",
                          "see the sustained run above", ok))
    out.append("")
    resources_section(rundir, lg, out)
    perf_sections(rundir, out)
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


def timeline_chart(rundir, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rundir = Path(rundir)
    # Every run that has a timeline, in the order the bench ran them, then mutasi's drain.
    order = ["loadgen-hot", "loadgen-spread", "loadgen-deposit", "loadgen-transfer",
             "loadgen-half", "loadgen-sustained", "loadgen-backlog"]
    titles = dict(LOADGEN_RUNS)
    segments = []  # (name, label, start, end of load, samples, timeline)
    for name in order:
        window = window_of(rundir, name)
        if not window:
            continue
        start, end = window
        samples = read_rows(rundir / f"{name}-samples.csv")
        # From 2 s before the measured phase to 12 s after it (or the sampler's end).
        samples = [r for r in samples
                   if r.get("unix_time") is not None and start - 2 <= r["unix_time"] <= end + 12]
        # The run's letter (a, b, b1, …): short runs leave little room for more.
        label = titles[name].split(".")[0]
        segments.append((name, label, start, end, samples,
                         read_rows(rundir / f"{name}-timeline.csv")))
    drain = [r for r in read_rows(rundir / "drain-samples.csv") if r.get("unix_time") is not None]
    if drain:
        segments.append(("drain", "d drain", drain[0]["unix_time"], drain[-1]["unix_time"],
                         drain, []))
    if not segments:
        sys.exit("no timelines to draw")

    fig, axes = plt.subplots(4, 1, figsize=(12, 11), sharex=True)
    ops_ax, delay_ax, backlog_ax, memory_ax = axes
    offset, gap, ticks = 0.0, 5.0, []
    first, drawn_every = True, False
    for name, label, start, end, samples, timeline in segments:
        # The segment starts at `offset` with the earliest of its samples and its load.
        shift = offset - min([start] + [r["unix_time"] for r in samples])

        def xs(rows, key="unix_time"):
            return [r[key] + shift for r in rows]

        if timeline:
            answered = [(r["ok"] or 0) + (r["refused"] or 0) for r in timeline]
            ops_ax.plot(xs(timeline), answered, color="tab:blue", linewidth=1,
                        label="answered (200 + refused)" if first else None)
            errors = [r["errors"] or 0 for r in timeline]
            if any(errors):
                ops_ax.plot(xs(timeline), errors, color="tab:red", linewidth=1, label="errors")
            probed = [r for r in timeline if r.get("probe_delay_p50_ms") is not None]
            delay_ax.plot(xs(probed), [r["probe_delay_p50_ms"] for r in probed], ".",
                          color="tab:green", markersize=3, label="probe p50" if first else None)
            delay_ax.plot(xs(probed), [r["probe_delay_max_ms"] for r in probed], ".",
                          color="tab:orange", markersize=3, label="probe max" if first else None)
        # Runs c and e: every statement row, from mutasi's table, per second of commit.
        every = EVERY_ROW_DELAYS.get(name)
        rows = [r for r in read_rows(rundir / every) if r.get("p99_ms") is not None] if every else []
        if rows:
            delay_ax.plot(xs(rows), [r["p99_ms"] for r in rows], color="tab:red", linewidth=1,
                          label=None if drawn_every else "p99 of every row (runs c, e)")
            drawn_every = True
        for column, colour, name in (("outbox_backlog", "tab:purple", "outbox backlog"),
                                     ("stream_pending", "tab:brown", "stream pending"),
                                     ("stream_lag", "tab:gray", "stream lag")):
            rows = [r for r in samples if r.get(column) is not None]
            backlog_ax.plot(xs(rows), [r[column] for r in rows], color=colour, linewidth=1,
                            label=name if first else None)
        for column, colour, name in (("transaksi_rss_kb", "tab:blue", "transaksi"),
                                     ("mutasi_rss_kb", "tab:olive", "mutasi")):
            rows = [r for r in samples if r.get(column) is not None]
            memory_ax.plot(xs(rows), [r[column] / 1024 for r in rows], color=colour,
                           linewidth=1, label=name if first else None)
        right = max([end + shift] + [x for x in xs(samples)])
        for ax in axes:
            ax.axvspan(start + shift, end + shift, color="tab:blue", alpha=0.05)
            ax.axvline(offset - gap / 2, color="grey", linewidth=0.5)
        ticks.append(((start + end) / 2 + shift, label))
        offset = right + gap
        first = False

    ops_ax.set_ylabel("operations / s")
    ops_ax.set_ylim(bottom=0)
    memory_ax.set_ylim(bottom=0)
    delay_ax.set_ylabel("statement delay\n(ms per second, log)")
    delay_ax.set_yscale("log")
    backlog_ax.set_ylabel("rows / entries\n(symlog)")
    backlog_ax.set_yscale("symlog", linthresh=10)
    backlog_ax.set_ylim(bottom=0)
    memory_ax.set_ylabel("resident (MiB)")
    memory_ax.set_xlabel("seconds of load, runs one after the other (shaded: measured phase; "
                         "setup and checks between runs left out)")
    for ax in axes:
        ax.grid(True, linewidth=0.3)
        handles, _ = ax.get_legend_handles_labels()
        if handles:
            ax.legend(loc="upper right", fontsize=8)
    top = ops_ax.secondary_xaxis("top")
    top.set_xticks([t for t, _ in ticks])
    top.set_xticklabels([label for _, label in ticks], fontsize=8)
    fig.suptitle(f"bukubesar benchmark {rundir.name.removeprefix('run-')}: runs over time "
                 "(letters as in the report's table)")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main(argv):
    if len(argv) >= 6 and argv[1] == "pgbench-summary":
        pgbench_summary(argv[2], argv[3], int(argv[4]), argv[5], argv[6:])
    elif len(argv) == 3 and argv[1] == "report":
        report(argv[2])
    elif len(argv) == 4 and argv[1] == "chart":
        chart(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "timeline-chart":
        timeline_chart(argv[2], argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
