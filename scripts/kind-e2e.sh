#!/usr/bin/env bash
# scripts/kind-e2e.sh -- the whole platform in a throwaway kind cluster, end to end:
#   1. creates the kind cluster KIND_CLUSTER (bukubesar-e2e) from kind-config.yaml, or reuses it
#   2. builds bukubesar/transaksi, bukubesar/mutasi and bukubesar/operator (tag 0.1.0, the
#      operator's and the chart's defaults) with docker and loads them into the cluster
#   3. installs the operator's Helm chart into bukubesar-system (with the CRD)
#   4. applies crds/sample-ledgerdeployment.yaml in the namespace bank and waits for the
#      LedgerDeployment's condition Ready (PostgreSQL, Redis, Jaeger, transaksi, mutasi up)
#   5. port-forwards transaksi and mutasi to 127.0.0.1 and runs the API smoke test
#      (scripts/smoke.sh: register, deposit, withdraw, overdraft refused, balance, statement)
#   6. on failure prints the resource's status, Events and the pods' logs; at exit stops the
#      port-forwards and deletes the cluster it created (KEEP_CLUSTER=1 keeps it)
#
#   scripts/kind-e2e.sh
#   KEEP_CLUSTER=1 scripts/kind-e2e.sh      # then: kubectl --context kind-bukubesar-e2e ...
#
# Needs docker (a running engine), kind and curl; helm and kubectl are taken from PATH or
# fetched by scripts/get-helm.sh. Knobs: KIND_CLUSTER, KIND_NODE_IMAGE, READY_TIMEOUT (10m),
# TRANSAKSI_LOCAL_PORT (18080), MUTASI_LOCAL_PORT (18081).
# This script has not been run on the project's development machine, which has no container
# engine (README, "What was validated here and how").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CLUSTER="${KIND_CLUSTER:-bukubesar-e2e}"
CONTEXT="kind-$CLUSTER"
TAG=0.1.0
RELEASE=bukubesar-operator
OPERATOR_NS=bukubesar-system
NS=bank
LEDGER=ledger                       # metadata.name in crds/sample-ledgerdeployment.yaml
READY_TIMEOUT="${READY_TIMEOUT:-10m}"
T_PORT="${TRANSAKSI_LOCAL_PORT:-18080}"
M_PORT="${MUTASI_LOCAL_PORT:-18081}"
T0=$SECONDS

step() { echo "==> [$((SECONDS - T0))s] $*" >&2; }
die() { echo "kind-e2e: $*" >&2; exit 1; }

for tool in docker kind curl; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
docker info >/dev/null 2>&1 || die "docker cannot reach a container engine"
if ! command -v helm >/dev/null || ! command -v kubectl >/dev/null; then
  TOOLS="${BUKUBESAR_TOOLS_DIR:-$ROOT/target/tools}"
  bash scripts/get-helm.sh "$TOOLS" >&2
  export PATH="$TOOLS/bin:$PATH"
fi
kc() { kubectl --context "$CONTEXT" "$@"; }

CREATED=0
FORWARDS=()
WORK="$(mktemp -d)"
cleanup() {
  local status=$?
  local pid
  for pid in "${FORWARDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ "$status" != 0 ] && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    echo "---- diagnostics" >&2
    kc get ldg,all,pvc -n "$NS" -o wide >&2 || true
    kc describe ldg "$LEDGER" -n "$NS" >&2 || true
    kc get events -n "$NS" --sort-by=.lastTimestamp >&2 || true
    kc logs -n "$OPERATOR_NS" -l app.kubernetes.io/name=bukubesar-operator --tail=50 >&2 || true
    for app in transaksi mutasi; do
      kc logs -n "$NS" "deploy/$LEDGER-$app" --tail=50 >&2 || true
    done
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "-- $f" >&2; cat "$f" >&2; }; done
  fi
  rm -rf "$WORK"
  if [ "$CREATED" = 1 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then
    step "deleting the cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" >&2 || true
  fi
  exit "$status"
}
trap cleanup EXIT

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  step "reusing the kind cluster $CLUSTER"
else
  step "creating the kind cluster $CLUSTER"
  image_args=()
  [ -n "${KIND_NODE_IMAGE:-}" ] && image_args=(--image "$KIND_NODE_IMAGE")
  kind create cluster --name "$CLUSTER" --config kind-config.yaml "${image_args[@]}" --wait 120s
  CREATED=1
fi

for image in transaksi mutasi operator; do
  step "docker build bukubesar/$image:$TAG"
  docker build --target "$image" -t "bukubesar/$image:$TAG" .
done
step "loading the images into the cluster"
kind load docker-image --name "$CLUSTER" \
  "bukubesar/transaksi:$TAG" "bukubesar/mutasi:$TAG" "bukubesar/operator:$TAG"

step "helm install $RELEASE (namespace $OPERATOR_NS)"
helm --kube-context "$CONTEXT" upgrade --install "$RELEASE" helm/bukubesar-operator \
  -n "$OPERATOR_NS" --create-namespace \
  --set image.tag="$TAG" --set image.pullPolicy=Never \
  --wait --timeout 5m
kc wait --for=condition=Established --timeout=60s crd/ledgerdeployments.bukubesar.io

step "LedgerDeployment $LEDGER in namespace $NS (crds/sample-ledgerdeployment.yaml)"
kc get ns "$NS" >/dev/null 2>&1 || kc create ns "$NS"
kc apply -n "$NS" -f crds/sample-ledgerdeployment.yaml
step "waiting up to $READY_TIMEOUT for condition Ready"
kc wait "ldg/$LEDGER" -n "$NS" --for=condition=Ready --timeout="$READY_TIMEOUT"
kc get ldg "$LEDGER" -n "$NS" >&2

step "port-forward transaksi -> 127.0.0.1:$T_PORT, mutasi -> 127.0.0.1:$M_PORT"
kc port-forward -n "$NS" "svc/$LEDGER-transaksi" "$T_PORT:8080" > "$WORK/port-forward-transaksi.log" 2>&1 &
FORWARDS+=($!)
kc port-forward -n "$NS" "svc/$LEDGER-mutasi" "$M_PORT:8081" > "$WORK/port-forward-mutasi.log" 2>&1 &
FORWARDS+=($!)

step "API smoke test"
WAIT_SECS=120 bash scripts/smoke.sh "http://127.0.0.1:$T_PORT" "http://127.0.0.1:$M_PORT"
step "kind end-to-end passed in $((SECONDS - T0))s"
