#!/usr/bin/env bash
# drain.sh BIN N [mutasi flags...]: time mutasi draining N pre-filled events (private durable Redis).
set -euo pipefail
# shellcheck source=scripts/bench/setup.sh
. "$(dirname "$0")/setup.sh"
BIN="$1"; N="$2"; shift 2
DB=perf_drain_mutasi
bench_setup drain "$DB"
python3 "$(dirname "$0")/prefill.py" "$N" mutasi | redis-cli -p "$PORT" --pipe >/dev/null
echo "stream: $(redis-cli -p "$PORT" xlen mutasi) entries; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" --host 127.0.0.1 --port "$HTTP" --metrics-addr 127.0.0.1:0 --db-host 127.0.0.1 --db-port 5432 --db-name $DB \
  --auth-db-name $DB --redis-host 127.0.0.1 --redis-port "$PORT" --consumer drain \
  --log-level warning "$@" > "$D"/mutasi.log 2>&1 &
PID=$!
start=$(date +%s%N); first=""
while :; do
  rows=$(psql -X -tA -h 127.0.0.1 -U postgres -d $DB -c "SELECT count(*) FROM mutasi" 2>/dev/null || echo 0)
  [ -n "$first" ] || { [ "${rows:-0}" -gt 0 ] && first=$(date +%s%N) && firstrows=$rows; } || true
  [ "${rows:-0}" -lt "$N" ] || break
  kill -0 $PID || { echo "mutasi exited"; tail "$D"/mutasi.log; exit 1; }
  [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 300 ] || { echo "timeout at $rows"; break; }
  sleep 0.05
done
end=$(date +%s%N)
stop_all
python3 -c "
n=$N; s=($end-$start)/1e9; f=($end-$first)/1e9
print(f'events {n}: {s:.2f} s from start = {n/s:,.0f}/s; from first row: {(n-$firstrows)/f:,.0f}/s; load: ' + open('/proc/loadavg').read().split()[0:3].__str__())"
