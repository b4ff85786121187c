#!/usr/bin/env bash
# The project's test command (README "Run the tests"; CI runs exactly this through .ci/run).
# On a fresh Debian machine it installs what the tests need (PostgreSQL server binaries for
# the throwaway test database, rustfmt and clippy), then runs:
#   cargo fmt --check, cargo clippy --all-targets -D warnings, every test of the services,
#   and scripts/test-operator.sh: the operator's tests against a real Kubernetes API server
#   (etcd + kube-apiserver, built from Debian sources the first time, ~6 min), the Helm chart
#   (lint, template, kubernetes-validate, helm install) and the CRD files.
#
# The tests start their own throwaway PostgreSQL (initdb on a random port) unless
# TEST_DATABASE_URL names a server to use, e.g. postgres://postgres@127.0.0.1:5432/postgres.
set -euo pipefail

cd "$(dirname "$0")/.."

say() { echo "[test] $*" >&2; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then say "please install the Debian packages: $*"; exit 1; fi
  say "apt-get install $*"
  [ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

command -v cargo >/dev/null || { say "cargo is required (rustup)"; exit 1; }
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
  apt_install postgresql
fi
if command -v rustup >/dev/null; then
  for component in rustfmt clippy; do
    rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
  done
fi

say "cargo fmt --check"
cargo fmt --all --check

say "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

say "cargo test (services)"
cargo test --workspace --exclude operator

say "operator, CRD and Helm chart (scripts/test-operator.sh)"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" bash scripts/test-operator.sh
