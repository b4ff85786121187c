#!/usr/bin/env bash
# The benchmark, in one go on this machine; prints a Markdown report (also saved to
# .local/bench/report-<UTC timestamp>.md, raw files in .local/bench/run-<timestamp>/):
#   1. the machine: CPU, cores, memory, kernel, PostgreSQL and its settings, git commit, the
#      settings of this run;
#   2. the pgbench ceiling of one posting per transaction (scripts/bench/posting.sql: the
#      single-statement posting transaksi used before group commit) in a fresh database bench_pgbench
#      seeded with ACCOUNTS accounts: one hot account, spread over all accounts, and for
#      reference the hot account with BATCH_SIZE postings per transaction (pipelined);
#   3. the platform, release builds, on fresh databases bench_transaksi and bench_mutasi and a
#      fresh durable Redis (AOF, appendfsync always) under .local/bench/redis;
#   4. loadgen against it: (a) hot and (b) spread closed loop, (b1) deposits only and (b2)
#      transfers only, spread closed loop (transfer throughput beside deposit throughput in
#      the same run), (c) spread open loop at half of (b)'s throughput, (e) sustained: spread
#      open loop at SUSTAIN_PERCENT of (b)'s throughput for SUSTAIN_SECS (run after c, before
#      d), (d) a backlog of BACKLOG postings written while mutasi is stopped, then mutasi's
#      drain rate; the commit-to-statement delay of every row of runs (c) and (e);
#   5. the results table and the targets (met / not met), the sustained run's backlog maxima
#      and whether they stayed bounded, the resources (memory, CPU per 1,000 operations,
#      database growth per million postings) and, with BENCH_CHART=1, two PNG charts.
# Beside every loadgen run (and mutasi's drain) a sampler writes one row a second to
# RUN/<run>-samples.csv: transaksi's and mutasi's resident memory (VmRSS, VmHWM), the CPU
# seconds of transaksi, mutasi, Redis, loadgen, the whole PostgreSQL server (its postmaster and
# children) and the whole machine (/proc/stat), the outbox backlog (rows after the relay
# watermark) and the stream's pending entries and lag for mutasi's group (XINFO GROUPS); loadgen
# writes its per-second answers and probe delays to RUN/<run>-timeline.csv (--timeline). The
# sampler keeps one psql session and runs one redis-cli a second (about 35 ms of CPU a second
# on a busy 2-core machine); docs/performance.md says how the report uses the samples.
# Exits non-zero when a loadgen run fails its checks (money, statements, 5xx) or something
# breaks; missed performance targets are reported, not failures. Everything it started is
# stopped at exit; the bench_* databases stay for inspection (dropped by the next run).
#
#   scripts/bench.sh                      # full run (registration of 10,000 accounts: minutes)
#   BENCH_QUICK=1 scripts/bench.sh        # CI size: ~3 min after the build
#   SERVICE_CPUS=0 LOADGEN_CPUS=1 scripts/bench.sh   # transaksi and mutasi on core 0 only
#   TRANSAKSI_FLAGS="--batch-max-size 256 --batch-max-wait-us 500" scripts/bench.sh
#   BENCH_PARTS=pgbench scripts/bench.sh  # only the pgbench ceiling
#
# Environment (defaults; BENCH_QUICK=1 changes the ones marked quick, an explicit value wins):
#   BENCH_QUICK (0)               quick sizes for CI
#   BENCH_PARTS ("pgbench load")  what to run: pgbench (step 2), load (steps 3-4), platform
#                                 (steps 3 only: start, wait for readiness, stop)
#   ACCOUNTS (10000; quick 200)   accounts in pgbench's database and registered by loadgen
#   FUNDING (1000000)             every account's opening balance
#   TARIK_PERCENT (30)            share of withdrawals, pgbench and loadgen
#   PGBENCH_SECS (30; quick 5)    length of each pgbench run
#   PGBENCH_CLIENTS (8), PGBENCH_THREADS (2), BATCH_SIZE (100: postings per batched transaction)
#   LOAD_SECS (30; quick 5)       length of loadgen runs a, b, b1, b2, c (after WARMUP_SECS)
#   SUSTAIN_SECS (300; quick 15)  length of run e (after WARMUP_SECS); 0 skips it
#   SUSTAIN_PERCENT (80)          run e's rate, in percent of run b's throughput
#   WARMUP_SECS (3), CONNECTIONS (64)   loadgen's warm-up and connections
#   BACKLOG (100000; quick 5000)  postings of run d, written while mutasi is stopped
#   STATEMENT_TIMEOUT_SECS (120)  how long loadgen waits for the statements in runs a-c
#   DRAIN_TIMEOUT_SECS (600)      how long to wait for mutasi to catch up (and the relay before)
#   AUTH_CACHE_TTL_SECS (3600)    both services' --auth-cache-ttl-secs (their default: 300). Run a
#                                 caches all ACCOUNTS credentials within minutes (argon2); with
#                                 300 s they all expire again together in the middle of a later
#                                 run, whose figures then measure a wave of argon2, not postings.
#                                 300 measures the services' default anyway.
#   TRANSAKSI_FLAGS, MUTASI_FLAGS, LOADGEN_FLAGS (none)   extra flags, passed through as words
#   TRANSAKSI_PORT (18180), MUTASI_PORT (18181), BENCH_REDIS_PORT (6391)
#   TRANSAKSI_METRICS_PORT (18190), MUTASI_METRICS_PORT (18191): their /metrics listeners
#   LOG_LEVEL (warning)           the services' log level (their logs: .local/bench/*.log)
#   BENCH_CHART (1; quick 0)      1: two PNG charts next to the report (latency percentiles;
#                                 throughput, statement delay, backlogs and memory over time),
#                                 drawn with matplotlib from PyPI in the venv .local/bench/venv
#                                 (installed on first use, ~1 min); when it cannot be installed
#                                 the report says so and the run still passes. Off in quick
#                                 mode so that CI does not depend on PyPI.
#   SERVICE_CPUS (none)           e.g. 0 or 0-1: transaksi and mutasi run under taskset -c
#                                 SERVICE_CPUS (PostgreSQL and Redis stay unpinned)
#   LOADGEN_CPUS (none)           the same for loadgen and pgbench. On a 2-core machine,
#                                 SERVICE_CPUS=0 leaves core 1 to PostgreSQL, Redis and loadgen
#                                 together (LOADGEN_CPUS=1 keeps loadgen off the services'
#                                 core but not off PostgreSQL's): it measures one core's worth
#                                 of services, not a one-core machine.
#   DB_HOST (127.0.0.1), DB_PORT (5432), DB_USER (postgres), DB_PASSWORD (none): a running
#   PostgreSQL (scripts/run-local.sh starts one) where DB_USER may create databases.
#   BENCH_PROFILE (release)       cargo profile of the binaries; dev only to check the script
#   PERF_RUNS (none)              e.g. "pgbench-spread loadgen-spread": `perf record -a` over
#                                 those runs (PERF_FREQ Hz, 499; a loadgen run's first LOAD_SECS
#                                 measured, a pgbench run but its first and last second), every process
#                                 of the machine; the report gains where the CPU of one
#                                 operation goes, by process, by crate of transaksi and mutasi,
#                                 by PostgreSQL function (scripts/bench/perf_summary.py).
#   CARGO_TARGET_DIR (target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

say() { echo "[bench] $*" >&2; }
die() { say "$*"; exit 1; }

BENCH_QUICK="${BENCH_QUICK:-0}"
if [ "$BENCH_QUICK" = 1 ]; then
  ACCOUNTS="${ACCOUNTS:-200}"
  PGBENCH_SECS="${PGBENCH_SECS:-5}"
  LOAD_SECS="${LOAD_SECS:-5}"
  BACKLOG="${BACKLOG:-5000}"
  SUSTAIN_SECS="${SUSTAIN_SECS:-15}"
  BENCH_CHART="${BENCH_CHART:-0}"
fi
BENCH_PARTS="${BENCH_PARTS:-pgbench load}"
BENCH_CHART="${BENCH_CHART:-1}"
SUSTAIN_SECS="${SUSTAIN_SECS:-300}"
SUSTAIN_PERCENT="${SUSTAIN_PERCENT:-80}"
SERVICE_CPUS="${SERVICE_CPUS:-}"
LOADGEN_CPUS="${LOADGEN_CPUS:-}"
PERF_RUNS="${PERF_RUNS:-}"
PERF_FREQ="${PERF_FREQ:-499}"
ACCOUNTS="${ACCOUNTS:-10000}"
FUNDING="${FUNDING:-1000000}"
TARIK_PERCENT="${TARIK_PERCENT:-30}"
PGBENCH_SECS="${PGBENCH_SECS:-30}"
PGBENCH_CLIENTS="${PGBENCH_CLIENTS:-8}"
PGBENCH_THREADS="${PGBENCH_THREADS:-2}"
BATCH_SIZE="${BATCH_SIZE:-100}"
LOAD_SECS="${LOAD_SECS:-30}"
WARMUP_SECS="${WARMUP_SECS:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
BACKLOG="${BACKLOG:-100000}"
STATEMENT_TIMEOUT_SECS="${STATEMENT_TIMEOUT_SECS:-120}"
DRAIN_TIMEOUT_SECS="${DRAIN_TIMEOUT_SECS:-600}"
TRANSAKSI_FLAGS="${TRANSAKSI_FLAGS:-}"
MUTASI_FLAGS="${MUTASI_FLAGS:-}"
LOADGEN_FLAGS="${LOADGEN_FLAGS:-}"
TRANSAKSI_PORT="${TRANSAKSI_PORT:-18180}"
MUTASI_PORT="${MUTASI_PORT:-18181}"
TRANSAKSI_METRICS_PORT="${TRANSAKSI_METRICS_PORT:-18190}"
MUTASI_METRICS_PORT="${MUTASI_METRICS_PORT:-18191}"
BENCH_REDIS_PORT="${BENCH_REDIS_PORT:-6391}"
LOG_LEVEL="${LOG_LEVEL:-warning}"
AUTH_CACHE_TTL_SECS="${AUTH_CACHE_TTL_SECS:-3600}"
DB_HOST="${DB_HOST:-127.0.0.1}"
DB_PORT="${DB_PORT:-5432}"
export DB_USER="${DB_USER:-postgres}"
export DB_PASSWORD="${DB_PASSWORD:-}"
# CI checks that the script runs with the build it already has (BENCH_PROFILE=dev); figures
# come only from release builds.
BENCH_PROFILE="${BENCH_PROFILE:-release}"
case "$BENCH_PROFILE" in
  release) PROFILE_DIR=release ;;
  dev) PROFILE_DIR=debug ;;
  *) die "BENCH_PROFILE must be release or dev" ;;
esac
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$PROFILE_DIR"

read -r -a transaksi_flags <<< "$TRANSAKSI_FLAGS"
read -r -a mutasi_flags <<< "$MUTASI_FLAGS"
read -r -a loadgen_flags <<< "$LOADGEN_FLAGS"

part() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }
[[ "$SUSTAIN_SECS" =~ ^[0-9]+$ ]] || die "SUSTAIN_SECS must be a number of seconds"
[[ "$SUSTAIN_PERCENT" =~ ^[1-9][0-9]*$ ]] || die "SUSTAIN_PERCENT must be a positive number"
# pinned CPUS: the taskset prefix of a command pinned to CPUS (nothing when CPUS is empty).
pinned() { if [ -n "$1" ]; then echo taskset -c "$1"; fi; }
for cpus in "$SERVICE_CPUS" "$LOADGEN_CPUS"; do
  if [ -n "$cpus" ]; then
    command -v taskset >/dev/null || apt_install util-linux
    taskset -c "$cpus" true 2>/dev/null || die "taskset -c $cpus fails: SERVICE_CPUS and LOADGEN_CPUS take a CPU list such as 0 or 0-1 (this machine has $(nproc))"
  fi
done
read -r -a service_pin <<< "$(pinned "$SERVICE_CPUS")"
read -r -a loadgen_pin <<< "$(pinned "$LOADGEN_CPUS")"
part pgbench || part load || part platform || die "BENCH_PARTS must name pgbench, load or platform"

# Account numbers of the pgbench database: FIRST_ACCOUNT + 1 ... FIRST_ACCOUNT + ACCOUNTS.
FIRST_ACCOUNT=1000000000
# transaksi's max_saldo(): the deposit guard's bound.
MAX_SALDO=999999999999999999.99

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="$ROOT/.local/bench"
RUN="$OUT/run-$STAMP"
REPORT="$OUT/report-$STAMP.md"
ACCOUNTS_FILE="$OUT/accounts.txt"
REDIS_DIR="$OUT/redis"
mkdir -p "$RUN"
: > "$OUT/transaksi.log"
: > "$OUT/mutasi.log"
: > "$OUT/migrate.log"
git check-ignore -q "$OUT" 2>/dev/null || say "warning: $OUT is not ignored by git"

# ---------------------------------------------------------------------------------------------
# Tools, PostgreSQL

if ! command -v psql >/dev/null || ! command -v pgbench >/dev/null; then
  apt_install postgresql-client
fi
command -v python3 >/dev/null || apt_install python3
if part load || part platform; then
  command -v cargo >/dev/null || die "cargo is required (https://rustup.rs)"
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server redis-tools
  fi
  command -v curl >/dev/null || apt_install curl
fi

pg_isready -q -h "$DB_HOST" -p "$DB_PORT" ||
  die "no PostgreSQL answers on $DB_HOST:$DB_PORT (scripts/run-local.sh starts one)"

pg() { psql -X -q -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" "$@"; }
# pg_value DATABASE SQL: one value.
pg_value() { pg -d "$1" -tAc "$2"; }
fresh_database() {
  say "fresh database $1"
  pg -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}
now_utc() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
now_ns() { date +%s%N; }

# ---------------------------------------------------------------------------------------------
# Processes: everything started here is stopped at exit, also on failure or Ctrl-C.

CHILD=""          # the foreground job (pgbench, loadgen), run in the background to stay killable
TRANSAKSI_PID=""
MUTASI_PID=""
REDIS_PID=""
SAMPLER_PID=""    # the background sampler of the run in progress

# stop_pid PID: SIGTERM, up to 30 s for a graceful exit, then SIGKILL.
stop_pid() {
  local pid="$1"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "process $pid still running after 30 s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$CHILD" ]; then stop_pid "$CHILD"; fi
  stop_pid "$SAMPLER_PID"
  stop_pid "$TRANSAKSI_PID"
  stop_pid "$MUTASI_PID"
  stop_pid "$REDIS_PID"
  if [ "$status" != 0 ]; then
    for log in transaksi.log mutasi.log; do
      [ -s "$OUT/$log" ] || continue
      say "--- last lines of $OUT/$log"; tail -n 15 "$OUT/$log" >&2
    done
    say "failed (exit $status); raw files in $RUN"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_foreground OUTPUT COMMAND...: runs COMMAND (stdout and stderr to the file OUTPUT) as a
# background job and waits for it, so a signal to this script is handled at once (and cleanup
# stops the command).
in_foreground() {
  local output="$1"
  shift
  "$@" > "$output" 2>&1 &
  CHILD=$!
  note_pid loadgen "$CHILD"
  local status=0
  wait "$CHILD" || status=$?
  CHILD=""
  note_pid loadgen ""
  return "$status"
}

# record NAME COMMAND...: notes a command line for the report.
record() {
  local name="$1"
  shift
  local line="$*"
  printf -- '- %s: %s%s%s\n' "$name" '`' "${line//$ROOT\//}" '`' >> "$RUN/commands.md"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# note_pid NAME PID: where the sampler finds a process (mutasi is restarted in run d; the
# foreground job changes), one file per name under $RUN/pids.
note_pid() { mkdir -p "$RUN/pids"; echo "$2" > "$RUN/pids/$1"; }

# ---------------------------------------------------------------------------------------------
# 1. The machine

machine_description() {
  local cpu mem commit dirty=""
  cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)"
  mem="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  git diff --quiet HEAD 2>/dev/null || dirty=" (with uncommitted changes)"
  echo "# bukubesar benchmark, $STAMP"
  echo
  echo "## Machine"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| CPU | ${cpu:-unknown} |"
  echo "| cores | $(nproc) |"
  echo "| memory | $mem |"
  echo "| kernel | $(uname -srm) |"
  echo "| OS | $(. /etc/os-release && echo "$PRETTY_NAME") |"
  echo "| load average at start | $(cut -d ' ' -f 1-3 /proc/loadavg) |"
  echo "| PostgreSQL | $(pg_value postgres 'SHOW server_version') on $DB_HOST:$DB_PORT |"
  if part load; then
    echo "| Redis | $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), AOF, appendfsync always, port $BENCH_REDIS_PORT |"
    echo "| rustc | $(rustc --version 2>/dev/null || echo unknown) |"
  fi
  echo "| git commit | $commit$dirty |"
  echo
  echo "PostgreSQL settings:"
  echo
  echo "| setting | value |"
  echo "|---|---|"
  pg -d postgres -tA -F ' | ' -c "
    SELECT '| ' || name, current_setting(name) || ' |' FROM pg_settings
     WHERE name IN ('max_connections', 'shared_buffers', 'effective_cache_size', 'work_mem',
                    'fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes',
                    'wal_level', 'wal_buffers', 'commit_delay', 'max_wal_size',
                    'checkpoint_timeout', 'wal_compression')
     ORDER BY name"
  echo
  echo "Settings of this run: BENCH_QUICK=$BENCH_QUICK, BENCH_PARTS=\"$BENCH_PARTS\","
  echo "BENCH_PROFILE=$BENCH_PROFILE, ACCOUNTS=$ACCOUNTS, FUNDING=$FUNDING, TARIK_PERCENT=$TARIK_PERCENT,"
  echo "PGBENCH_SECS=$PGBENCH_SECS, PGBENCH_CLIENTS=$PGBENCH_CLIENTS, PGBENCH_THREADS=$PGBENCH_THREADS,"
  echo "BATCH_SIZE=$BATCH_SIZE, LOAD_SECS=$LOAD_SECS, WARMUP_SECS=$WARMUP_SECS,"
  echo "CONNECTIONS=$CONNECTIONS, BACKLOG=$BACKLOG, STATEMENT_TIMEOUT_SECS=$STATEMENT_TIMEOUT_SECS,"
  echo "TRANSAKSI_FLAGS=\"$TRANSAKSI_FLAGS\", MUTASI_FLAGS=\"$MUTASI_FLAGS\","
  echo "LOADGEN_FLAGS=\"$LOADGEN_FLAGS\", LOG_LEVEL=$LOG_LEVEL, AUTH_CACHE_TTL_SECS=$AUTH_CACHE_TTL_SECS,"
  echo "SUSTAIN_SECS=$SUSTAIN_SECS, SUSTAIN_PERCENT=$SUSTAIN_PERCENT, BENCH_CHART=$BENCH_CHART,"
  echo "SERVICE_CPUS=\"$SERVICE_CPUS\", LOADGEN_CPUS=\"$LOADGEN_CPUS\"."
  if [ -n "$SERVICE_CPUS$LOADGEN_CPUS" ]; then
    echo "Pinned with taskset -c: transaksi and mutasi to CPUs ${SERVICE_CPUS:-any},"
    echo "loadgen and pgbench to CPUs ${LOADGEN_CPUS:-any}; PostgreSQL and Redis run on any CPU."
  else
    echo "Everything (PostgreSQL, Redis, the services, pgbench, loadgen) shares this machine."
  fi
  echo
}

# ---------------------------------------------------------------------------------------------
# 2. The pgbench ceiling

PGBENCH_DB=bench_pgbench

# money_check DATABASE: the balances equal the opening balances plus the customers' journal
# legs, every customer leg has its outbox row, every account's count matches its legs, and the
# trial balance (customers' and the bank's own accounts) is the opening balances (which the
# seed wrote without legs).
money_check() {
  local ok
  ok="$(pg_value "$1" "
    SELECT (SELECT sum(saldo) FROM rekening)
             = (SELECT count(*) * $FUNDING FROM rekening)
               + (SELECT coalesce(sum(CASE jenis_transaksi WHEN 'C' THEN nominal
                                                            ELSE -nominal END), 0)
                    FROM jurnal WHERE no_rekening IS NOT NULL)
       AND (SELECT count(*) FROM jurnal WHERE no_rekening IS NOT NULL)
           = (SELECT count(*) FROM outbox)
       AND (SELECT sum(jumlah_transaksi) FROM rekening)
           = (SELECT count(*) FROM jurnal WHERE no_rekening IS NOT NULL)
       AND (SELECT sum(saldo) FROM neraca_saldo) = (SELECT count(*) * $FUNDING FROM rekening)")"
  [ "$ok" = t ] && echo true || echo false
}

# pgbench_run NAME ACCOUNTS OPS_PER_TX SCRIPT: one pgbench run into $RUN/NAME.json.
pgbench_run() {
  local name="$1" accounts="$2" ops="$3" script="$4"
  local cmd=(pgbench -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -n -M prepared
             -c "$PGBENCH_CLIENTS" -j "$PGBENCH_THREADS" -T "$PGBENCH_SECS"
             -D first="$FIRST_ACCOUNT" -D accounts="$accounts"
             -D tabung_percent="$((100 - TARIK_PERCENT))" -D max_saldo="$MAX_SALDO"
             -l --log-prefix "$RUN/$name.tx" -f "$script" "$PGBENCH_DB")
  cmd=("${loadgen_pin[@]}" "${cmd[@]}")
  record "$name" "${cmd[@]}"
  pg_value "$PGBENCH_DB" CHECKPOINT >/dev/null
  say "pgbench $name: ${PGBENCH_SECS}s, $PGBENCH_CLIENTS clients, $accounts account(s), $ops posting(s)/transaction"
  start_perf "$name" "$((PGBENCH_SECS > 3 ? PGBENCH_SECS - 2 : 1))"
  in_foreground "$RUN/$name.txt" "${cmd[@]}" ||
    { cat "$RUN/$name.txt" >&2; die "pgbench $name failed"; }
  stop_perf "$name"
  python3 scripts/bench/bench.py pgbench-summary "$name" "$RUN/$name.txt" "$ops" \
    "$(money_check "$PGBENCH_DB")" "$RUN/$name".tx.* > "$RUN/$name.json"
  rm -f "$RUN/$name".tx.*
  say "  $(grep '^tps' "$RUN/$name.txt")"
}

pgbench_ceiling() {
  fresh_database "$PGBENCH_DB"
  "$BIN/transaksi" migrate --db-name "$PGBENCH_DB" --db-host "$DB_HOST" --db-port "$DB_PORT" \
    --log-level "$LOG_LEVEL" >> "$OUT/migrate.log" 2>&1 ||
    { tail -n 20 "$OUT/migrate.log" >&2; die "transaksi migrate $PGBENCH_DB failed"; }
  say "seeding $ACCOUNTS accounts"
  pg -d "$PGBENCH_DB" -v accounts="$ACCOUNTS" -v first="$FIRST_ACCOUNT" -v funding="$FUNDING" \
    -f scripts/bench/seed.sql
  # The batched reference: BATCH_SIZE postings in one transaction, pipelined (sent without
  # waiting for each answer: one round trip and one commit for the lot, as group commit would).
  { printf '%s\n' '\startpipeline'
    echo 'BEGIN;'
    for _ in $(seq 1 "$BATCH_SIZE"); do cat scripts/bench/posting.sql; done
    echo 'COMMIT;'
    printf '%s\n' '\endpipeline'
  } > "$RUN/posting-batch.sql"
  pgbench_run pgbench-hot 1 1 scripts/bench/posting.sql
  pgbench_run pgbench-spread "$ACCOUNTS" 1 scripts/bench/posting.sql
  pgbench_run pgbench-batch 1 "$BATCH_SIZE" "$RUN/posting-batch.sql"
}

# ---------------------------------------------------------------------------------------------
# 3. The platform

MUTASI_STARTED=""
T_URL="http://127.0.0.1:$TRANSAKSI_PORT"
M_URL="http://127.0.0.1:$MUTASI_PORT"
# transaksi's /metrics (its private listener), read by loadgen for the argon2 verifications.
T_METRICS_URL="http://127.0.0.1:$TRANSAKSI_METRICS_PORT"
common=(--db-host "$DB_HOST" --db-port "$DB_PORT" --redis-host 127.0.0.1
        --redis-port "$BENCH_REDIS_PORT" --log-level "$LOG_LEVEL")
serve=(--auth-cache-ttl-secs "$AUTH_CACHE_TTL_SECS")

redis_up() { redis-cli -h 127.0.0.1 -p "$BENCH_REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

# A fresh durable Redis of the benchmark's own, as scripts/run-local.sh runs it.
start_redis() {
  local old
  # One left behind by an interrupted run (its pid file, and it is a redis-server).
  if [ -f "$REDIS_DIR/redis.pid" ]; then
    old="$(cat "$REDIS_DIR/redis.pid")"
    if [[ "$(cat "/proc/$old/comm" 2>/dev/null)" == redis-server* ]]; then
      say "stopping the Redis left by an earlier run (pid $old)"
      kill "$old" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  port_free "$BENCH_REDIS_PORT" || die "port $BENCH_REDIS_PORT is taken (BENCH_REDIS_PORT)"
  rm -rf "$REDIS_DIR"
  mkdir -p "$REDIS_DIR"
  say "fresh Redis on port $BENCH_REDIS_PORT (AOF, appendfsync always) in $REDIS_DIR"
  redis-server --port "$BENCH_REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" \
    --appendonly yes --appendfsync always --save "" \
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
  for _ in $(seq 1 50); do
    if redis_up && [ -s "$REDIS_DIR/redis.pid" ]; then
      REDIS_PID="$(cat "$REDIS_DIR/redis.pid")"
      note_pid redis "$REDIS_PID"
      return 0
    fi
    sleep 0.1
  done
  die "Redis did not start; see $REDIS_DIR/redis.log"
}

# wait_ready NAME PORT PID
wait_ready() {
  local name="$1" port="$2" pid="$3"
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
    kill -0 "$pid" 2>/dev/null || die "$name exited; see $OUT/$name.log"
    sleep 0.1
  done
  die "$name not ready after 60 s; see $OUT/$name.log"
}

start_mutasi() {
  port_free "$MUTASI_PORT" || die "port $MUTASI_PORT is taken (MUTASI_PORT)"
  port_free "$MUTASI_METRICS_PORT" || die "port $MUTASI_METRICS_PORT is taken (MUTASI_METRICS_PORT)"
  local cmd=("${service_pin[@]}" "$BIN/mutasi" --host 127.0.0.1 --port "$MUTASI_PORT"
             --metrics-addr "127.0.0.1:$MUTASI_METRICS_PORT" --db-name bench_mutasi
             --auth-db-name bench_transaksi --consumer bench "${common[@]}" "${serve[@]}"
             "${mutasi_flags[@]}")
  [ -n "$MUTASI_STARTED" ] || record mutasi "${cmd[@]}"
  MUTASI_STARTED=1
  # taskset executes the service in its own process: the pid is the service's.
  "${cmd[@]}" >> "$OUT/mutasi.log" 2>&1 &
  MUTASI_PID=$!
  note_pid mutasi "$MUTASI_PID"
}

stop_mutasi() { stop_pid "$MUTASI_PID"; MUTASI_PID=""; note_pid mutasi ""; }

start_transaksi() {
  port_free "$TRANSAKSI_PORT" || die "port $TRANSAKSI_PORT is taken (TRANSAKSI_PORT)"
  port_free "$TRANSAKSI_METRICS_PORT" ||
    die "port $TRANSAKSI_METRICS_PORT is taken (TRANSAKSI_METRICS_PORT)"
  local cmd=("${service_pin[@]}" "$BIN/transaksi" --host 127.0.0.1 --port "$TRANSAKSI_PORT"
             --metrics-addr "127.0.0.1:$TRANSAKSI_METRICS_PORT"
             --db-name bench_transaksi "${common[@]}" "${serve[@]}" "${transaksi_flags[@]}")
  record transaksi "${cmd[@]}"
  "${cmd[@]}" >> "$OUT/transaksi.log" 2>&1 &
  TRANSAKSI_PID=$!
  note_pid transaksi "$TRANSAKSI_PID"
}

start_platform() {
  start_redis
  fresh_database bench_transaksi
  fresh_database bench_mutasi
  # transaksi's migrations first: they grant mutasi's role the credential columns it reads.
  "$BIN/transaksi" migrate --db-name bench_transaksi "${common[@]}" >> "$OUT/migrate.log" 2>&1 ||
    { tail -n 20 "$OUT/migrate.log" >&2; die "transaksi migrate failed"; }
  "$BIN/mutasi" migrate --db-name bench_mutasi --auth-db-name bench_transaksi "${common[@]}" \
    >> "$OUT/migrate.log" 2>&1 ||
    { tail -n 20 "$OUT/migrate.log" >&2; die "mutasi migrate failed"; }
  say "mutasi on $M_URL"
  start_mutasi
  wait_ready mutasi "$MUTASI_PORT" "$MUTASI_PID"
  say "transaksi on $T_URL ${TRANSAKSI_FLAGS:+(flags: $TRANSAKSI_FLAGS)}"
  start_transaksi
  wait_ready transaksi "$TRANSAKSI_PORT" "$TRANSAKSI_PID"
}

stop_platform() {
  say "stopping transaksi, mutasi and Redis"
  stop_pid "$TRANSAKSI_PID"; TRANSAKSI_PID=""
  stop_mutasi
  stop_pid "$REDIS_PID"; REDIS_PID=""
}

# ---------------------------------------------------------------------------------------------
# Samples: one row a second beside each loadgen run (resources, backlogs), database sizes.

CLK_TCK="$(getconf CLK_TCK)"
STREAM=mutasi   # transaksi's and mutasi's --stream default (common/src/stream.rs)
GROUP=mutasi    # mutasi's --group default (mutasi/src/config.rs)
SAMPLE_HEADER="unix_time,transaksi_rss_kb,transaksi_hwm_kb,transaksi_cpu_s,mutasi_rss_kb,mutasi_hwm_kb,mutasi_cpu_s,redis_cpu_s,loadgen_cpu_s,postgres_cpu_s,machine_busy_s,machine_total_s,outbox_backlog,stream_pending,stream_lag"
POSTMASTER_PID=""

# The local PostgreSQL server's postmaster (the parent of its checkpointer), when its processes
# are visible here; else its CPU is not measured.
find_postmaster() {
  local checkpointer ppid
  case "$DB_HOST" in 127.0.0.1|localhost|::1) ;; *) return 0 ;; esac
  checkpointer="$(pg_value postgres \
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'" 2>/dev/null)" || return 0
  [ -n "$checkpointer" ] && [ -r "/proc/$checkpointer/status" ] || return 0
  ppid="$(awk '/^PPid:/ { print $2 }' "/proc/$checkpointer/status")"
  [ "$(cat "/proc/$ppid/comm" 2>/dev/null)" = postgres ] && POSTMASTER_PID="$ppid"
  return 0
}

# cpu_ticks PID [children]: sets TICKS to the process's utime + stime in clock ticks (with
# "children": plus its reaped children's, cutime + cstime); empty when it is gone.
cpu_ticks() {
  local line f
  TICKS=""
  [ -n "$1" ] || return 0
  read -r line 2>/dev/null < "/proc/$1/stat" || return 0
  # Fields after "pid (comm) ": state is 0, utime 11, stime 12, cutime 13, cstime 14.
  read -r -a f <<< "${line##*) }"
  if [ "${2:-}" = children ]; then TICKS=$((f[11] + f[12] + f[13] + f[14]))
  else TICKS=$((f[11] + f[12])); fi
}

# memory PID: sets RSS and HWM (VmRSS, VmHWM in kB; empty when the process is gone).
memory() {
  local key value _unit
  RSS="" HWM=""
  [ -n "$1" ] && [ -r "/proc/$1/status" ] || return 0
  while read -r key value _unit; do
    case "$key" in
      VmRSS:) RSS="$value" ;;
      VmHWM:) HWM="$value" ;;
    esac
  done 2>/dev/null < "/proc/$1/status"
}

# seconds TICKS: sets SECS to clock ticks as seconds (empty stays empty).
seconds() {
  SECS=""
  if [ -n "$1" ]; then printf -v SECS '%d.%02d' $(($1 / CLK_TCK)) $(($1 % CLK_TCK * 100 / CLK_TCK)); fi
}

# pid_of NAME: sets PID to the process noted by note_pid (empty when none).
pid_of() {
  PID=""
  read -r PID 2>/dev/null < "$RUN/pids/$1" || true
}

# The same statement as transaksi's Datastore::outbox_backlog (an index range from the
# watermark up; a join with relay_watermark scans the whole outbox every second).
BACKLOG_SQL="SELECT count(*) FROM outbox
              WHERE writer_xid >= (SELECT writer_xid FROM relay_watermark)
                AND (writer_xid, urutan) > (SELECT writer_xid, urutan FROM relay_watermark);"

# outbox_backlog: sets OUTBOX_BACKLOG to the rows after the relay watermark (as transaksi's
# outbox_backlog metric; empty when unreadable), through the sampler's own psql session when
# it has one (a psql started every second costs more CPU than the query).
outbox_backlog() {
  local line
  OUTBOX_BACKLOG=""
  if [ -z "${SAMPLER_PSQL_PID:-}" ]; then
    OUTBOX_BACKLOG="$(pg_value bench_transaksi "$BACKLOG_SQL" 2>/dev/null)" || OUTBOX_BACKLOG=""
    return 0
  fi
  # A sentinel row ends each answer, so a failed query (only the sentinel) cannot block.
  printf '%s\n' "$BACKLOG_SQL" "SELECT 'end';" 2>/dev/null 1>&"${SAMPLER_PSQL[1]}" || return 0
  while read -r -t 5 line <&"${SAMPLER_PSQL[0]}"; do
    [ "$line" != end ] || return 0
    OUTBOX_BACKLOG="$line"
  done
}

# stream_group: sets PENDING and LAG of mutasi's group (XINFO GROUPS; empty when unknown).
stream_group() {
  local key value mine=""
  PENDING="" LAG=""
  # Name, value pairs, one per line (redis-cli without a terminal); one group after another.
  while read -r key && read -r value; do
    case "$key" in
      name) if [ "$value" = "$GROUP" ]; then mine=1; else mine=""; fi ;;
      pending) [ -z "$mine" ] || PENDING="$value" ;;
      lag) [ -z "$mine" ] || LAG="$value" ;;
    esac
  done < <(redis-cli -h 127.0.0.1 -p "$BENCH_REDIS_PORT" XINFO GROUPS "$STREAM" 2>/dev/null)
  [[ "$PENDING" =~ ^[0-9]+$ ]] || PENDING=""
  [[ "$LAG" =~ ^[0-9]+$ ]] || LAG=""
}

# sample_row: one CSV row (SAMPLE_HEADER) of this moment.
sample_row() {
  local now row pg_ticks child user nice system idle iowait irq softirq steal _rest name
  now="$EPOCHREALTIME"
  row="$now"
  for name in transaksi mutasi; do
    pid_of "$name"
    memory "$PID"
    cpu_ticks "$PID"
    seconds "$TICKS"
    row+=",$RSS,$HWM,$SECS"
  done
  for name in redis loadgen; do
    pid_of "$name"
    cpu_ticks "$PID"
    seconds "$TICKS"
    row+=",$SECS"
  done
  # The whole server: the postmaster with its reaped children, and every living child.
  pg_ticks=""
  if [ -n "$POSTMASTER_PID" ]; then
    cpu_ticks "$POSTMASTER_PID" children
    pg_ticks="$TICKS"
    if [ -n "$pg_ticks" ]; then
      local children=()
      read -r -a children 2>/dev/null < "/proc/$POSTMASTER_PID/task/$POSTMASTER_PID/children" || true
      for child in "${children[@]}"; do
        cpu_ticks "$child"
        pg_ticks=$((pg_ticks + ${TICKS:-0}))
      done
    fi
  fi
  seconds "$pg_ticks"
  row+=",$SECS"
  read -r _ user nice system idle iowait irq softirq steal _rest < /proc/stat
  local busy=$((user + nice + system + irq + softirq + steal))
  seconds "$busy"
  row+=",$SECS"
  seconds $((busy + idle + iowait))
  row+=",$SECS"
  outbox_backlog
  stream_group
  echo "$row,$OUTBOX_BACKLOG,$PENDING,$LAG"
}

# sampler FILE: a row a second until stopped (runs in the background; its psql session ends
# with it, at the end of its input).
sampler() {
  set +e
  local next step=1000000 wait_us pause
  coproc SAMPLER_PSQL { psql -X -q -tA -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d bench_transaksi 2>/dev/null; }
  next="${EPOCHREALTIME/./}"
  while :; do
    sample_row >> "$1"
    next=$((next + step))
    wait_us=$((next - ${EPOCHREALTIME/./}))
    if [ "$wait_us" -gt 0 ]; then
      printf -v pause '%d.%06d' $((wait_us / 1000000)) $((wait_us % 1000000))
      sleep "$pause"
    else
      next="${EPOCHREALTIME/./}"
    fi
  done
}

# start_sampler NAME: samples into $RUN/NAME-samples.csv until stop_sampler.
start_sampler() {
  echo "$SAMPLE_HEADER" > "$RUN/$1-samples.csv"
  sampler "$RUN/$1-samples.csv" &
  SAMPLER_PID=$!
}

stop_sampler() { stop_pid "$SAMPLER_PID"; SAMPLER_PID=""; }

# start_perf NAME SECONDS [ANNOUNCEMENT]: when PERF_RUNS names the run, records every CPU's
# samples for SECONDS into $RUN/NAME.perf.data: from a second after the start, or from
# WARMUP_SECS after a line of $RUN/NAME.log matches ANNOUNCEMENT (loadgen's "load: ..." as its
# measured phase begins).
PERF_PID=""
start_perf() {
  [[ " $PERF_RUNS " == *" $1 "* ]] || return 0
  command -v perf >/dev/null || apt_install linux-perf
  (
    if [ -n "${3:-}" ]; then
      until grep -q "$3" "$RUN/$1.log" 2>/dev/null; do sleep 0.1; done
      sleep "$WARMUP_SECS"
    else
      sleep 1   # the client connects
    fi
    mkdir -p "$RUN/pids"
    cp -r "$RUN/pids" "$RUN/$1.perf-pids"
    # Which database each PostgreSQL backend serves (connected by now: the services' pools,
    # pgbench's clients).
    pg_value postgres "SELECT pid || ',' || coalesce(datname, '') || ',' || backend_type
                         FROM pg_stat_activity" > "$RUN/$1.perf-backends.csv" || true
    echo "$PERF_FREQ $2" > "$RUN/$1.perf-settings"
    exec perf record -a -F "$PERF_FREQ" -o "$RUN/$1.perf.data" -- sleep "$2"
  ) > "$RUN/$1.perf.log" 2>&1 &
  PERF_PID=$!
}

# stop_perf NAME: waits for the recording (it ends by itself), then lists its samples
# (pid, comm, dso, symbol) for the report.
stop_perf() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  [ -s "$RUN/$1.perf.data" ] || { say "  no perf samples for $1 (see $RUN/$1.perf.log)"; return 0; }
  perf script -i "$RUN/$1.perf.data" -F comm,pid,ip,sym,dso 2>/dev/null |
    gzip > "$RUN/$1.perf-samples.gz"
  rm -f "$RUN/$1.perf.data"
}

# sample_once NAME: one row into $RUN/NAME-samples.csv (the services at rest).
sample_once() {
  { echo "$SAMPLE_HEADER"; sample_row; } > "$RUN/$1-samples.csv"
}

# db_sizes LABEL: both databases' size, the customers' journal legs and the statement rows,
# one row of $RUN/db-sizes.csv.
db_sizes() {
  local file="$RUN/db-sizes.csv"
  [ -s "$file" ] || echo "label,unix_time,transaksi_bytes,mutasi_bytes,postings,statement_rows,outbox_rows" > "$file"
  echo "$1,$EPOCHREALTIME,$(pg_value bench_transaksi "SELECT pg_database_size(current_database()) || ',' || (SELECT pg_database_size('bench_mutasi')) || ',' || (SELECT count(*) FROM jurnal WHERE no_rekening IS NOT NULL)"),$(pg_value bench_mutasi 'SELECT count(*) FROM mutasi'),$(pg_value bench_transaksi 'SELECT count(*) FROM outbox')" >> "$file"
}

# ---------------------------------------------------------------------------------------------
# 4. loadgen

FAILED_RUNS=()

# loadgen_run NAME FLAGS...: one loadgen run; its summary goes to $RUN/NAME.json, its exit
# status to $RUN/NAME.status, its seconds to $RUN/NAME-timeline.csv, the sampler's rows to
# $RUN/NAME-samples.csv. With SAMPLE_TAIL_SECS=N the sampler goes on until N s after the load
# ended (how the backlogs drain).
loadgen_run() {
  local name="$1"
  shift
  local cmd=("$BIN/loadgen" run --transaksi "$T_URL" --mutasi "$M_URL"
             --transaksi-metrics "$T_METRICS_URL"
             --accounts "$ACCOUNTS" --accounts-file "$ACCOUNTS_FILE"
             --tarik-percent "$TARIK_PERCENT" --connections "$CONNECTIONS"
             --warmup-secs "$WARMUP_SECS" --funding "$FUNDING"
             --json "$RUN/$name.json" --label "$name" "$@" "${loadgen_flags[@]}")
  cmd=("${loadgen_pin[@]}" "${cmd[@]}" --timeline "$RUN/$name-timeline.csv")
  record "$name" "${cmd[@]}"
  say "loadgen $name: $*"
  local status=0
  start_sampler "$name"
  start_perf "$name" "$LOAD_SECS" '^load: '
  in_foreground "$RUN/$name.log" "${cmd[@]}" || status=$?
  stop_perf "$name"
  sample_tail "$RUN/$name-timeline.csv" "${SAMPLE_TAIL_SECS:-0}"
  stop_sampler
  echo "$status" > "$RUN/$name.status"
  if [ "$status" != 0 ]; then
    FAILED_RUNS+=("$name")
    say "  loadgen $name failed its checks or broke (exit $status); last lines of $RUN/$name.log:"
    tail -n 15 "$RUN/$name.log" >&2
  fi
  if [ -s "$RUN/$name.json" ]; then
    python3 - "$RUN/$name.json" >&2 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
l = d.get("latency_ms") or {}
print(f"[bench]   {d.get('throughput_ops_s', 0):.0f} ops/s, p50 {l.get('p50')} ms, "
      f"p99 {l.get('p99')} ms, status {d.get('status_counts')}, "
      f"transport errors {d.get('transport_errors')}, money_ok {d.get('money_ok')}, "
      f"statement_ok {d.get('statement_ok')}")
PY
  fi
}

# sample_tail TIMELINE SECONDS: waits until SECONDS after the load's last second (the
# timeline's last row) unless that time has passed.
sample_tail() {
  local last wait_s
  [ "$2" -gt 0 ] && [ -s "$1" ] || return 0
  last="$(tail -n 1 "$1" | cut -d , -f 2)"
  [[ "$last" =~ ^[0-9]+(\.[0-9]+)?$ ]] || return 0
  wait_s="$(awk -v last="$last" -v now="$EPOCHREALTIME" -v tail_s="$2" \
    'BEGIN { w = last + 1 + tail_s - now; printf "%.2f", (w > 0 ? w : 0) }')"
  if [ "$wait_s" != 0.00 ]; then
    say "  sampling the backlogs for $wait_s s more"
    sleep "$wait_s" &
    wait $!
  fi
}

# The mutasi backlog: postings written while mutasi is stopped, then how fast it catches up.
backlog_drain() {
  say "stopping mutasi for the backlog"
  stop_mutasi
  loadgen_run loadgen-backlog --target spread --total-ops "$BACKLOG" --statement-timeout-secs 0
  local load_end waited=0 journal before started now rows elapsed first_row first_rows
  load_end="$(now_ns)"
  start_sampler drain
  # The relay publishes the whole backlog to the stream first (mutasi is not involved).
  until [ "$(pg_value bench_transaksi "$BACKLOG_SQL")" = 0 ]; do
    waited=$((waited + 1))
    [ "$waited" -le $((DRAIN_TIMEOUT_SECS * 10)) ] || die "the relay did not publish the backlog"
    sleep 0.1
  done
  local relay_wait_ns=$(( $(now_ns) - load_end ))
  journal="$(pg_value bench_transaksi 'SELECT count(*) FROM jurnal WHERE no_rekening IS NOT NULL')"
  before="$(pg_value bench_mutasi 'SELECT count(*) FROM mutasi')"
  say "mutasi restarts with $((journal - before)) events to consume"
  started="$(now_ns)"
  start_mutasi
  if [ "$journal" -le "$before" ]; then
    say "no backlog to drain"
    wait_ready mutasi "$MUTASI_PORT" "$MUTASI_PID"
    stop_sampler
    return 0
  fi
  first_row=""
  while :; do
    rows="$(pg_value bench_mutasi 'SELECT count(*) FROM mutasi')"
    if [ -z "$first_row" ] && [ "$rows" -gt "$before" ]; then
      first_row="$(now_ns)"; first_rows="$rows"
    fi
    [ "$rows" -lt "$journal" ] || break
    now="$(now_ns)"
    [ $(( (now - started) / 1000000000 )) -lt "$DRAIN_TIMEOUT_SECS" ] ||
      die "mutasi did not catch up in $DRAIN_TIMEOUT_SECS s ($rows of $journal rows)"
    kill -0 "$MUTASI_PID" 2>/dev/null || die "mutasi exited during the drain; see $OUT/mutasi.log"
    sleep 0.1
  done
  now="$(now_ns)"
  [ -n "$first_row" ] || { first_row="$now"; first_rows="$journal"; }
  elapsed=$((now - started))
  python3 - "$((journal - before))" "$elapsed" "$relay_wait_ns" \
    "$((journal - first_rows))" "$((now - first_row))" "$((first_row - started))" \
    > "$RUN/drain.json" <<'PY'
import json, sys
events, ns, relay_ns, after, after_ns, first_ns = map(int, sys.argv[1:])
s = ns / 1e9
print(json.dumps({
    "events": events, "seconds": s, "events_s": events / s if s else None,
    "relay_wait_s": relay_ns / 1e9,
    # From the first poll that saw consumed rows (start-up left out): the steady rate.
    "first_rows_after_s": first_ns / 1e9,
    "events_after_first": after,
    "events_s_after_first": after / (after_ns / 1e9) if after_ns > 0 else None,
}))
PY
  say "  drain: $(cat "$RUN/drain.json")"
  wait_ready mutasi "$MUTASI_PORT" "$MUTASI_PID"
  stop_sampler
}

# statement_delay SINCE UNTIL FILE: scripts/statement-delay.sh's query over one window, as JSON
# into $RUN/FILE.
statement_delay() {
  pg -d bench_mutasi -tA -v since="$1" -v until="$2" > "$RUN/$3" <<'SQL'
WITH d AS (
    SELECT extract(epoch FROM diterima_pada - tanggal_transaksi) * 1000 AS ms
      FROM mutasi
     WHERE tanggal_transaksi >= :'since'::timestamptz
       AND tanggal_transaksi < :'until'::timestamptz
)
SELECT json_build_object(
         'since', :'since', 'until', :'until', 'rows', count(*),
         'p50_ms', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
         'p90_ms', round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 1),
         'p99_ms', round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
         'max_ms', round(max(ms)::numeric, 1))
  FROM d;
SQL
  say "  statement delay: $(cat "$RUN/$3")"
  # The same per second of commit, for the timeline chart.
  { echo "unix_time,rows,p50_ms,p99_ms,max_ms"
    pg -d bench_mutasi -tA -F , -v since="$1" -v until="$2" <<'SQL'
WITH d AS (
    SELECT date_trunc('second', tanggal_transaksi) AS second,
           extract(epoch FROM diterima_pada - tanggal_transaksi) * 1000 AS ms
      FROM mutasi
     WHERE tanggal_transaksi >= :'since'::timestamptz
       AND tanggal_transaksi < :'until'::timestamptz
)
SELECT extract(epoch FROM second), count(*),
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(max(ms)::numeric, 1)
  FROM d GROUP BY second ORDER BY second;
SQL
  } > "$RUN/${3%.json}-seconds.csv"
}

load_runs() {
  # The accounts file belongs to bench_transaksi, which was just recreated.
  rm -f "$ACCOUNTS_FILE"
  loadgen_run loadgen-hot --target hot --duration-secs "$LOAD_SECS" \
    --statement-timeout-secs "$STATEMENT_TIMEOUT_SECS"
  loadgen_run loadgen-spread --target spread --duration-secs "$LOAD_SECS" \
    --statement-timeout-secs "$STATEMENT_TIMEOUT_SECS"
  # Database growth from here on (run a registered the accounts: not postings).
  db_sizes before
  # Transfers beside deposits, in the same run: deposits only, then transfers only (to another
  # account of the run, drawn uniformly).
  TARIK_PERCENT=0 loadgen_run loadgen-deposit --target spread --duration-secs "$LOAD_SECS" \
    --statement-timeout-secs "$STATEMENT_TIMEOUT_SECS"
  loadgen_run loadgen-transfer --target spread --transfer-percent 100 \
    --duration-secs "$LOAD_SECS" --statement-timeout-secs "$STATEMENT_TIMEOUT_SECS"
  local peak half since until sustain sustain_since sustain_until
  peak="$(python3 -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["throughput_ops_s"]))' \
    "$RUN/loadgen-spread.json" 2>/dev/null || echo 0)"
  half=$((peak / 2))
  if [ "$half" -ge 1 ]; then
    since="$(now_utc)"
    loadgen_run loadgen-half --target spread --rate "$half" --duration-secs "$LOAD_SECS" \
      --statement-timeout-secs "$STATEMENT_TIMEOUT_SECS"
    until="$(now_utc)"
  else
    say "no throughput from run b: skipping the open-loop run"
  fi
  # Sustained: SUSTAIN_PERCENT of b's peak for SUSTAIN_SECS; the sampler goes on for 10 s after
  # the load to see the outbox and the stream empty again.
  sustain=$((peak * SUSTAIN_PERCENT / 100))
  if [ "$SUSTAIN_SECS" -gt 0 ] && [ "$sustain" -ge 1 ]; then
    sustain_since="$(now_utc)"
    SAMPLE_TAIL_SECS=10 loadgen_run loadgen-sustained --target spread --rate "$sustain" \
      --duration-secs "$SUSTAIN_SECS" --statement-timeout-secs "$STATEMENT_TIMEOUT_SECS"
    sustain_until="$(now_utc)"
  else
    say "skipping the sustained run (SUSTAIN_SECS=$SUSTAIN_SECS, rate $sustain)"
  fi
  backlog_drain
  db_sizes after
  if [ -n "${since:-}" ]; then statement_delay "$since" "$until" delay.json; fi
  if [ -n "${sustain_since:-}" ]; then
    statement_delay "$sustain_since" "$sustain_until" delay-sustained.json
  fi
}

# ---------------------------------------------------------------------------------------------

if part load || part platform; then
  packages=(-p transaksi -p mutasi)
  if part load; then packages+=(-p loadgen); fi
  say "building ${packages[*]} ($BENCH_PROFILE)"
  cargo build --profile "$BENCH_PROFILE" -q "${packages[@]}"
else
  say "building transaksi ($BENCH_PROFILE; its migrations create pgbench's schema)"
  cargo build --profile "$BENCH_PROFILE" -q -p transaksi
fi

cp /proc/loadavg "$RUN/loadavg-start"
machine_description > "$RUN/machine.md"

if part pgbench; then
  pgbench_ceiling
fi
if part load; then
  start_platform
  find_postmaster
  sample_once rest
  load_runs
  stop_platform
elif part platform; then
  start_platform
  say "platform ready: $T_URL, $M_URL"
  stop_platform
fi

# The charts: never a reason to fail the run (PyPI may be out of reach).
CHART="" TIMELINE_CHART="" CHART_NOTE=""
chart_python() {
  if [ -x "$OUT/venv/bin/python" ] && "$OUT/venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
    return 0
  fi
  say "installing matplotlib into $OUT/venv"
  { python3 -m venv "$OUT/venv" 2>/dev/null && [ -x "$OUT/venv/bin/pip" ]; } ||
    { (apt_install python3-venv) && python3 -m venv "$OUT/venv"; } || return 1
  "$OUT/venv/bin/pip" install -q matplotlib
}
if [ "$BENCH_CHART" = 1 ]; then
  if ! chart_python; then
    CHART_NOTE="No charts: matplotlib could not be installed into .local/bench/venv."
  else
    if "$OUT/venv/bin/python" scripts/bench/bench.py chart "$RUN" "$OUT/latency-$STAMP.png"; then
      CHART="latency-$STAMP.png"
    else
      say "no latency chart drawn"
    fi
    if "$OUT/venv/bin/python" scripts/bench/bench.py timeline-chart "$RUN" "$OUT/timeline-$STAMP.png"; then
      TIMELINE_CHART="timeline-$STAMP.png"
    else
      say "no timeline chart drawn"
    fi
  fi
else
  CHART_NOTE="No charts (BENCH_CHART=0); \`$OUT/venv/bin/python scripts/bench/bench.py timeline-chart RUNDIR PNG\` draws one afterwards."
  CHART_NOTE="${CHART_NOTE//$ROOT\//}"
fi

{
  cat "$RUN/machine.md"
  echo "Load average at the end: $(cut -d ' ' -f 1-3 /proc/loadavg)."
  # Only the start counts: during the run the benchmark itself loads every core.
  if awk -v cores="$(nproc)" '{ exit !($1 > cores) }' "$RUN/loadavg-start"; then
    echo "**The machine was busy with other work when the run started (1-minute load average"
    echo "above the core count): the figures, and the ratios between runs, are not representative.**"
  fi
  echo
  python3 scripts/bench/bench.py report "$RUN"
  if [ -n "$TIMELINE_CHART" ]; then
    echo "![throughput, statement delay, backlogs and memory over time]($TIMELINE_CHART)"
    echo
  fi
  if [ -n "$CHART" ]; then
    echo "![latency percentiles]($CHART)"
    echo
  fi
  if [ -n "$CHART_NOTE" ]; then
    echo "$CHART_NOTE"
    echo
  fi
  if [ -s "$RUN/commands.md" ]; then
    echo "## Commands"
    echo
    cat "$RUN/commands.md"
    echo
  fi
  echo "Raw files: .local/bench/run-$STAMP/"
} > "$REPORT"
cat "$REPORT"
say "report saved to $REPORT"

if [ "${#FAILED_RUNS[@]}" != 0 ]; then
  die "loadgen runs that failed their checks: ${FAILED_RUNS[*]}"
fi
