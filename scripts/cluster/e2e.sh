#!/usr/bin/env bash
# scripts/cluster/e2e.sh -- the platform on a real Kubernetes cluster, end to end, against the
# cluster in $KUBECONFIG. The same steps for every cluster provider:
#   CLUSTER_PROVIDER=local  the one-node cluster of scripts/cluster/up.sh (scripts/test.sh):
#                           its kubelet uses this machine's dockerd, so the images built here
#                           are on the node; base images air-gapped (scripts/airgap-images.sh)
#   CLUSTER_PROVIDER=kind   a kind cluster (scripts/kind-e2e.sh): images `kind load`ed into
#                           KIND_CLUSTER; PostgreSQL, Redis and Jaeger pulled from their registries
#
# Steps (each timed; the figures are printed at the end):
#    1. images: bukubesar/{transaksi,mutasi,operator}:0.1.0 from the workspace's Dockerfile
#    2. `helm upgrade --install` of the chart: the operator with 2 replicas and leader election
#    3. `kubectl apply` of a LedgerDeployment with `spec: {}` (plus image overrides where the
#       base images are local), `kubectl wait --for=condition=Ready`: real pods, real probes
#    4. the API smoke test through kubectl port-forward (/metrics answers 404 on the API ports);
#       /metrics on each pod's port `metrics` (9180, 9181), the Services' `metrics` ports, the
#       pod annotations for Prometheus and the NetworkPolicy <name>-ingress (created and checked;
#       the local cluster's bridge CNI does not enforce it)
#    5. the transaksi pod deleted while a client posts with Idempotency-Key retries: replaced,
#       every acknowledged deposit in balance and statement exactly once
#    6. the PostgreSQL pod deleted: back on its PVC, data intact, Ready went False then True
#    7. spec.transaksi.replicas 1 -> 3 -> 1: Deployment, pods and status follow
#    8. a credential rotated the documented way (operator/README.md): pods roll, serving on
#    9. the operator's leader pod killed: the other replica takes the Lease and reconciles
#   10. the LedgerDeployment deleted: the garbage collector removes the children, the PVCs and
#       credential Secrets are kept; applied again, the data comes back; deleted with
#       deletePersistentVolumeClaims: true, the PVCs and Secrets go too
#   after every step: `kubectl get ldg` columns agree with the objects they summarise
# Knobs: CLUSTER_PROVIDER (local), KIND_CLUSTER (kind), NS (bank), READY_TIMEOUT (600 s),
# KILL_OPS (150), KEEP_PLATFORM=1 (skip step 10's deletions).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

PROVIDER="${CLUSTER_PROVIDER:-local}"
NS="${NS:-bank}"
LEDGER=ledger
RELEASE=bukubesar-operator
OPERATOR_NS=bukubesar-system
TAG=0.1.0
READY_TIMEOUT="${READY_TIMEOUT:-600}"
KILL_OPS="${KILL_OPS:-150}"
PIN=975310
CLIENT=(python3 scripts/e2e/posting_client.py)
T0=$SECONDS
WORK="$(mktemp -d)"
FORWARDS=()
FIGURES=()
TOOLS="${BUKUBESAR_TOOLS_DIR:-${BUKUBESAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bukubesar}/tools}"

step() { echo "==> [cluster-e2e $((SECONDS - T0))s] $*" >&2; }
die() { echo "cluster-e2e: FAILED: $*" >&2; exit 1; }
figure() { FIGURES+=("$1"); echo "    $1" >&2; }
kc() { kubectl -n "$NS" "$@"; }
[ -n "${KUBECONFIG:-}" ] || die "KUBECONFIG is not set"
bash scripts/get-helm.sh "$TOOLS" >/dev/null
export PATH="$TOOLS/bin:$PATH"

cleanup() {
  local status=$? pid
  set +e
  for pid in "${FORWARDS[@]}"; do kill "$pid" 2>/dev/null; done
  if [ "$status" != 0 ]; then
    echo "---- diagnostics" >&2
    kubectl get ldg,all,pvc,secret -n "$NS" -o wide >&2
    kubectl describe ldg "$LEDGER" -n "$NS" 2>/dev/null | tail -n 40 >&2
    kubectl get events -n "$NS" --sort-by=.lastTimestamp 2>/dev/null | tail -n 30 >&2
    kubectl get pods,lease -n "$OPERATOR_NS" >&2
    kubectl logs -n "$OPERATOR_NS" -l app.kubernetes.io/name=bukubesar-operator --tail=30 --prefix >&2
    for app in transaksi mutasi postgres; do kubectl logs -n "$NS" -l "app.kubernetes.io/component=$app" --tail=20 --prefix >&2; done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

# ------------------------------------------------------------------ helpers

# ready_pods COMPONENT: names of the component's pods that are Ready and not being deleted
# (a pod being deleted prints its deletionTimestamp in the second field)
ready_pods() {
  kc get pods -l "app.kubernetes.io/instance=$LEDGER,app.kubernetes.io/component=$1" \
    -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.deletionTimestamp} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    awk '$2 == "True" {print $1}'
}

# forward COMPONENT LOCAL_PORT REMOTE_PORT: keeps a port-forward to one Ready pod of the
# component alive in the background, moving to another pod when that one goes away
forward() {
  (
    set +e
    pf=
    trap 'kill $pf 2>/dev/null; exit 0' TERM INT
    while :; do
      pod=$(ready_pods "$1" 2>/dev/null | head -n 1)
      if [ -n "$pod" ]; then
        kubectl port-forward -n "$NS" "pod/$pod" "$2:$3" >/dev/null 2>&1 &
        pf=$!
        while kill -0 "$pf" 2>/dev/null && ready_pods "$1" 2>/dev/null | grep -qx "$pod"; do sleep 1; done
        kill "$pf" 2>/dev/null
        wait "$pf" 2>/dev/null
        pf=
      fi
      sleep 0.5
    done
  ) &
  FORWARDS+=($!)
}

condition() { kc get ldg "$LEDGER" -o jsonpath='{.status.conditions[?(@.type=="'"$1"'")].status}' 2>/dev/null; }

# columns_tell_the_truth: `kubectl get ldg` agrees with the condition and the Deployments
columns_tell_the_truth() {
  local deadline=$((SECONDS + 60)) printed expected
  while :; do
    printed=$(kc get ldg "$LEDGER" --no-headers | awk '{print $2, $3, $4}')
    expected="$(condition Ready) $(replicas_of transaksi) $(replicas_of mutasi)"
    [ "$printed" = "$expected" ] && { echo "    kubectl get ldg: READY TRANSAKSI MUTASI = $printed" >&2; return 0; }
    [ "$SECONDS" -lt "$deadline" ] || die "kubectl get ldg shows '$printed', the objects say '$expected'"
    sleep 1
  done
}

# replicas_of COMPONENT: "ready/desired" of its Deployment, as the column should print it
replicas_of() {
  kc get deploy "$LEDGER-$1" -o jsonpath='{.status.readyReplicas}/{.spec.replicas}' | sed 's|^/|0/|'
}

wait_ready() { # wait_ready WHAT: the LedgerDeployment's Ready condition is True
  kc wait "ldg/$LEDGER" --for=condition=Ready --timeout="${READY_TIMEOUT}s" >/dev/null || die "$1: not Ready"
}

wait_answers() { # wait_answers URL SECONDS
  local deadline=$((SECONDS + $2))
  until curl -fsS --max-time 3 -o /dev/null "$1/readyz" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || die "$1 did not answer within $2 s"
    sleep 0.5
  done
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ------------------------------------------------------------------ 1. images
step "images bukubesar/{transaksi,mutasi,operator}:$TAG"
build_args=()
ledger_images=""
if [ "$PROVIDER" = local ]; then
  bash scripts/airgap-images.sh
  build_args=(--build-arg RUST_IMAGE=bukubesar-airgap/rust:1.95-bookworm
              --build-arg RUNTIME_IMAGE=bukubesar-airgap/runtime:debian12-nonroot)
  ca=/etc/ssl/certs/ca-certificates.crt
  [ -f "$ca" ] && build_args+=(--secret "id=host_ca,src=$ca")
  ledger_images='
  postgres: {image: "bukubesar-airgap/postgres:15"}
  redis: {image: "bukubesar-airgap/redis:7"}
  jaeger: {image: "bukubesar-airgap/otlp-receiver:0.0.1a15"}'
fi
t=$SECONDS
for image in transaksi mutasi operator; do
  docker build -q "${build_args[@]}" --target "$image" -t "bukubesar/$image:$TAG" . >/dev/null
done
figure "images built in $((SECONDS - t)) s"
if [ "$PROVIDER" = kind ]; then
  kind load docker-image --name "${KIND_CLUSTER:?}" "bukubesar/transaksi:$TAG" "bukubesar/mutasi:$TAG" "bukubesar/operator:$TAG"
fi

# ------------------------------------------------------------------ 2. operator
step "helm upgrade --install $RELEASE (2 replicas, leader election)"
t=$SECONDS
# Helm installs a chart's CRD but never upgrades it: on a cluster that has an older one, the
# documented upgrade step is to apply the chart's CRD first.
if kubectl get crd ledgerdeployments.bukubesar.io >/dev/null 2>&1; then
  kubectl apply --server-side --force-conflicts -f helm/bukubesar-operator/crds/ >/dev/null
fi
# the image's id as a pod annotation: an image rebuilt under the same tag rolls the operator
operator_image_id=$(docker image inspect -f '{{.Id}}' "bukubesar/operator:$TAG" | cut -c8-19)
helm upgrade --install "$RELEASE" helm/bukubesar-operator -n "$OPERATOR_NS" --create-namespace \
  --set image.tag="$TAG" --set image.pullPolicy=IfNotPresent --set replicaCount=2 \
  --set leaderElection.enabled=true --set-string "podAnnotations.bukubesar\.io/image-id=$operator_image_id" \
  --wait --timeout 5m >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/ledgerdeployments.bukubesar.io >/dev/null
figure "operator installed and rolled out: $((SECONDS - t)) s"

# ------------------------------------------------------------------ 3. LedgerDeployment
step "kubectl apply LedgerDeployment $LEDGER with spec: {} ${ledger_images:+(local base images)}"
kubectl get ns "$NS" >/dev/null 2>&1 || kubectl create ns "$NS" >/dev/null
# a clean slate: what an earlier, interrupted run left in the test namespace goes first
if kc get ldg "$LEDGER" >/dev/null 2>&1; then
  kc delete ldg "$LEDGER" --wait=true --timeout=120s >/dev/null
fi
kc delete pvc,secret -l "app.kubernetes.io/instance=$LEDGER" --wait=true >/dev/null
ledger_manifest() { # ledger_manifest EXTRA_SPEC_YAML
  printf 'apiVersion: bukubesar.io/v1alpha1\nkind: LedgerDeployment\nmetadata: {name: %s}\nspec:%s\n' \
    "$LEDGER" "${1:- {\}}"
}
ledger_manifest "$ledger_images" > "$WORK/ledger.yaml"
t=$SECONDS
kc apply -f "$WORK/ledger.yaml" >/dev/null
wait_ready "the first start"
figure "kubectl apply to Ready: $((SECONDS - t)) s"
kc get ldg,pods -o wide >&2
for component in postgres redis jaeger transaksi mutasi; do
  [ -n "$(ready_pods "$component")" ] || die "no Ready pod of $component"
done
columns_tell_the_truth

# ------------------------------------------------------------------ 4. smoke test
T_PORT=$(free_port); M_PORT=$(free_port)
T="http://127.0.0.1:$T_PORT"; M="http://127.0.0.1:$M_PORT"
forward transaksi "$T_PORT" 8080
forward mutasi "$M_PORT" 8081
step "API smoke test through port-forward ($T, $M)"
WAIT_SECS=120 bash scripts/smoke.sh "$T" "$M"
step "/metrics on the pods' metrics ports, Services, annotations, NetworkPolicy $LEDGER-ingress"
TM_PORT=$(free_port); MM_PORT=$(free_port)
forward transaksi "$TM_PORT" 9180
forward mutasi "$MM_PORT" 9181
for metrics in "transaksi:$TM_PORT" "mutasi:$MM_PORT"; do
  t=$SECONDS
  until curl -fsS --max-time 3 "http://127.0.0.1:${metrics#*:}/metrics" | grep '^# TYPE auth_failures_total counter' >/dev/null; do
    [ $((SECONDS - t)) -lt 60 ] || die "${metrics%%:*}: no Prometheus text on its metrics port"
    sleep 1
  done
done
for app in transaksi:9180 mutasi:9181; do
  name="$LEDGER-${app%%:*}"
  [ "$(kc get svc "$name" -o jsonpath='{.spec.ports[?(@.name=="metrics")].port}')" = "${app#*:}" ] ||
    die "Service $name has no port metrics ${app#*:}"
  [ "$(kc get deploy "$name" -o jsonpath='{.spec.template.metadata.annotations.prometheus\.io/port}')" = "${app#*:}" ] ||
    die "Deployment $name: no prometheus.io/port annotation ${app#*:}"
done
policy_ports=$(kc get networkpolicy "$LEDGER-ingress" \
  -o jsonpath='{range .spec.ingress[*]}{.ports[*].port}{" from="}{.from[*].podSelector.matchLabels}{"\n"}{end}')
echo "$policy_ports" | grep -q '^8080 8081 from=$' || die "NetworkPolicy: the API ports are not open to all: $policy_ports"
echo "$policy_ports" | grep -q '^9180 9181 from=.*prometheus' ||
  die "NetworkPolicy: the metrics ports are not limited to the scrapers: $policy_ports"
figure "/metrics on 9180/9181 (404 on the API ports), Services and annotations, NetworkPolicy $LEDGER-ingress"

# ------------------------------------------------------------------ 5. transaksi pod deleted
step "delete the transaksi pod while a client posts $KILL_OPS deposits with Idempotency-Key retries"
ACCOUNT=$("${CLIENT[@]}" register "$T" "$PIN")
"${CLIENT[@]}" run "$T" "$ACCOUNT" "$PIN" "$KILL_OPS" "$WORK/ops.json" 2> "$WORK/client.log" &
client=$!
until [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/ops.json" 2>/dev/null || echo 0)" -ge 20 ]; do
  kill -0 "$client" 2>/dev/null || { cat "$WORK/client.log" >&2; die "the client ended early"; }
  sleep 0.2
done
victim=$(ready_pods transaksi | head -n 1)
t=$SECONDS
kc delete pod "$victim" --wait=false >/dev/null
until ready_pods transaksi | grep -qvx "$victim"; do
  [ $((SECONDS - t)) -lt 180 ] || die "no new transaksi pod became Ready"
  sleep 0.5
done
figure "transaksi pod deleted: a new pod Ready after $((SECONDS - t)) s"
wait "$client" || { cat "$WORK/client.log" >&2; die "the client could not get every deposit acknowledged"; }
result=$("${CLIENT[@]}" check "$T" "$M" "$ACCOUNT" "$PIN" "$WORK/ops.json") || { echo "$result" >&2; die "pod deletion check"; }
figure "transaksi pod deleted under load: $result"
columns_tell_the_truth

# ------------------------------------------------------------------ 6. PostgreSQL pod deleted
step "delete the PostgreSQL pod: back on its PVC, data intact, Ready False then True"
"${CLIENT[@]}" snapshot "$T" "$M" "$ACCOUNT" "$PIN" > "$WORK/before.json"
pvc_uid=$(kc get pvc "data-$LEDGER-postgres-0" -o jsonpath='{.metadata.uid}')
( while :; do echo "$(date +%s) $(condition Ready)"; sleep 0.5; done ) > "$WORK/ready.log" &
watcher=$!
t=$SECONDS
kc delete pod "$LEDGER-postgres-0" --wait=false >/dev/null
deadline=$((SECONDS + 120))
until grep -q ' False$' "$WORK/ready.log"; do
  [ "$SECONDS" -lt "$deadline" ] || { kill "$watcher"; die "Ready never went False while PostgreSQL was down"; }
  sleep 0.5
done
went_false=$((SECONDS - t))
wait_ready "after the PostgreSQL pod's deletion"
kill "$watcher"
figure "PostgreSQL pod deleted: Ready False after $went_false s, True again after $((SECONDS - t)) s"
[ "$(kc get pvc "data-$LEDGER-postgres-0" -o jsonpath='{.metadata.uid}')" = "$pvc_uid" ] || die "the PVC changed"
wait_answers "$T" 120
wait_answers "$M" 120
"${CLIENT[@]}" snapshot "$T" "$M" "$ACCOUNT" "$PIN" > "$WORK/after.json"
cmp -s "$WORK/before.json" "$WORK/after.json" || die "balance or statement changed across the PostgreSQL restart"
figure "PostgreSQL back on the same PVC: balance and $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["mutasi"]))' "$WORK/after.json") statement lines unchanged"
columns_tell_the_truth

# ------------------------------------------------------------------ 7. scale
for replicas in 3 1; do
  step "spec.transaksi.replicas -> $replicas"
  t=$SECONDS
  kc patch ldg "$LEDGER" --type merge -p "{\"spec\":{\"transaksi\":{\"replicas\":$replicas}}}" >/dev/null
  until [ "$(kc get deploy "$LEDGER-transaksi" -o jsonpath='{.spec.replicas}')" = "$replicas" ] &&
        [ "$(kc get pods -l "app.kubernetes.io/instance=$LEDGER,app.kubernetes.io/component=transaksi" --no-headers 2>/dev/null | wc -l)" = "$replicas" ] &&
        [ "$(ready_pods transaksi | wc -l)" = "$replicas" ] &&
        [ "$(kc get ldg "$LEDGER" -o jsonpath='{.status.components[?(@.name=="transaksi")].readyReplicas}')" = "$replicas" ]; do
    [ $((SECONDS - t)) -lt 180 ] || die "transaksi did not reach $replicas replicas"
    sleep 0.5
  done
  wait_ready "at $replicas transaksi replicas"
  figure "transaksi replicas -> $replicas: Deployment, pods and status followed in $((SECONDS - t)) s"
  columns_tell_the_truth
done

# ------------------------------------------------------------------ 8. credential rotation
step "rotate transaksi's database password the documented way while a client posts"
new_password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
old_pods=$(ready_pods transaksi | sort | tr '\n' ' ')
ACCOUNT2=$("${CLIENT[@]}" register "$T" "$PIN")
"${CLIENT[@]}" run "$T" "$ACCOUNT2" "$PIN" 60 "$WORK/ops2.json" 2> "$WORK/client2.log" &
client=$!
t=$SECONDS
db_user=$(kc get secret "$LEDGER-transaksi-db" -o jsonpath='{.data.username}' | base64 -d)
kc exec "$LEDGER-postgres-0" -- psql -v ON_ERROR_STOP=1 -q -U postgres \
  -c "ALTER ROLE \"$db_user\" PASSWORD '$new_password'" >/dev/null
kc patch secret "$LEDGER-transaksi-db" --type merge -p "{\"stringData\":{\"password\":\"$new_password\"}}" >/dev/null
until new_pods=$(ready_pods transaksi | sort | tr '\n' ' ') &&
      [ -n "$new_pods" ] && ! grep -qw -f <(tr ' ' '\n' <<<"$old_pods" | sed '/^$/d') <<<"$new_pods" &&
      [ "$(kc get pods -l "app.kubernetes.io/instance=$LEDGER,app.kubernetes.io/component=transaksi" --no-headers | wc -l)" = "$(wc -w <<<"$new_pods")" ]; do
  [ $((SECONDS - t)) -lt 180 ] || die "transaksi pods did not roll after the rotation"
  sleep 0.5
done
figure "password rotated: transaksi pods rolled in $((SECONDS - t)) s ($old_pods-> $new_pods)"
wait "$client" || { cat "$WORK/client2.log" >&2; die "deposits failed during the rotation"; }
result=$("${CLIENT[@]}" check "$T" "$M" "$ACCOUNT2" "$PIN" "$WORK/ops2.json") || { echo "$result" >&2; die "rotation check"; }
figure "during the rotation: $result"
columns_tell_the_truth

# ------------------------------------------------------------------ 9. operator leader killed
step "kill the operator's leader pod"
leader=$(kubectl get lease "$RELEASE" -n "$OPERATOR_NS" -o jsonpath='{.spec.holderIdentity}')
[ -n "$leader" ] || die "no leader holds the Lease $RELEASE"
t=$SECONDS
kubectl delete pod "$leader" -n "$OPERATOR_NS" --grace-period=0 --force >/dev/null 2>&1
until holder=$(kubectl get lease "$RELEASE" -n "$OPERATOR_NS" -o jsonpath='{.spec.holderIdentity}') &&
      [ -n "$holder" ] && [ "$holder" != "$leader" ]; do
  [ $((SECONDS - t)) -lt 120 ] || die "no other replica took the Lease"
  sleep 0.5
done
took=$((SECONDS - t))
# the new leader reconciles: a child deleted by hand comes back
kc delete service "$LEDGER-mutasi" --wait=true >/dev/null
until kc get service "$LEDGER-mutasi" >/dev/null 2>&1; do
  [ $((SECONDS - t)) -lt 180 ] || die "the new leader did not restore the deleted Service"
  sleep 0.5
done
figure "leader $leader killed: $holder took the Lease after $took s and restored a deleted Service after $((SECONDS - t)) s"
wait_ready "after the leader change"
columns_tell_the_truth

if [ "${KEEP_PLATFORM:-0}" = 1 ]; then
  step "KEEP_PLATFORM=1: the platform stays"
else
  # ---------------------------------------------------------------- 10. deletion
  step "delete the LedgerDeployment (default: PVCs and credential Secrets kept)"
  "${CLIENT[@]}" snapshot "$T" "$M" "$ACCOUNT" "$PIN" > "$WORK/before.json"
  t=$SECONDS
  kc delete ldg "$LEDGER" --wait=true --timeout=120s >/dev/null
  selector="app.kubernetes.io/instance=$LEDGER"
  until [ -z "$(kc get deploy,statefulset,service,configmap -l "$selector" -o name)" ]; do
    [ $((SECONDS - t)) -lt 180 ] || die "the garbage collector left: $(kc get deploy,statefulset,service,configmap -l "$selector" -o name | tr '\n' ' ')"
    sleep 1
  done
  until [ -z "$(kc get pods -l "$selector" -o name)" ]; do
    [ $((SECONDS - t)) -lt 240 ] || die "pods left after the deletion"
    sleep 1
  done
  pvcs=$(kc get pvc -l "$selector" -o name | wc -l)
  secrets=$(kc get secret -l "$selector" -o name | wc -l)
  owned=$(kc get secret -l "$selector" -o jsonpath='{range .items[*]}{.metadata.ownerReferences}{end}')
  if [ "$pvcs" != 2 ] || [ "$secrets" != 4 ] || [ -n "$owned" ]; then
    die "expected 2 PVCs and 4 unowned Secrets kept, found $pvcs PVCs, $secrets Secrets (owners: $owned)"
  fi
  figure "LedgerDeployment deleted: children garbage-collected in $((SECONDS - t)) s; 2 PVCs and 4 Secrets kept"

  step "apply it again: the kept Secrets and PVCs bring the data back"
  t=$SECONDS
  kc apply -f "$WORK/ledger.yaml" >/dev/null
  wait_ready "the second start"
  wait_answers "$T" 180
  wait_answers "$M" 180
  "${CLIENT[@]}" snapshot "$T" "$M" "$ACCOUNT" "$PIN" > "$WORK/after.json"
  cmp -s "$WORK/before.json" "$WORK/after.json" || die "the data did not come back unchanged"
  figure "re-applied: Ready after $((SECONDS - t)) s, balance and statement as before"
  columns_tell_the_truth

  step "delete it with deletePersistentVolumeClaims: true: the PVCs and Secrets go too"
  kc patch ldg "$LEDGER" --type merge -p '{"spec":{"deletePersistentVolumeClaims":true}}' >/dev/null
  t=$SECONDS
  kc delete ldg "$LEDGER" --wait=true --timeout=120s >/dev/null
  until [ -z "$(kc get deploy,statefulset,service,configmap,pvc,secret -l "$selector" -o name)" ]; do
    [ $((SECONDS - t)) -lt 240 ] || die "left after a deleting deletion: $(kc get deploy,statefulset,service,configmap,pvc,secret -l "$selector" -o name | tr '\n' ' ')"
    sleep 1
  done
  figure "deleted with its data: nothing labelled $selector left after $((SECONDS - t)) s"
fi

step "cluster end-to-end passed in $((SECONDS - T0)) s"
printf '    %s\n' "${FIGURES[@]}" >&2
