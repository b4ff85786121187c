#!/usr/bin/env bash
# scripts/schemathesis.sh TRANSAKSI_URL MUTASI_URL -- property-based API tests with schemathesis
# (PyPI) against both services' own OpenAPI documents (/openapi.json), authenticated as a
# customer registered here. Every check schemathesis has runs (no 5xx, status codes, content
# types, headers and bodies as documented, invalid input rejected with 4xx, unsupported methods,
# authentication not ignored, ...), except `positive_data_acceptance`: a schema-valid request
# may rightly be refused by a business rule (another customer's account is 403, a NIK can
# register once, saldo tidak cukup), which a schema cannot express.
#
#   scripts/schemathesis.sh http://127.0.0.1:8080 http://127.0.0.1:8081
#
# SCHEMATHESIS_EXAMPLES (default 50) bounds the examples per operation; SCHEMATHESIS_SEED
# (default 20261121) makes a run repeatable. CI runs it through scripts/smoke-local.sh
# (`scripts/smoke-local.sh scripts/schemathesis.sh`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

say() { echo "[schemathesis] $*" >&2; }

[ $# = 2 ] || { say "usage: $0 TRANSAKSI_URL MUTASI_URL"; exit 2; }
TRANSAKSI_URL="${1%/}"
MUTASI_URL="${2%/}"
SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-50}"
SEED="${SCHEMATHESIS_SEED:-20261121}"

TOOLS="${BUKUBESAR_TOOLS_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/tools}"
VENV="$TOOLS/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

# A customer to authenticate as (random NIK and phone number, so reruns do not collide).
digits() {
  local out=""
  while [ "${#out}" -lt "$1" ]; do out="$out$((RANDOM % 10))"; done
  printf '%s' "$out"
}
PIN=$(digits 6)
registered=$(curl -sS -X POST "$TRANSAKSI_URL/daftar" -H 'Content-Type: application/json' \
  -d "{\"nama\":\"Schemathesis\",\"nik\":\"$(digits 16)\",\"no_hp\":\"08$(digits 10)\",\"pin\":\"$PIN\"}")
NO_REKENING=$(printf '%s' "$registered" | sed -n 's/.*"no_rekening":"\([0-9]\{10\}\)".*/\1/p')
[ -n "$NO_REKENING" ] || { say "registration failed: $registered"; exit 1; }

# schemathesis keeps its example database in the working directory: use a throwaway one.
cd "$(mktemp -d "${TMPDIR:-/tmp}/bukubesar-schemathesis.XXXXXX")"
trap 'rm -rf "$PWD"' EXIT
status=0
for url in "$TRANSAKSI_URL" "$MUTASI_URL"; do
  say "$url/openapi.json: $EXAMPLES examples per operation, seed $SEED"
  "$VENV/bin/schemathesis" run "$url/openapi.json" \
    --auth "$NO_REKENING:$PIN" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples "$EXAMPLES" --seed "$SEED" \
    --request-timeout 20 --no-color || status=1
done
exit "$status"
