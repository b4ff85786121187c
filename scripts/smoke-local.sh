#!/usr/bin/env bash
# scripts/smoke-local.sh -- docker-compose.yml's platform without Docker, then scripts/smoke.sh
# against it. CI runs this (scripts/test.sh): it proves the smoke test, the PostgreSQL init
# script and the .env.example credentials on real processes, as compose would use them:
#   - a throwaway PostgreSQL (initdb in a temporary directory, random port, password
#     authentication over TCP, superuser password POSTGRES_PASSWORD), initialised by
#     compose/postgres-init.sh (the operator's init script) with the users, passwords and
#     databases of .env.example;
#   - a throwaway Redis with AOF, appendfsync always and requirepass REDIS_PASSWORD;
#   - transaksi and mutasi (debug builds) as their own non-superuser database users, with
#     docker-compose.yml's flags (hosts and ports made local), transaksi first (its migrations
#     grant mutasi's role the credential columns), each awaited with bukubesar-healthcheck
#     (the images' HEALTHCHECK probe) on /readyz;
#   - scripts/smoke.sh against both.
# Everything is stopped and removed at exit. Takes ~10 s once the binaries are built.
#
#   scripts/smoke-local.sh [CHECK_SCRIPT ...]
#
# Each CHECK_SCRIPT is then run as `bash CHECK_SCRIPT TRANSAKSI_URL MUTASI_URL` against the
# same platform (scripts/test.sh passes scripts/schemathesis.sh).
#
# Needs PostgreSQL server binaries, redis-server, curl and cargo (missing Debian packages are
# installed when run as root). CARGO_TARGET_DIR is honoured.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

say() { echo "[smoke-local] $*" >&2; }

# The credentials compose uses, from the committed example.
set -a
# shellcheck source=.env.example
. ./.env.example
set +a

PG_BIN="$(newest_pg_bin)"
[ -n "$PG_BIN" ] || { apt_install postgresql; PG_BIN="$(newest_pg_bin)"; }
command -v redis-server >/dev/null || apt_install redis-server redis-tools
command -v curl >/dev/null || apt_install curl

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
# Cheap when cargo test has just built them.
say "building transaksi, mutasi and bukubesar-healthcheck (debug)"
cargo build -q -p transaksi -p mutasi -p bukubesar-common --bins
PROBE="$TARGET/debug/bukubesar-healthcheck"

# A port nothing listens on (bash's /dev/tcp: a refused connection means free).
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  say "no free port found"; return 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/bukubesar-smoke.XXXXXX")"
PIDS=()
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  # initdb and postgres refuse to run as root
  chown postgres:postgres "$WORK"
  chmod 0755 "$WORK"
  RUN_AS=(runuser -u postgres --)
fi

cleanup() {
  local status=$?
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -f "$WORK/redis.pid" ]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
  if [ -f "$WORK/pg/PG_VERSION" ]; then
    "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "$status" != 0 ]; then
    for log in postgres.log redis.log transaksi.log mutasi.log; do
      [ -f "$WORK/$log" ] || continue
      say "--- last lines of $log"; tail -n 20 "$WORK/$log" >&2
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

PG_PORT="$(free_port)"
say "PostgreSQL on 127.0.0.1:$PG_PORT (password authentication, as in the postgres image)"
printf '%s\n' "$POSTGRES_PASSWORD" > "$WORK/pwfile"
chmod 0644 "$WORK/pwfile"
"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --pwfile="$WORK/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >/dev/null
rm -f "$WORK/pwfile"
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/postgres.log" -w \
  -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null

say "compose/postgres-init.sh (users and databases from .env.example)"
# As the postgres image runs it: executed, with the container's environment; psql reaches the
# server over the local socket as POSTGRES_USER.
"${RUN_AS[@]}" env PGHOST="$WORK" PGPORT="$PG_PORT" PATH="$PG_BIN:$PATH" \
  POSTGRES_USER=postgres TRANSAKSI_DB_USER="$TRANSAKSI_DB_USER" \
  TRANSAKSI_DB_PASSWORD="$TRANSAKSI_DB_PASSWORD" MUTASI_DB_USER="$MUTASI_DB_USER" \
  MUTASI_DB_PASSWORD="$MUTASI_DB_PASSWORD" compose/postgres-init.sh >/dev/null

REDIS_PORT="$(free_port)"
say "Redis on 127.0.0.1:$REDIS_PORT (AOF, appendfsync always, requirepass)"
mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" \
  --appendonly yes --appendfsync always --save "" --requirepass "$REDIS_PASSWORD" \
  --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"

T_PORT="$(free_port)"
M_PORT="$(free_port)"
T_METRICS_PORT="$(free_port)"
M_METRICS_PORT="$(free_port)"
common=(--db-host 127.0.0.1 --db-port "$PG_PORT" --db-sslmode disable
        --redis-host 127.0.0.1 --redis-port "$REDIS_PORT" --log-level warning)

wait_ready() {
  local name="$1" port="$2"
  for _ in $(seq 1 300); do
    # the images' HEALTHCHECK probe, against the real service
    "$PROBE" "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    kill -0 "${PIDS[-1]}" 2>/dev/null || { say "$name exited"; return 1; }
    sleep 0.1
  done
  say "$name not ready after 30 s"; return 1
}

say "transaksi on 127.0.0.1:$T_PORT as database user $TRANSAKSI_DB_USER"
DB_USER="$TRANSAKSI_DB_USER" DB_PASSWORD="$TRANSAKSI_DB_PASSWORD" REDIS_PASSWORD="$REDIS_PASSWORD" \
  "$TARGET/debug/transaksi" --host 127.0.0.1 --port "$T_PORT" --metrics-addr "127.0.0.1:$T_METRICS_PORT" \
  --db-name transaksi "${common[@]}" \
  > "$WORK/transaksi.log" 2>&1 &
PIDS+=($!)
wait_ready transaksi "$T_PORT"

say "mutasi on 127.0.0.1:$M_PORT as database user $MUTASI_DB_USER"
DB_USER="$MUTASI_DB_USER" DB_PASSWORD="$MUTASI_DB_PASSWORD" REDIS_PASSWORD="$REDIS_PASSWORD" \
  "$TARGET/debug/mutasi" --host 127.0.0.1 --port "$M_PORT" --metrics-addr "127.0.0.1:$M_METRICS_PORT" \
  --db-name mutasi \
  --auth-db-name transaksi --stream mutasi --group mutasi --consumer smoke-local "${common[@]}" \
  > "$WORK/mutasi.log" 2>&1 &
PIDS+=($!)
wait_ready mutasi "$M_PORT"

WAIT_SECS=30 bash scripts/smoke.sh "http://127.0.0.1:$T_PORT" "http://127.0.0.1:$M_PORT"

# /metrics is served on each service's private listener (--metrics-addr), never on its API port.
for ports in "$T_PORT:$T_METRICS_PORT" "$M_PORT:$M_METRICS_PORT"; do
  IFS=: read -r api metrics <<<"$ports"
  "$PROBE" "http://127.0.0.1:$metrics/metrics" || { say "no /metrics on port $metrics"; exit 1; }
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api/metrics")"
  [ "$code" = 404 ] || { say "/metrics on the API port $api answered $code, not 404"; exit 1; }
done
say "/metrics only on the metrics ports ($T_METRICS_PORT, $M_METRICS_PORT), 404 on the API ports"

# Then any further checks asked for, against the same running platform (scripts/test.sh
# passes scripts/schemathesis.sh).
for check in "$@"; do
  say "$check"
  bash "$check" "http://127.0.0.1:$T_PORT" "http://127.0.0.1:$M_PORT"
done
