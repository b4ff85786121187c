#!/usr/bin/env bash
# relay.sh BIN N: time transaksi's relay publishing N outbox rows committed in one transaction
# (private durable Redis; XLEN counted).
set -euo pipefail
# shellcheck source=scripts/bench/setup.sh
. "$(dirname "$0")/setup.sh"
BIN="$1"; N="$2"; shift 2
DB=perf_relay_transaksi
bench_setup relay "$DB"
"$BIN" --host 127.0.0.1 --port "$HTTP" --metrics-addr 127.0.0.1:0 --db-host 127.0.0.1 --db-port 5432 --db-name $DB \
  --redis-host 127.0.0.1 --redis-port "$PORT" --log-level warning "$@" > "$D"/transaksi.log 2>&1 &
PID=$!
until curl -sf http://127.0.0.1:"$HTTP"/healthz >/dev/null 2>&1 || curl -sf http://127.0.0.1:"$HTTP"/readyz >/dev/null 2>&1; do
  kill -0 $PID || { echo "transaksi exited"; tail "$D"/transaksi.log; exit 1; }; sleep 0.2; done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
psql -X -q -h 127.0.0.1 -U postgres -d $DB -c "
INSERT INTO outbox (event_id, transaksi_id, tanggal_transaksi, no_rekening, jenis_transaksi,
                    nominal, saldo, urutan_rekening)
SELECT u, u, now(), '4821937465', 'C', 1, g, g
  FROM (SELECT gen_random_uuid() AS u, g FROM generate_series(1, $N) AS g) AS s"
start=$(date +%s%N)
while :; do
  len=$(redis-cli -p "$PORT" xlen mutasi)
  [ "$len" -lt "$N" ] || break
  kill -0 $PID || { echo "transaksi exited"; exit 1; }
  [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 300 ] || { echo "timeout at $len"; break; }
  sleep 0.05
done
end=$(date +%s%N)
stop_all
python3 -c "
n=$N; s=($end-$start)/1e9
print(f'relay {n} rows: {s:.2f} s = {n/s:,.0f} rows/s; load: ' + str(open('/proc/loadavg').read().split()[0:3]))"
