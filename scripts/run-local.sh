#!/usr/bin/env bash
# Runs bukubesar on this machine without Docker: makes sure a PostgreSQL server is up
# (the local Debian cluster, or a private one under .local/), starts a durable Redis (AOF,
# appendfsync always) under .local/redis unless one answers on REDIS_PORT, creates the
# databases, builds the services, runs mutasi (port 8081) in the background and transaksi
# (port 8080) in the foreground; Ctrl-C stops both. Logs of both go to stdout (JSON lines).
#
#   scripts/run-local.sh                 # transaksi :8080, mutasi :8081
#   PORT=9090 MUTASI_PORT=9091 scripts/run-local.sh
#   scripts/smoke.sh http://127.0.0.1:8080 http://127.0.0.1:8081   # in another terminal
#
# Environment: DB_HOST (127.0.0.1), DB_PORT (5432), DB_USER (postgres), DB_PASSWORD (none),
# REDIS_PORT (6380: the project's own durable Redis, not the machine's), REDIS_PASSWORD (none),
# PORT (8080), MUTASI_PORT (8081), LOG_LEVEL (info).
set -euo pipefail

cd "$(dirname "$0")/.."
DB_HOST="${DB_HOST:-127.0.0.1}"
DB_PORT="${DB_PORT:-5432}"
export DB_USER="${DB_USER:-postgres}"
PORT="${PORT:-8080}"
MUTASI_PORT="${MUTASI_PORT:-8081}"
REDIS_PORT="${REDIS_PORT:-6380}"
LOG_LEVEL="${LOG_LEVEL:-info}"

say() { echo "[run-local] $*" >&2; }

as_root() { [ "$(id -u)" = 0 ]; }

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

pg_up() { pg_isready -q -h "$DB_HOST" -p "$DB_PORT" 2>/dev/null; }

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
      for _ in $(seq 1 30); do pg_up && return 0; sleep 1; done
    done < <(pg_lsclusters -h 2>/dev/null)
  fi
  # Otherwise a private cluster in .local/pg (kept between runs).
  local bin
  bin="$(newest_pg_bin)"
  [ -n "$bin" ] || { apt_install postgresql; bin="$(newest_pg_bin)"; }
  local dir="$PWD/.local/pg" run=()
  mkdir -p "$dir"
  if as_root; then chown -R postgres:postgres "$dir"; run=(runuser -u postgres --); fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    say "initialising a private PostgreSQL in $dir"
    "${run[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  say "starting the private PostgreSQL on port $DB_PORT"
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w \
    -o "-p $DB_PORT -k $dir -c listen_addresses=$DB_HOST" start >/dev/null
  pg_up || { say "PostgreSQL did not start; see $dir/postgres.log"; exit 1; }
}

redis_up() {
  REDISCLI_AUTH="${REDIS_PASSWORD:-}" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

# Redis holds events between publish and consume: the project runs it with AOF and
# appendfsync always, so an acknowledged XADD survives a crash.
ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  redis_up && return 0
  local dir="$PWD/.local/redis"
  mkdir -p "$dir"
  say "starting a durable Redis (AOF, appendfsync always) on port $REDIS_PORT in $dir"
  local auth=()
  [ -n "${REDIS_PASSWORD:-}" ] && auth=(--requirepass "$REDIS_PASSWORD")
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" \
    --appendonly yes --appendfsync always --save "" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" "${auth[@]}"
  for _ in $(seq 1 50); do redis_up && return 0; sleep 0.1; done
  say "Redis did not start; see $dir/redis.log"; exit 1
}

ensure_database() {
  local name="$1"
  if ! PGPASSWORD="${DB_PASSWORD:-}" psql -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
    say "creating database $name"
    PGPASSWORD="${DB_PASSWORD:-}" createdb -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" "$name"
  fi
}

command -v cargo >/dev/null || { say "cargo is required (https://rustup.rs)"; exit 1; }
ensure_postgres
ensure_redis
ensure_database transaksi
ensure_database mutasi

say "building (release; the first build takes a few minutes)"
cargo build --release -q -p transaksi -p mutasi
BIN="${CARGO_TARGET_DIR:-target}/release"

common=(--db-host "$DB_HOST" --db-port "$DB_PORT" --redis-port "$REDIS_PORT" --log-level "$LOG_LEVEL")
# transaksi's migrations first: they grant mutasi's role the credential columns it reads.
"$BIN/transaksi" migrate "${common[@]}"
"$BIN/mutasi" migrate "${common[@]}"

"$BIN/mutasi" --host 127.0.0.1 --port "$MUTASI_PORT" --consumer "local-$(hostname)" "${common[@]}" &
mutasi_pid=$!
trap 'kill "$mutasi_pid" 2>/dev/null; wait "$mutasi_pid" 2>/dev/null' EXIT
say "transaksi on http://127.0.0.1:$PORT, mutasi on http://127.0.0.1:$MUTASI_PORT (Ctrl-C stops both)"
say "try it: scripts/smoke.sh http://127.0.0.1:$PORT http://127.0.0.1:$MUTASI_PORT (or the curl lines in README)"
"$BIN/transaksi" --host 127.0.0.1 --port "$PORT" "${common[@]}"
