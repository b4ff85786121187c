#!/usr/bin/env bash
# scripts/smoke.sh -- the API smoke test against a running platform, wherever it runs
# (scripts/run-local.sh, docker compose, a kind cluster behind kubectl port-forward):
# waits for both services' /readyz, registers a new customer, deposits 150000.50, withdraws
# 50000, is refused an overdraft (400, nothing changes), reads the balance, reads the
# statement from mutasi (polling until the relay and the consumer have carried both
# transactions over) and is refused a wrong PIN there (401). Exits non-zero on the first
# surprise, printing what was expected and what came back.
#
#   scripts/smoke.sh [TRANSAKSI_URL] [MUTASI_URL]
#   scripts/smoke.sh http://127.0.0.1:8080 http://127.0.0.1:8081      # the defaults
#
# Needs curl. WAIT_SECS (60): how long to wait for readiness and for the statement.
set -euo pipefail

T="${1:-http://127.0.0.1:8080}"
M="${2:-http://127.0.0.1:8081}"
WAIT_SECS="${WAIT_SECS:-60}"
PIN=246810

say() { echo "[smoke] $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }
command -v curl >/dev/null || fail "curl is required"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# call METHOD URL JSON|"" [extra curl args...]: sets STATUS and BODY.
call() {
  local method="$1" url="$2" data="$3"
  shift 3
  local args=(-sS --max-time 10 -o "$work/body" -w '%{http_code}' -X "$method" "$@")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data "$data")
  STATUS="$(curl "${args[@]}" "$url" || echo 000)"
  BODY="$(cat "$work/body" 2>/dev/null || true)"
}

expect() { # expect STATUS TEXT WHAT: the last call answered STATUS with TEXT in its body
  [ "$STATUS" = "$1" ] || fail "$3: expected HTTP $1, got $STATUS: $BODY"
  case "$BODY" in *"$2"*) ;; *) fail "$3: expected $2 in $BODY" ;; esac
  say "ok: $3"
}

wait_ready() {
  local url="$1" deadline=$((SECONDS + WAIT_SECS))
  until curl -fsS --max-time 3 -o /dev/null "$url/readyz" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$url/readyz not ready after ${WAIT_SECS}s"
    sleep 1
  done
  say "ready: $url"
}

wait_ready "$T"
wait_ready "$M"

# A customer of its own on every run: NIK (16 digits) and phone number from the clock.
stamp="$(date +%s%N)"
for attempt in 1 2 3; do
  nik="32$(printf '%014d' "$(( (10#${stamp: -14} + attempt) % 100000000000000 ))")"
  hp="0812$(printf '%08d' "$(( (10#${stamp: -8} + attempt * 7919) % 100000000 ))")"
  call POST "$T/daftar" "{\"nama\":\"Smoke Test\",\"nik\":\"$nik\",\"no_hp\":\"$hp\",\"pin\":\"$PIN\"}"
  [ "$STATUS" = 200 ] && break
  say "register attempt $attempt: HTTP $STATUS $BODY"
done
expect 200 '"no_rekening"' "register (POST /daftar)"
REK="$(sed -E 's/.*"no_rekening":"([0-9]+)".*/\1/' <<<"$BODY")"
[[ "$REK" =~ ^[0-9]{10}$ ]] || fail "no account number in $BODY"
AUTH="Authorization: Basic $(printf '%s:%s' "$REK" "$PIN" | base64 | tr -d '\n')"
say "account $REK"

call POST "$T/tabung" "{\"no_rekening\":\"$REK\",\"nominal\":150000.50}" -H "$AUTH" \
  -H "Idempotency-Key: smoke-$REK-1"
expect 200 '"saldo":150000.50' "deposit 150000.50 (POST /tabung)"
expect 200 '"jenis_transaksi":"C"' "deposit is a credit"

call POST "$T/tarik" "{\"no_rekening\":\"$REK\",\"nominal\":50000}" -H "$AUTH"
expect 200 '"saldo":100000.50' "withdraw 50000 (POST /tarik)"

call POST "$T/tarik" "{\"no_rekening\":\"$REK\",\"nominal\":999999}" -H "$AUTH"
expect 400 'saldo tidak cukup' "overdraft refused"

call GET "$T/saldo/$REK" "" -H "$AUTH"
expect 200 '"saldo":100000.50' "balance (GET /saldo)"

# The statement arrives through the outbox relay, Redis and mutasi's consumer.
deadline=$((SECONDS + WAIT_SECS))
while :; do
  call GET "$M/mutasi/$REK" "" -H "$AUTH"
  if [ "$STATUS" = 200 ] && [ "$(grep -o '"jenis_transaksi"' <<<"$BODY" | wc -l)" -ge 2 ]; then
    break
  fi
  [ "$SECONDS" -lt "$deadline" ] || fail "statement incomplete after ${WAIT_SECS}s: HTTP $STATUS $BODY"
  sleep 0.5
done
lines="$(grep -o '"jenis_transaksi":"[CD]","nominal":[0-9.]*,"saldo":[0-9.]*' <<<"$BODY" | tr '\n' ' ' || true)"
case "$lines" in
  '"jenis_transaksi":"D","nominal":50000'*',"saldo":100000.5'*' "jenis_transaksi":"C","nominal":150000.5'*',"saldo":150000.5'*) ;;
  *) fail "statement (newest first) should be the withdrawal then the deposit: $BODY" ;;
esac
[ "$(grep -o '"jenis_transaksi"' <<<"$BODY" | wc -l)" = 2 ] || fail "statement has extra lines: $BODY"
say "ok: statement (GET /mutasi) has the withdrawal and the deposit, newest first"

call GET "$M/mutasi/$REK" "" -H "Authorization: Basic $(printf '%s:000000' "$REK" | base64 | tr -d '\n')"
expect 401 '"remark"' "wrong PIN refused by mutasi"

say "all passed (transaksi $T, mutasi $M, account $REK)"
