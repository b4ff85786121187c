#!/usr/bin/env bash
# Sourced by scripts/bench/relay.sh and drain.sh: what both do before timing.
#   bench_setup NAME DB   sets PORT (a private durable Redis, started), HTTP (a free port for
#                         the service), D (the work directory, WORK_DIR or /tmp/bukubesar-NAME),
#                         PID (the service's, empty until the caller starts it); makes DB a fresh
#                         database on the local PostgreSQL; stops the service and the Redis by
#                         pid on exit (stop_all, also callable before).
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# Stops what this run started, by pid: the service, then its private Redis.
stop_all() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi
  if [ -s "$D/redis/pid" ]; then kill "$(cat "$D/redis/pid")" 2>/dev/null || true; rm -f "$D/redis/pid"; fi
}

bench_setup() {
  local name=$1 db=$2
  PORT=$(free_port)
  # shellcheck disable=SC2034 # the caller's service listens on it
  HTTP=$(free_port)
  D="${WORK_DIR:-/tmp/bukubesar-$name}"
  PID=""
  mkdir -p "$D"
  trap stop_all EXIT
  start_private_redis "$D/redis" "$PORT"
  psql -X -q -h 127.0.0.1 -U postgres -d postgres \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
}
