#!/usr/bin/env bash
# Runs bukubesar on this machine without Docker: PostgreSQL (the one answering on DB_PORT, the
# installed Debian cluster, or a private one under .local/pg), a durable Redis (AOF,
# appendfsync always) under .local/redis unless one answers on REDIS_PORT, both databases,
# a build of the services, then transaksi and mutasi. Logs of both go to stdout (JSON lines).
# Ctrl-C stops everything it started: the services, its Redis and the PostgreSQL it started.
#
#   scripts/run-local.sh                 # transaksi :8080, mutasi :8081 (their /metrics on
#                                        # 127.0.0.1:9180 and :9181, never on the API ports)
#   PORT=9090 MUTASI_PORT=9091 scripts/run-local.sh
#   scripts/run-local.sh status          # what runs, on which port
#   scripts/run-local.sh stop            # stops what an earlier run left (e.g. after kill -9)
#   scripts/smoke.sh http://127.0.0.1:8080 http://127.0.0.1:8081   # in another terminal
#
# Environment: PORT (8080, transaksi), MUTASI_PORT (8081), METRICS_PORT (9180, transaksi's
# /metrics), MUTASI_METRICS_PORT (9181), REDIS_PORT (6380: the project's own
# durable Redis, not the machine's), REDIS_PASSWORD (none), DB_HOST (127.0.0.1), DB_PORT (5432),
# DB_USER (postgres), DB_PASSWORD (none), LOG_LEVEL (info), BUILD_PROFILE (release; dev builds
# faster and runs slower), BIN_DIR (use the binaries there, build nothing),
# LOCAL_DIR (.local: where the private PostgreSQL, the Redis and the pid files live).
set -euo pipefail

cd "$(dirname "$0")/.."
DB_HOST="${DB_HOST:-127.0.0.1}"
DB_PORT="${DB_PORT:-5432}"
export DB_USER="${DB_USER:-postgres}"
PORT="${PORT:-8080}"
MUTASI_PORT="${MUTASI_PORT:-8081}"
METRICS_PORT="${METRICS_PORT:-9180}"
MUTASI_METRICS_PORT="${MUTASI_METRICS_PORT:-9181}"
REDIS_PORT="${REDIS_PORT:-6380}"
LOG_LEVEL="${LOG_LEVEL:-info}"
BUILD_PROFILE="${BUILD_PROFILE:-release}"
LOCAL_DIR="$(mkdir -p "${LOCAL_DIR:-.local}" && cd "${LOCAL_DIR:-.local}" && pwd)"
RUN_DIR="$LOCAL_DIR/run"
mkdir -p "$RUN_DIR"

say() { echo "[run-local] $*" >&2; }
die() { say "$*"; exit 1; }

as_root() { [ "$(id -u)" = 0 ]; }

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# listening PORT: true when something accepts connections on 127.0.0.1:PORT.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# who_listens PORT: the process on it, when ss can tell.
who_listens() {
  command -v ss >/dev/null || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\),pid=\([0-9]*\).*/ (\1, pid \2)/p' | head -n 1
}

pg_up() { pg_isready -q -h "$DB_HOST" -p "$DB_PORT" 2>/dev/null; }

redis_up() {
  REDISCLI_AUTH="${REDIS_PASSWORD:-}" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

# Every port is checked before anything is built or started: a busy service port ends the run
# here, naming the variable that moves it.
check_ports() {
  local busy=0 variable port name
  for entry in "PORT:$PORT:transaksi" "MUTASI_PORT:$MUTASI_PORT:mutasi" \
      "METRICS_PORT:$METRICS_PORT:transaksi metrics" "MUTASI_METRICS_PORT:$MUTASI_METRICS_PORT:mutasi metrics"; do
    IFS=: read -r variable port name <<<"$entry"
    if listening "$port"; then
      say "port $port ($name) is already in use$(who_listens "$port"); choose another: $variable=<port> scripts/run-local.sh (scripts/run-local.sh status shows what runs)"
      busy=1
    fi
  done
  local ports
  ports="$(printf '%s\n' "$PORT" "$MUTASI_PORT" "$METRICS_PORT" "$MUTASI_METRICS_PORT" | sort | uniq -d)"
  [ -z "$ports" ] || { say "PORT, MUTASI_PORT, METRICS_PORT and MUTASI_METRICS_PORT must differ (twice: $ports)"; busy=1; }
  if listening "$REDIS_PORT" && ! redis_up; then
    say "port $REDIS_PORT is in use$(who_listens "$REDIS_PORT") but no Redis answers there; choose another: REDIS_PORT=<port> scripts/run-local.sh"
    busy=1
  fi
  [ "$busy" = 0 ] || exit 1
}

# What this run started, to stop at exit (and for `stop` after a run that could not clean up).
STARTED_PG=""
started() { echo "$2" > "$RUN_DIR/$1"; }

ensure_postgres() {
  command -v pg_isready >/dev/null || apt_install postgresql postgresql-client
  pg_up && return 0
  # A Debian cluster on that port that is installed but stopped (containers have no systemd).
  if command -v pg_lsclusters >/dev/null; then
    local version cluster port
    while read -r version cluster port _; do
      [ "$port" = "$DB_PORT" ] || continue
      say "starting PostgreSQL cluster $version/$cluster"
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
      for _ in $(seq 1 30); do
        if pg_up; then STARTED_PG="cluster $version $cluster"; started postgres "$STARTED_PG"; return 0; fi
        sleep 1
      done
    done < <(pg_lsclusters -h 2>/dev/null)
  fi
  # Otherwise a private cluster in $LOCAL_DIR/pg (kept between runs).
  local bin
  bin="$(newest_pg_bin)"
  [ -n "$bin" ] || { apt_install postgresql; bin="$(newest_pg_bin)"; }
  local dir="$LOCAL_DIR/pg" run=()
  mkdir -p "$dir"
  if as_root; then chown -R postgres:postgres "$dir"; run=(runuser -u postgres --); fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "initialising a private PostgreSQL in $dir"
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  say "starting the private PostgreSQL on port $DB_PORT"
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-p $DB_PORT -k $dir -c listen_addresses=$DB_HOST" start >/dev/null
  pg_up || die "PostgreSQL did not start; see $dir/postgres.log"
  STARTED_PG="private $bin $dir/data"
  started postgres "$STARTED_PG"
}

# Redis holds events between publish and consume: the project runs it with AOF and
# appendfsync always, so an acknowledged XADD survives a crash.
ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  redis_up && return 0
  local dir="$LOCAL_DIR/redis"
  mkdir -p "$dir"
  say "starting a durable Redis (AOF, appendfsync always) on port $REDIS_PORT in $dir"
  local auth=()
  [ -n "${REDIS_PASSWORD:-}" ] && auth=(--requirepass "$REDIS_PASSWORD")
  rm -f "$dir/redis.pid"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" \
    --appendonly yes --appendfsync always --save "" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "${auth[@]}"
  for _ in $(seq 1 50); do
    if redis_up && [ -s "$dir/redis.pid" ]; then started redis "$(cat "$dir/redis.pid")"; return 0; fi
    sleep 0.1
  done
  die "Redis did not start; see $dir/redis.log"
}

ensure_database() {
  local name="$1"
  if ! PGPASSWORD="${DB_PASSWORD:-}" psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    say "creating database $name"
    PGPASSWORD="${DB_PASSWORD:-}" createdb -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" "$name"
  fi
}

# Cargo's own progress (its bar on a terminal, one line per crate otherwise), and a heartbeat
# with the elapsed time when it is not a terminal, since one crate can take minutes.
build() {
  if [ -n "${BIN_DIR:-}" ]; then BIN="$BIN_DIR"; return 0; fi
  command -v cargo >/dev/null || die "cargo is required (https://rustup.rs)"
  local flags=(--profile "$BUILD_PROFILE") dir="$BUILD_PROFILE" start=$SECONDS heartbeat=""
  [ "$BUILD_PROFILE" = dev ] && dir=debug
  say "building transaksi and mutasi ($BUILD_PROFILE; the first build takes several minutes, about 15 on 2 busy cores; BUILD_PROFILE=dev is quicker)"
  if [ ! -t 2 ]; then
    ( while sleep 30; do say "still building ($(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s)"; done ) &
    heartbeat=$!
  fi
  local status=0
  cargo build "${flags[@]}" -p transaksi -p mutasi || status=$?
  if [ -n "$heartbeat" ]; then kill "$heartbeat" 2>/dev/null || true; wait "$heartbeat" 2>/dev/null || true; fi
  [ "$status" = 0 ] || die "the build failed"
  say "built in $(( (SECONDS - start) / 60 ))m$(( (SECONDS - start) % 60 ))s"
  BIN="${CARGO_TARGET_DIR:-target}/$dir"
}

# wait_answers NAME PORT PID: until NAME answers /readyz (it exits: its log says why).
wait_answers() {
  local name="$1" port="$2" pid="$3"
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "$name exited before answering; its log lines are above"
    sleep 0.1
  done
  die "$name did not answer on port $port within 60 s"
}

# stop_pid NAME FILE: TERM the process whose pid FILE holds, wait for it, remove FILE.
stop_pid() {
  local name="$1" file="$2" pid
  [ -s "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$file"
}

stop_postgres() {
  [ -s "$RUN_DIR/postgres" ] || return 0
  local kind a b
  read -r kind a b < "$RUN_DIR/postgres"
  say "stopping the PostgreSQL this script started"
  case "$kind" in
    cluster) pg_ctlcluster --skip-systemctl-redirect "$a" "$b" stop >/dev/null 2>&1 || true ;;
    private)
      local run=()
      as_root && run=(runuser -u postgres --)
      "${run[@]}" "$a/pg_ctl" -D "$b" -m fast -w stop >/dev/null 2>&1 || true ;;
  esac
  rm -f "$RUN_DIR/postgres"
}

stop_all() {
  stop_pid transaksi "$RUN_DIR/transaksi"
  stop_pid mutasi "$RUN_DIR/mutasi"
  stop_pid Redis "$RUN_DIR/redis"
  stop_postgres
  say "stopped everything this script started"
}

status() {
  local entry name port
  for entry in "transaksi:$PORT" "mutasi:$MUTASI_PORT" "redis:$REDIS_PORT" "postgres:$DB_PORT" \
      "transaksi-metrics:$METRICS_PORT" "mutasi-metrics:$MUTASI_METRICS_PORT"; do
    IFS=: read -r name port <<<"$entry"
    local ours=""
    [ -s "$RUN_DIR/$name" ] && ours=", started by run-local.sh: $(cat "$RUN_DIR/$name")"
    if listening "$port"; then
      echo "$name: port $port answers$(who_listens "$port")$ours"
    else
      echo "$name: nothing on port $port$ours"
    fi
  done
}

case "${1:-run}" in
  status) status; exit 0 ;;
  stop) stop_all; exit 0 ;;
  run) ;;
  *) die "usage: scripts/run-local.sh [run|status|stop]" ;;
esac

# An earlier run that could not clean up (kill -9, a closed terminal) left pid files: a process
# still alive is reported, a dead one forgotten.
check_leftovers() {
  local name
  for name in transaksi mutasi redis; do
    [ -s "$RUN_DIR/$name" ] || continue
    if kill -0 "$(cat "$RUN_DIR/$name")" 2>/dev/null; then
      die "$name from an earlier run still runs (pid $(cat "$RUN_DIR/$name")); scripts/run-local.sh stop ends it"
    fi
    rm -f "$RUN_DIR/$name"
  done
}

check_ports
check_leftovers
trap 'stop_all' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
command -v curl >/dev/null || apt_install curl
ensure_postgres
ensure_redis
ensure_database transaksi
ensure_database mutasi
build

common=(--db-host "$DB_HOST" --db-port "$DB_PORT" --redis-port "$REDIS_PORT" --log-level "$LOG_LEVEL")
# transaksi first: its migrations (applied at its start, once) grant mutasi's role the
# credential columns mutasi reads; mutasi applies its own at its start.
"$BIN/transaksi" --host 127.0.0.1 --port "$PORT" --metrics-addr "127.0.0.1:$METRICS_PORT" "${common[@]}" &
started transaksi $!
wait_answers transaksi "$PORT" "$(cat "$RUN_DIR/transaksi")"
say "transaksi answers on http://127.0.0.1:$PORT (API page: http://127.0.0.1:$PORT/docs)"
"$BIN/mutasi" --host 127.0.0.1 --port "$MUTASI_PORT" --metrics-addr "127.0.0.1:$MUTASI_METRICS_PORT" \
  --consumer "local-$(hostname)" "${common[@]}" &
started mutasi $!
wait_answers mutasi "$MUTASI_PORT" "$(cat "$RUN_DIR/mutasi")"
say "mutasi answers on http://127.0.0.1:$MUTASI_PORT (API page: http://127.0.0.1:$MUTASI_PORT/docs)"
say "metrics (Prometheus text, this machine only): http://127.0.0.1:$METRICS_PORT/metrics (transaksi), http://127.0.0.1:$MUTASI_METRICS_PORT/metrics (mutasi)"
say "try it: scripts/smoke.sh http://127.0.0.1:$PORT http://127.0.0.1:$MUTASI_PORT; Ctrl-C stops everything this script started"
# Until either service exits (or Ctrl-C): then the EXIT trap stops the rest.
wait -n
