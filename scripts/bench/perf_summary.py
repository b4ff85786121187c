"""Where one operation's CPU goes: the samples `perf record -a` took over a loadgen run's
measured phase (bench.sh, PERF_RUNS), by process, and within transaksi and mutasi by crate and
by function.

Input, in bench.sh's run directory: NAME.perf-samples.gz (`perf script -F comm,pid,ip,sym,dso`:
one sample per line), NAME.perf-pids/ (the pid of each process the bench started, one file per
name) and NAME.json (loadgen's summary: the throughput). Every sample is 1/PERF_FREQ s of one
CPU, so a process's CPU seconds are its samples / PERF_FREQ, and its CPU per operation those
seconds / (throughput x the recorded seconds).

    python3 scripts/bench/perf_summary.py RUNDIR NAME FREQ SECONDS   # prints the section
"""

import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

# perf script -F comm,pid,ip,sym,dso: "comm pid ip symbol (dso)"; a thread's name may hold
# spaces, the pid is the process's (all its threads share it).
SAMPLE = re.compile(r"^\s*(.+?)\s+(\d+)\s+[0-9a-f]+\s+(.*?)\s*\(([^()]*)\)\s*$")
# Samples of processes the bench runs besides the platform: its sampler, perf itself.
BENCH_TOOLS = {"psql", "redis-cli", "bash", "sleep", "perf", "awk", "cat", "date", "python3"}
SERVICES = ("transaksi", "mutasi")
POSTGRES_ALL = "PostgreSQL"
# A PostgreSQL process not in pg_stat_activity when the recording began (a backend of a later
# connection, the bench's sampler's, the postmaster).
POSTGRES = "PostgreSQL, other processes"


def read_pids(directory):
    pids = {}
    for path in Path(directory).glob("*"):
        try:
            pid = path.read_text().strip()
        except OSError:
            continue
        if pid.isdigit():
            pids[int(pid)] = path.name
    return pids


def read_backends(path):
    """pid -> what a PostgreSQL process works for: a client backend by its database, the rest
    (WAL writer, checkpointer, autovacuum, ...) as background."""
    backends = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return backends
    for line in lines:
        parts = line.split(",", 2)
        if len(parts) == 3 and parts[0].isdigit():
            pid, database, kind = int(parts[0]), parts[1], parts[2]
            if kind == "client backend" and database:
                backends[pid] = f"PostgreSQL for {database}"
            else:
                backends[pid] = "PostgreSQL background (WAL writer, checkpointer, ...)"
    return backends


def process_of(pid, comm, pids, backends):
    if pid in pids:
        # bench.sh notes its foreground job (loadgen, or pgbench in a pgbench run) as loadgen.
        return "the client (loadgen, pgbench)" if pids[pid] == "loadgen" else pids[pid]
    if pid == 0:
        return "idle"
    if pid in backends:
        return backends[pid]
    if comm.startswith("postgres") or comm == "postmaster":
        return POSTGRES
    if comm.startswith("redis-server"):
        return "redis"
    if comm == "pgbench":
        return "the client (loadgen, pgbench)"
    if comm in BENCH_TOOLS:
        return "the bench's sampler and perf"
    return "other (kernel threads, the rest)"


def crate_of(dso, sym):
    """The crate a function of a service belongs to; the kernel and libc by their names."""
    if dso.startswith("[kernel") or dso == "[unknown]" and sym.startswith("0x"):
        return "kernel (network, syscalls, scheduler)"
    name = Path(dso).name
    if name.startswith("libc") or name.startswith("ld-linux"):
        return "libc (malloc/free, memcpy)"
    path = sym.lstrip("<&*").removeprefix("dyn ").removeprefix("mut ")
    head = re.split(r"::|<| ", path, maxsplit=1)[0]
    if head in {"core", "alloc", "std"}:
        return "Rust core/alloc/std"
    if head in {"", "[unknown]"} or head.startswith("0x"):
        return "unresolved"
    return head


def is_postgres(process):
    return process.startswith("PostgreSQL")


def read_samples(path, pids, backends):
    by_process = Counter()
    by_crate = {service: Counter() for service in SERVICES + (POSTGRES_ALL,)}
    by_symbol = {service: Counter() for service in SERVICES + (POSTGRES_ALL,)}
    with gzip.open(path, "rt", errors="replace") as f:
        for line in f:
            m = SAMPLE.match(line)
            if not m:
                continue
            comm, pid, sym, dso = m[1].strip(), int(m[2]), m[3], m[4]
            process = process_of(pid, comm, pids, backends)
            by_process[process] += 1
            if is_postgres(process):
                process = POSTGRES_ALL
            if process in by_crate:
                by_crate[process][crate_of(dso, sym)] += 1
                by_symbol[process][re.sub(r"::h[0-9a-f]{16}$", "", sym)[:110]] += 1
    return by_process, by_crate, by_symbol


def section(rundir, name, freq, seconds):
    rundir = Path(rundir)
    samples = rundir / f"{name}.perf-samples.gz"
    if not samples.exists():
        return []
    pids = read_pids(rundir / f"{name}.perf-pids")
    backends = read_backends(rundir / f"{name}.perf-backends.csv")
    by_process, by_crate, by_symbol = read_samples(samples, pids, backends)
    try:
        throughput = json.loads((rundir / f"{name}.json").read_text())["throughput_ops_s"]
    except (OSError, ValueError, KeyError):
        throughput = None
    ops = throughput * seconds if throughput else None

    def per_op(count):
        return f"{count / freq / ops * 1e6:,.0f}" if ops else "n/a"

    busy = sum(c for p, c in by_process.items() if p != "idle")
    out = [
        f"### Where the CPU of an operation goes: {name}\n",
        f"`perf record -a -F {freq}` over {seconds} s of the measured phase, "
        f"{sum(by_process.values()):,} samples on every CPU; "
        f"{throughput or 0:,.0f} operations/s, so about {ops or 0:,.0f} operations. "
        "CPU µs per operation = the process's samples / frequency / operations "
        "(its kernel time included).\n",
        "| process | CPU s | share of busy | CPU µs per operation |",
        "|---|--:|--:|--:|",
    ]
    postgres = sum(c for p, c in by_process.items() if is_postgres(p))
    for process, count in by_process.most_common():
        share = f"{count / busy:.1%}" if process != "idle" and busy else ""
        out.append(f"| {process} | {count / freq:.1f} | {share} | {per_op(count)} |")
    if postgres:
        out.append(
            f"| PostgreSQL, all of the above | {postgres / freq:.1f} | {postgres / busy:.1%} "
            f"| {per_op(postgres)} |"
        )
    out.append(f"| **all but idle** | {busy / freq:.1f} | 100% | **{per_op(busy)}** |\n")
    for service in SERVICES + (POSTGRES_ALL,):
        total = sum(by_crate[service].values())
        if not total:
            continue
        if service == POSTGRES_ALL:
            out.append("PostgreSQL (all its processes), the 20 functions with the most samples (self time):\n")
            out.append("| function | µs/op | share |")
            out.append("|---|--:|--:|")
            for sym, count in by_symbol[service].most_common(20):
                out.append(f"| `{sym}` | {per_op(count)} | {count / total:.1%} |")
            out.append("")
            continue
        out.append(f"{service}, by crate (µs per operation, share of {service}):\n")
        out.append("| crate | µs/op | share |")
        out.append("|---|--:|--:|")
        for crate, count in by_crate[service].most_common(14):
            out.append(f"| {crate} | {per_op(count)} | {count / total:.1%} |")
        out.append("")
        out.append(f"{service}, the 12 functions with the most samples (self time):\n")
        out.append("| function | share |")
        out.append("|---|--:|")
        for sym, count in by_symbol[service].most_common(12):
            out.append(f"| `{sym.replace('|', '/')}` | {count / total:.1%} |")
        out.append("")
    return out


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    print("\n".join(section(argv[1], argv[2], int(argv[3]), float(argv[4]))))


if __name__ == "__main__":
    main(sys.argv)
