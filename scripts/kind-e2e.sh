#!/usr/bin/env bash
# scripts/kind-e2e.sh -- the platform in a throwaway kind cluster, end to end: the kind cluster
# provider of scripts/cluster/e2e.sh (which scripts/test.sh runs on this project's own one-node
# cluster, provider `local`; the steps are the same):
#   1. creates the kind cluster KIND_CLUSTER (bukubesar-e2e) from kind-config.yaml, or reuses it
#   2. scripts/cluster/e2e.sh with CLUSTER_PROVIDER=kind: images built from the Dockerfile and
#      `kind load`ed, the chart, a LedgerDeployment Ready with real pods, the smoke test through
#      port-forward, pod deletions, scaling, a credential rotation, a leader change, deletion
#   3. deletes the cluster it created (KEEP_CLUSTER=1 keeps it)
#
#   scripts/kind-e2e.sh
#   KEEP_CLUSTER=1 scripts/kind-e2e.sh      # then: kubectl --context kind-bukubesar-e2e ...
#
# Needs docker (a running engine with access to Docker Hub for postgres, redis and jaeger),
# kind, curl and python3; helm and kubectl are fetched by scripts/get-helm.sh. Knobs:
# KIND_CLUSTER, KIND_NODE_IMAGE, and those of scripts/cluster/e2e.sh.
# kind cannot run on the project's development machine (no kind binary, no node image):
# there the same e2e runs on scripts/cluster/up.sh's cluster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CLUSTER="${KIND_CLUSTER:-bukubesar-e2e}"
CREATED=0

die() { echo "kind-e2e: $*" >&2; exit 1; }
for tool in docker kind curl python3; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
docker info >/dev/null 2>&1 || die "docker cannot reach a container engine"

KUBECONFIG="$(mktemp)"
export KUBECONFIG
cleanup() {
  local status=$?
  if [ "$CREATED" = 1 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then
    echo "kind-e2e: deleting the cluster $CLUSTER" >&2
    kind delete cluster --name "$CLUSTER" >&2 || true
  fi
  rm -f "$KUBECONFIG"
  exit "$status"
}
trap cleanup EXIT

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  echo "kind-e2e: reusing the kind cluster $CLUSTER" >&2
else
  image_args=()
  [ -n "${KIND_NODE_IMAGE:-}" ] && image_args=(--image "$KIND_NODE_IMAGE")
  kind create cluster --name "$CLUSTER" --config kind-config.yaml "${image_args[@]}" --wait 120s
  CREATED=1
fi
kind get kubeconfig --name "$CLUSTER" > "$KUBECONFIG"
CLUSTER_PROVIDER=kind KIND_CLUSTER="$CLUSTER" bash scripts/cluster/e2e.sh
