#!/usr/bin/env bash
# scripts/test-operator.sh -- everything that checks the operator, its CRD and its Helm chart,
# against a real Kubernetes API server. CI runs exactly this; it never skips the cluster tests.
#
#   1. tools: Helm 3.18 + kubectl 1.33 (scripts/get-helm.sh), kubernetes-validate (PyPI, venv)
#   2. unit tests, fmt and clippy of the operator crate
#   3. helm lint + helm template (defaults, and sample + single-namespace options), the
#      rendered manifests and the CRD validated offline with kubernetes-validate
#   4. starts etcd + kube-apiserver (scripts/envtest-apiserver.sh; ~6 min the very first time
#      on a machine, then ~5 s), `helm upgrade --install` of the chart, the committed CRD and
#      sample applied (server-side dry run for the sample and rendered chart)
#   5. the operator's integration tests (controller impersonating the chart's ServiceAccount),
#      PostgreSQL's init script against a throwaway local PostgreSQL, and the Redis command line
#      against a local redis-server (AOF survives SIGKILL)
#   6. stops the API server if this script started it
#
# Prerequisites: Debian 12 (or similar) as root with a Rust toolchain (cargo, rustfmt, clippy).
# Missing apt packages (etcd-server, golang-go, npm, unzip, python3-venv, postgresql,
# redis-server, ...) are installed.
# Knobs: CARGO_TARGET_DIR (default target-operator/), BUKUBESAR_TOOLS_DIR (default
# $CARGO_TARGET_DIR/tools), plus the ENVTEST_* variables of scripts/envtest-apiserver.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-operator}
TOOLS=${BUKUBESAR_TOOLS_DIR:-$CARGO_TARGET_DIR/tools}
CHART=helm/bukubesar-operator
RELEASE=bukubesar-operator
RELEASE_NS=bukubesar-system
KUBE_VALIDATE_VERSION=1.33.1
T0=$SECONDS

step() { echo "==> [$((SECONDS - T0))s] $*" >&2; }

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

step "tools: helm, kubectl, kubernetes-validate"
bash scripts/get-helm.sh "$TOOLS" >&2
export PATH="$TOOLS/bin:$PATH"
if [ ! -x "$TOOLS/venv/bin/kubernetes-validate" ]; then
  command -v python3 >/dev/null || apt_install python3
  python3 -m venv "$TOOLS/venv" 2>/dev/null || { rm -rf "$TOOLS/venv"; apt_install python3-venv; python3 -m venv "$TOOLS/venv"; }
  "$TOOLS/venv/bin/pip" install -q "kubernetes-validate==$KUBE_VALIDATE_VERSION"
fi
KV="$TOOLS/venv/bin/kubernetes-validate"
# PostgreSQL server binaries: operator/tests/postgres_init.rs runs the init script for real
[ -n "$(newest_pg_bin)" ] || apt_install postgresql
command -v runuser >/dev/null || apt_install util-linux
# redis-server + redis-cli: operator/tests/redis_durability.rs runs the Redis command line
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  apt_install redis-server redis-tools
fi

if command -v rustup >/dev/null; then
  for component in rustfmt clippy; do
    installed=$(rustup component list --installed 2>/dev/null || true)
    grep -q "^$component" <<<"$installed" || rustup component add "$component"
  done
fi

step "cargo fmt --check, clippy, unit tests"
cargo fmt -p operator -- --check
cargo clippy -q -p operator --all-targets -- -D warnings
cargo test -q -p operator --lib --bins

step "CRD in crds/ and in the chart equals \`operator crd\`"
cargo build -q -p operator
"$CARGO_TARGET_DIR/debug/operator" crd | diff -u crds/ledgerdeployment.yaml -
diff -u crds/ledgerdeployment.yaml "$CHART/crds/ledgerdeployment.yaml"

step "helm lint / helm template / kubernetes-validate"
RENDERED="$CARGO_TARGET_DIR/rendered"
rm -rf "$RENDERED"; mkdir -p "$RENDERED"
OPTIONS=(--set sample.enabled=true --set watchNamespace=bank --set replicaCount=1 --set leaderElection.enabled=false)
helm lint --strict "$CHART"
helm lint --strict "$CHART" "${OPTIONS[@]}"
helm template "$RELEASE" "$CHART" -n "$RELEASE_NS" > "$RENDERED/default.yaml"
helm template "$RELEASE" "$CHART" -n "$RELEASE_NS" "${OPTIONS[@]}" > "$RENDERED/options.yaml"
if helm template "$RELEASE" "$CHART" --set replicaCount=-1 >/dev/null 2>&1; then
  echo "values.schema.json accepted replicaCount=-1" >&2; exit 1
fi
# Built-in kinds are checked strictly against the 1.33 schemas; the LedgerDeployment sample
# (a custom resource) is checked by the API server below instead.
for f in "$RENDERED/default.yaml" "$RENDERED/options.yaml" crds/ledgerdeployment.yaml; do
  "$KV" --strict -k 1.33.0 "$f" >&2
done
grep -q "kind: ClusterRole" "$RENDERED/default.yaml"
grep -q "kind: LedgerDeployment" "$RENDERED/options.yaml"

step "Kubernetes API server (envtest)"
STARTED=0
server_status=$(bash scripts/envtest-apiserver.sh status)
grep -q "apiserver running" <<<"$server_status" || STARTED=1
cleanup() { if [ "$STARTED" = 1 ]; then bash scripts/envtest-apiserver.sh stop || true; fi; }
trap cleanup EXIT
server_env=$(bash scripts/envtest-apiserver.sh start)  # an assignment: a failed start stops here
eval "$server_env"
export KUBECONFIG

step "helm install into the API server"
helm upgrade --install "$RELEASE" "$CHART" -n "$RELEASE_NS" --create-namespace >/dev/null
release_status=$(helm status "$RELEASE" -n "$RELEASE_NS")
grep -q "STATUS: deployed" <<<"$release_status"
# a second, single-namespace install (Role/RoleBinding only) for the scoped-RBAC test
kubectl get ns ledger-scoped >/dev/null 2>&1 || kubectl create ns ledger-scoped >/dev/null
# (with the chart's sample LedgerDeployment, which must be accepted by the API server)
helm upgrade --install bukubesar-operator-scoped "$CHART" -n bukubesar-scoped --create-namespace \
  --set watchNamespace=ledger-scoped --set sample.enabled=true >/dev/null
kubectl get ldg ledger -n ledger-scoped >/dev/null
kubectl apply --server-side --force-conflicts --field-manager=test-operator -f crds/ledgerdeployment.yaml
kubectl wait --for=condition=Established --timeout=30s crd/ledgerdeployments.bukubesar.io
kubectl get ns bank >/dev/null 2>&1 || kubectl create ns bank
kubectl apply --dry-run=server -n bank -f crds/sample-ledgerdeployment.yaml
# the whole rendered chart (incl. the sample custom resource) against the real 1.20 API server,
# under another release name so that nothing collides with the installed release
helm template dryrun "$CHART" -n "$RELEASE_NS" "${OPTIONS[@]}" | kubectl apply --dry-run=server -f - >/dev/null

step "integration tests (controller runs as system:serviceaccount:$RELEASE_NS:$RELEASE)"
export BUKUBESAR_OPERATOR_SA="system:serviceaccount:$RELEASE_NS:$RELEASE"
export BUKUBESAR_SCOPED_OPERATOR_SA="system:serviceaccount:bukubesar-scoped:bukubesar-operator-scoped"
export BUKUBESAR_SCOPED_NAMESPACE=ledger-scoped
unset BUKUBESAR_ALLOW_SKIP_K8S
cargo test -p operator --test '*' -- --test-threads=4

step "all operator checks passed in $((SECONDS - T0))s"
