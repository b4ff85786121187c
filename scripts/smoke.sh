#!/usr/bin/env bash
# scripts/smoke.sh -- the API smoke test against a running platform, wherever it runs
# (scripts/run-local.sh, docker compose, a kind cluster behind kubectl port-forward):
# waits for both services' /readyz, registers a new customer, deposits 150000.50, withdraws
# 50000, is refused an overdraft (400, nothing changes), reads the balance, reads the
# statement from mutasi (polling until the relay and the consumer have carried both
# transactions over) and is refused a wrong PIN there (401); then registers a second customer,
# transfers 25000.25 to it (POST /transfer with an Idempotency-Key, retried: one transfer),
# is refused a transfer to itself and one it cannot cover, reads the transaction
# (GET /transaksi/{id}), and finds it on both statements (D for the source, C for the
# destination, same id, each naming the other); /metrics answers 404 on both API URLs and the
# balance carries the security headers. Exits non-zero on the first surprise,
# printing what was expected and what came back. Works with any configured transfer fee.
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

# register: a customer of its own on every run (NIK and phone number from the clock); sets REK.
register() {
  local stamp attempt nik hp
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
}
auth_of() { echo "Authorization: Basic $(printf '%s:%s' "$1" "$PIN" | base64 | tr -d '\n')"; }

register
AUTH="$(auth_of "$REK")"
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

# Transfers: to a second customer, once however often it is retried with its key.
SOURCE="$REK"
register
DEST="$REK"
REK="$SOURCE"
say "second account $DEST"
transfer="{\"no_rekening_asal\":\"$REK\",\"no_rekening_tujuan\":\"$DEST\",\"nominal\":25000.25,\"keterangan\":\"smoke test\"}"
call POST "$T/transfer" "$transfer" -H "$AUTH" -H "Idempotency-Key: smoke-$REK-transfer"
expect 200 '"jenis_transaksi":"D"' "transfer 25000.25 (POST /transfer)"
expect 200 "\"no_rekening_tujuan\":\"$DEST\"" "transfer names its destination"
expect 200 '"nominal":25000.25' "transfer's amount"
first="$BODY"
ID="$(sed -E 's/.*"id":"([0-9a-f-]+)".*/\1/' <<<"$BODY")"
[[ "$ID" =~ ^[0-9a-f-]{36}$ ]] || fail "no transaction id in $BODY"
call POST "$T/transfer" "$transfer" -H "$AUTH" -H "Idempotency-Key: smoke-$REK-transfer"
if [ "$STATUS" != 200 ] || [ "$BODY" != "$first" ]; then
  fail "a retried transfer should replay the first answer: $STATUS $BODY"
fi
say "ok: a retried transfer replays its first answer"
call GET "$T/saldo/$DEST" "" -H "$(auth_of "$DEST")"
expect 200 '"saldo":25000.25' "the destination received exactly the amount, once"
call POST "$T/transfer" "{\"no_rekening_asal\":\"$REK\",\"no_rekening_tujuan\":\"$REK\",\"nominal\":1}" -H "$AUTH"
expect 400 '"field":"no_rekening_tujuan"' "transfer to itself refused"
call POST "$T/transfer" "{\"no_rekening_asal\":\"$REK\",\"no_rekening_tujuan\":\"$DEST\",\"nominal\":999999}" -H "$AUTH"
expect 400 'saldo tidak cukup' "transfer it cannot cover refused"
call GET "$T/transaksi/$ID" "" -H "$(auth_of "$DEST")"
expect 200 "\"akun\":\"$REK\"" "the transaction's legs (GET /transaksi/{id}) as the destination sees them"

# Both statements: D on the source's, C on the destination's, same id, each naming the other.
deadline=$((SECONDS + WAIT_SECS))
while :; do
  call GET "$M/mutasi/$DEST" "" -H "$(auth_of "$DEST")"
  case "$BODY" in *"\"id\":\"$ID\""*) break ;; esac
  [ "$SECONDS" -lt "$deadline" ] || fail "the transfer is not on the destination's statement after ${WAIT_SECS}s: $BODY"
  sleep 0.5
done
expect 200 '"jenis_transaksi":"C","nominal":25000.25,"saldo":25000.25' "the destination's statement has the credit"
expect 200 "\"no_rekening_lawan\":\"$REK\"" "the destination's line names the source"
while :; do
  call GET "$M/mutasi/$REK?jenis_transaksi=D" "" -H "$AUTH"
  case "$BODY" in *"\"id\":\"$ID\""*) break ;; esac
  [ "$SECONDS" -lt "$deadline" ] || fail "the transfer is not on the source's statement after ${WAIT_SECS}s: $BODY"
  sleep 0.5
done
expect 200 "\"no_rekening_lawan\":\"$DEST\"" "the source's statement has the debit, naming the destination"
expect 200 '"keterangan":"smoke test"' "the description is on the statement"
[ "$(grep -o '"jenis_transaksi":"C"' <<<"$BODY" | wc -l)" = 0 ] || fail "jenis_transaksi=D served a credit: $BODY"
say "ok: the statement filter jenis_transaksi=D serves only debits"

# /metrics is served only on each service's private listener (--metrics-addr), never here.
for url in "$T" "$M"; do
  call GET "$url/metrics" ""
  expect 404 '"remark"' "no /metrics on the API ($url/metrics answers 404)"
done
# Account data carries the security headers and is never cached.
headers="$(curl -sS --max-time 10 -D - -o /dev/null -H "$AUTH" "$T/saldo/$REK" | tr -d '\r')"
for header in 'cache-control: no-store' 'x-content-type-options: nosniff' \
    "content-security-policy: default-src 'none'; frame-ancestors 'none'"; do
  grep -qixF "$header" <<<"$headers" || fail "GET /saldo lacks the header $header: $headers"
done
say "ok: security headers on GET /saldo (no-store, nosniff, Content-Security-Policy)"

say "all passed (transaksi $T, mutasi $M, accounts $REK and $DEST)"
