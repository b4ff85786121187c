#!/usr/bin/env bash
# Runs bukubesar on this machine without Docker: makes sure a PostgreSQL server is up
# (the local Debian cluster, or a private one under .local/), creates the databases, builds
# the services and runs transaksi on port 8080 in the foreground (Ctrl-C stops it).
#
#   scripts/run-local.sh                 # transaksi on http://127.0.0.1:8080
#   PORT=9090 scripts/run-local.sh       # another port
#
# Environment: DB_HOST (127.0.0.1), DB_PORT (5432), DB_USER (postgres), DB_PASSWORD (none),
# PORT (8080), LOG_LEVEL (info).
set -euo pipefail

cd "$(dirname "$0")/.."
DB_HOST="${DB_HOST:-127.0.0.1}"
DB_PORT="${DB_PORT:-5432}"
export DB_USER="${DB_USER:-postgres}"
PORT="${PORT:-8080}"
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
ensure_database transaksi
ensure_database mutasi

say "building (release)"
cargo build --release -q -p transaksi -p mutasi

./target/release/mutasi migrate --db-host "$DB_HOST" --db-port "$DB_PORT" --log-level warning
say "transaksi on http://127.0.0.1:$PORT (Ctrl-C stops it)"
exec ./target/release/transaksi --host 127.0.0.1 --port "$PORT" \
  --db-host "$DB_HOST" --db-port "$DB_PORT" --log-level "$LOG_LEVEL"
