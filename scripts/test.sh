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
#   scripts/docs-browser-check.sh (the /docs pages offline in a headless Chromium),
#   scripts/compose-e2e.sh (the images built from the Dockerfile on air-gapped base images,
#   docker compose up, smoke test, a trace across both services, kill -9 of transaksi under
#   load, down/up with the volumes kept, non-root and read-only containers),
#   the operator on a real one-node Kubernetes (scripts/cluster/up.sh builds and starts it,
#   scripts/cluster/e2e.sh: helm install, a LedgerDeployment Ready with real pods, smoke test,
#   pod deletions, scaling, credential rotation, leader change, deletion; then down.sh);
#   dockerd is started for these when none runs, and stopped at the end,
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
mapfile -t shell_scripts < <(find scripts airgap -name "*.sh" -type f | sort)
shellcheck -x "${shell_scripts[@]}" scripts/docker/runc-oomclamp .ci/run

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

# The /docs pages in a real browser (issue 17): headless Chromium, reaching nothing but loopback.
say "the /docs pages offline in a headless Chromium (scripts/docs-browser-check.sh, against the platform scripts/smoke-local.sh starts)"
bash scripts/smoke-local.sh scripts/docs-browser-check.sh

# One Docker engine for the container and cluster tests: started here when none runs (and
# then stopped at the end), so both share its images and build cache.
ENGINE_STARTED=0
CLUSTER_STARTED=0
stop_runtime() {
  if [ "$CLUSTER_STARTED" = 1 ]; then bash scripts/cluster/down.sh || true; fi
  if [ "$ENGINE_STARTED" = 1 ]; then bash scripts/docker-engine.sh stop || true; fi
}
trap stop_runtime EXIT
if [ "$(bash scripts/docker-engine.sh status)" = stopped ]; then ENGINE_STARTED=1; fi
bash scripts/docker-engine.sh start

say "the platform in real containers (scripts/compose-e2e.sh: images built from the Dockerfile, docker compose up, smoke, trace, kill -9, restart)"
bash scripts/compose-e2e.sh

say "the operator on a real one-node Kubernetes (scripts/cluster/up.sh, scripts/cluster/e2e.sh, scripts/cluster/down.sh)"
CLUSTER_STARTED=1
# (an assignment, so that a failed up.sh stops the test command here)
cluster_env=$(bash scripts/cluster/up.sh)
eval "$cluster_env"
export KUBECONFIG
CLUSTER_PROVIDER=local bash scripts/cluster/e2e.sh
bash scripts/cluster/down.sh
CLUSTER_STARTED=0
unset KUBECONFIG

say "benchmark script at CI size with the debug build (scripts/bench.sh; its checks must pass, its figures mean nothing here)"
BENCH_QUICK=1 BENCH_PROFILE=dev bash scripts/bench.sh

say "operator, CRD and Helm chart (scripts/test-operator.sh)"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" bash scripts/test-operator.sh
