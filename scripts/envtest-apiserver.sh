#!/usr/bin/env bash
# scripts/envtest-apiserver.sh -- a real Kubernetes control plane for the operator's integration
# tests, "envtest"-style: etcd + kube-apiserver only (no kubelet, scheduler or
# controller-manager: pods never run, nothing is garbage-collected), on 127.0.0.1 only.
#
#   scripts/envtest-apiserver.sh start    # installs what is missing, starts etcd + kube-apiserver,
#                                         # writes $ENVTEST_DIR/kubeconfig, prints `export KUBECONFIG=...`
#   scripts/envtest-apiserver.sh stop     # stops both (by the PIDs this script recorded)
#   scripts/envtest-apiserver.sh status
#
# Everything comes from Debian 12 (bookworm) packages, so it works on a fresh machine as root:
#   etcd           : package etcd-server (3.4.23)
#   kube-apiserver : compiled from Debian's *source* package `kubernetes` (1.20.5+really1.20.2,
#                    full upstream tree incl. vendor/) with Debian's golang-go (1.19), with the
#                    vendored modern-go/reflect2 replaced by Debian's 1.0.2 (Go >= 1.18 fix).
#                    First run ~6 min on 2 cores (apt installs + 34 MB source + build); the
#                    binary is then cached in $ENVTEST_BIN and a start takes ~4 s.
# Kubernetes 1.20 caveats: no CEL validation; Service ports need `protocol: TCP` for
# server-side apply.
#
# Env knobs: ENVTEST_DIR (state, certs, logs), ENVTEST_BIN (binary cache, shared between
# checkouts), API_PORT, ETCD_PORT, ETCD_PEER_PORT. The defaults differ from other envtest
# instances one may run on the same machine (own state directory and ports).
set -euo pipefail

ENVTEST_DIR="${ENVTEST_DIR:-${TMPDIR:-/tmp}/bukubesar-envtest-$(id -u)}"
ENVTEST_BIN="${ENVTEST_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/envtest-bin}"
API_PORT="${API_PORT:-17443}"
ETCD_PORT="${ETCD_PORT:-13379}"
ETCD_PEER_PORT="${ETCD_PEER_PORT:-13380}"

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log() { echo "[bukubesar envtest] $*" >&2; }

ensure_debs() {
  local need=()
  command -v etcd    >/dev/null || need+=(etcd-server)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl    >/dev/null || need+=(curl)
  if [ "${#need[@]}" -gt 0 ]; then
    log "apt-get install ${need[*]}"
    apt_install "${need[@]}"
  fi
}

# kube-apiserver from Debian's kubernetes source package (scripts/kube-binaries.sh, cached)
build_apiserver() {
  ENVTEST_BIN=$(KUBE_BIN="$ENVTEST_BIN" bash "$(dirname "${BASH_SOURCE[0]}")/kube-binaries.sh" apiserver)
}

gen_certs() {
  local c="$ENVTEST_DIR/certs"
  [ -f "$c/admin.crt" ] && return 0
  mkdir -p "$c"; cd "$c"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
    -subj "/CN=envtest-ca" 2>/dev/null
  # serving cert for 127.0.0.1 / localhost (+ in-cluster names, harmless)
  openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
    -subj "/CN=kube-apiserver" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n' > apiserver.ext
  openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out apiserver.crt -days 3650 -extfile apiserver.ext 2>/dev/null
  # admin client cert: O=system:masters => cluster-admin under RBAC
  openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
    -subj "/CN=envtest-admin/O=system:masters" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > admin.ext
  openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out admin.crt -days 3650 -extfile admin.ext 2>/dev/null
  # service-account token signing key pair
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  # a static bearer token too (some clients prefer a token)
  echo "envtest-admin-token,envtest-admin,envtest-admin,system:masters" > tokens.csv
  cd - >/dev/null
}

write_kubeconfig() {
  local c="$ENVTEST_DIR/certs"
  cat > "$ENVTEST_DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $c/ca.crt
users:
- name: envtest-admin
  user:
    client-certificate: $c/admin.crt
    client-key: $c/admin.key
- name: envtest-token
  user:
    token: envtest-admin-token
contexts:
- name: envtest
  context: {cluster: envtest, user: envtest-admin}
- name: envtest-token
  context: {cluster: envtest, user: envtest-token}
current-context: envtest
EOF
}

is_running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  local t0=$SECONDS
  ensure_debs
  build_apiserver
  mkdir -p "$ENVTEST_DIR"
  gen_certs
  write_kubeconfig
  local c="$ENVTEST_DIR/certs"
  if ! is_running "$ENVTEST_DIR/etcd.pid"; then
    rm -rf "$ENVTEST_DIR/etcd-data"
    etcd --name envtest --data-dir "$ENVTEST_DIR/etcd-data" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "envtest=http://127.0.0.1:$ETCD_PEER_PORT" \
      > "$ENVTEST_DIR/etcd.log" 2>&1 &
    echo $! > "$ENVTEST_DIR/etcd.pid"
  fi
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$ETCD_PORT/health" >/dev/null 2>&1 && break; sleep 0.1
  done
  if ! is_running "$ENVTEST_DIR/apiserver.pid"; then
    "$ENVTEST_BIN/kube-apiserver" \
      --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
      --secure-port="$API_PORT" --insecure-port=0 \
      --cert-dir="$ENVTEST_DIR/certs" \
      --tls-cert-file="$c/apiserver.crt" --tls-private-key-file="$c/apiserver.key" \
      --client-ca-file="$c/ca.crt" --token-auth-file="$c/tokens.csv" \
      --service-account-key-file="$c/sa.pub" --service-account-signing-key-file="$c/sa.key" \
      --service-account-issuer=https://kubernetes.default.svc \
      --service-cluster-ip-range=10.96.0.0/24 \
      --authorization-mode=RBAC --allow-privileged=true \
      --disable-admission-plugins=ServiceAccount \
      > "$ENVTEST_DIR/apiserver.log" 2>&1 &
    echo $! > "$ENVTEST_DIR/apiserver.pid"
  fi
  local ok=0
  for _ in $(seq 1 300); do
    if curl -fsS --cacert "$c/ca.crt" --cert "$c/admin.crt" --key "$c/admin.key" \
         "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1; then ok=1; break; fi
    is_running "$ENVTEST_DIR/apiserver.pid" || break
    sleep 0.1
  done
  if [ "$ok" != 1 ]; then
    log "kube-apiserver did not become ready; last log lines:"; tail -20 "$ENVTEST_DIR/apiserver.log" >&2
    stop; exit 1
  fi
  log "ready in $((SECONDS - t0))s: etcd pid $(cat "$ENVTEST_DIR/etcd.pid"), kube-apiserver pid $(cat "$ENVTEST_DIR/apiserver.pid")"
  echo "export KUBECONFIG=$ENVTEST_DIR/kubeconfig"
}

stop() {
  local f pid
  for f in apiserver etcd; do
    if is_running "$ENVTEST_DIR/$f.pid"; then
      pid=$(cat "$ENVTEST_DIR/$f.pid"); kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      log "stopped $f ($pid)"
    fi
    rm -f "$ENVTEST_DIR/$f.pid"
  done
}

status() {
  for f in etcd apiserver; do
    if is_running "$ENVTEST_DIR/$f.pid"; then echo "$f running (pid $(cat "$ENVTEST_DIR/$f.pid"))"; else echo "$f stopped"; fi
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
