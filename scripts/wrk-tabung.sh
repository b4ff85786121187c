#!/usr/bin/env bash
# Throughput of POST /tabung with wrk against a running transaksi (scripts/run-local.sh):
# one hot account, then spread over many accounts. A quick figure for the README; the
# performance issue brings a proper load generator with latency histograms and money checks.
#
#   scripts/wrk-tabung.sh [BASE_URL] [ACCOUNTS] [SECONDS] [CONNECTIONS]
#   scripts/wrk-tabung.sh http://127.0.0.1:8080 1000 20 16
set -euo pipefail

BASE="${1:-http://127.0.0.1:8080}"
ACCOUNTS="${2:-1000}"
SECONDS_EACH="${3:-20}"
CONNECTIONS="${4:-16}"
THREADS=2

command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "registering $ACCOUNTS accounts on $BASE ..." >&2
stamp=$(( $(date +%s) % 100000 ))
: > "$work/accounts.lua"
echo "accounts = {" > "$work/accounts.lua"
for i in $(seq 1 "$ACCOUNTS"); do
  nik=$(printf '33%05d%09d' "$stamp" "$i")
  hp=$(printf '0877%05d%04d' "$stamp" "$i")
  no=$(curl -sf "$BASE/daftar" -H 'Content-Type: application/json' \
        -d "{\"nama\":\"Bench $i\",\"nik\":\"$nik\",\"no_hp\":\"$hp\",\"pin\":\"123456\"}" \
       | sed -E 's/.*"no_rekening":"([0-9]+)".*/\1/')
  auth=$(printf '%s:123456' "$no" | base64)
  # One authenticated call puts the credential in the cache, so the run measures the
  # steady state rather than argon2.
  curl -sf -o /dev/null "$BASE/saldo/$no" -H "Authorization: Basic $auth"
  echo "  {\"$no\", \"Basic $auth\"}," >> "$work/accounts.lua"
done
echo "}" >> "$work/accounts.lua"

cat > "$work/tabung.lua" <<LUA
dofile("$work/accounts.lua")
local hot = os.getenv("HOT") == "1"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local a = hot and accounts[1] or accounts[math.random(#accounts)]
  wrk.headers["Authorization"] = a[2]
  return wrk.format(nil, "/tabung", nil, '{"no_rekening":"' .. a[1] .. '","nominal":10.25}')
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors_status=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA

echo "== one hot account, $CONNECTIONS connections, ${SECONDS_EACH}s"
HOT=1 wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -s "$work/tabung.lua" "$BASE" | grep -E "RESULT|Non-2xx|Socket"
echo "== spread over $ACCOUNTS accounts, $CONNECTIONS connections, ${SECONDS_EACH}s"
HOT=0 wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" -s "$work/tabung.lua" "$BASE" | grep -E "RESULT|Non-2xx|Socket"
