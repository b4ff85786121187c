#!/usr/bin/env bash
# The project's test command (README "Run the tests"; CI runs exactly this through .ci/run).
# On a fresh Debian machine it installs what the tests need (PostgreSQL server binaries for
# the throwaway test database, rustfmt and clippy), then runs:
#   a shellcheck pass over every script, scripts/check-containers.sh (docker-compose config
#   with .env.example, hadolint on the Dockerfiles), cargo fmt --check,
#   cargo clippy --all-targets -D warnings, every test of the services (including the compose
#   file's drift tests), the bank invariant under faults (platform-tests/tests/chaos.rs),
#   scripts/smoke-local.sh (the API smoke test, then scripts/schemathesis.sh, against the
#   platform started without Docker as compose would start it),
#   scripts/bench.sh at CI size with the debug build (BENCH_QUICK=1 BENCH_PROFILE=dev: the
#   load generator's money and statement checks against the running platform),
#   and scripts/test-operator.sh: the operator's tests against a real Kubernetes API server
#   (etcd + kube-apiserver, built from Debian sources the first time, ~6 min), the Helm chart
#   (lint, template, kubernetes-validate, helm install) and the CRD files.
#
# The tests start their own throwaway PostgreSQL (initdb on a random port) unless
# TEST_DATABASE_URL names a server to use, e.g. postgres://postgres@127.0.0.1:5432/postgres.
set -euo pipefail

cd "$(dirname "$0")/.."

say() { echo "[test] $*" >&2; }

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

command -v cargo >/dev/null || { say "cargo is required (rustup)"; exit 1; }
if [ -z "$(newest_pg_bin)" ] && ! command -v initdb >/dev/null; then
  say "installing PostgreSQL (the tests start a throwaway server)"
  apt_install postgresql
fi
if command -v rustup >/dev/null; then
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done
fi

say "shellcheck"
command -v shellcheck >/dev/null || apt_install shellcheck
shellcheck -x scripts/*.sh .ci/run

say "container files (scripts/check-containers.sh)"
bash scripts/check-containers.sh

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

say "cargo test (services)"
cargo test --workspace --exclude operator -- --skip the_bank_invariant_holds_under_crashes_and_outages

say "bank invariant under faults (platform-tests/tests/chaos.rs, ${BUKUBESAR_CHAOS_SECS:-40} s of workload)"
cargo test -p platform-tests --test chaos -- --nocapture

say "API smoke test and schemathesis against the platform started without Docker (scripts/smoke-local.sh)"
bash scripts/smoke-local.sh scripts/schemathesis.sh

say "benchmark script at CI size with the debug build (scripts/bench.sh; its checks must pass, its figures mean nothing here)"
BENCH_QUICK=1 BENCH_PROFILE=dev bash scripts/bench.sh

say "operator, CRD and Helm chart (scripts/test-operator.sh)"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" bash scripts/test-operator.sh
