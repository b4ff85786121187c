# shellcheck shell=bash
# shellcheck disable=SC2034 # the settings are read by the scripts that source this file
# Shared by scripts/cluster/{up,down,e2e}.sh (sourced): the one-node cluster's names, addresses
# and state, and the helpers that start, find and stop its processes.

CLUSTER_DIR="${CLUSTER_DIR:-/var/tmp/bukubesar/cluster}"
RUN="$CLUSTER_DIR/run"
KUBECONFIG_FILE="$RUN/admin.kubeconfig"
TOOLS="${BUKUBESAR_TOOLS_DIR:-${BUKUBESAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bukubesar}/tools}"
NODE=bukubesar-node
NODE_IP=10.244.0.1
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/24
BRIDGE=bukubesar0
CNI_NETWORK=bukubesar
ETCD_PORT=23379
ETCD_PEER_PORT=23380
PAUSE_IMAGE=bukubesar-airgap/pause:3.2
HOSTPATH_ROOT=/tmp/hostpath_pv
# in the order down.sh stops them
PROCESSES=(kubelet proxy scheduler controller-manager dns-sync dnsmasq hostpath-perms apiserver etcd)

# start_bg NAME COMMAND...: runs COMMAND in its own session, output to logs/NAME.log, pid in NAME.pid
start_bg() {
  local name=$1
  shift
  setsid "$@" > "$RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
}

# running NAME: the process NAME started by up.sh is alive
running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

cluster_running() {
  running apiserver && running kubelet &&
    KUBECONFIG="$KUBECONFIG_FILE" kubectl get --raw /readyz >/dev/null 2>&1
}

node_ready() {
  kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null |
    grep -qx True
}

# wait_for SECONDS WHAT COMMAND...: retries COMMAND (quietly) every 0.5 s
wait_for() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "timed out after ${secs}s waiting for $what" >&2; return 1; fi
    sleep 0.5
  done
}

# cert NAME SUBJECT EXTENSIONS: a key and a certificate signed by the cluster CA
cert() {
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" \
    -days 365 -extfile "$1.ext" 2>/dev/null
}

# make_certs DIR: the CA, the API server's serving certificate, one client certificate per
# component (each its own identity under RBAC and the Node authorizer), the service-account keys
make_certs() {
  mkdir -p "$1"
  (
    cd "$1" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 365 \
      -subj "/CN=bukubesar-cluster-ca" 2>/dev/null
    cert apiserver "/CN=kube-apiserver" "subjectAltName=IP:$NODE_IP,IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
    cert apiserver-kubelet "/CN=kube-apiserver-kubelet-client/O=system:masters" "extendedKeyUsage=clientAuth"
    cert admin "/CN=bukubesar-admin/O=system:masters" "extendedKeyUsage=clientAuth"
    cert kubelet "/CN=system:node:$NODE/O=system:nodes" "subjectAltName=IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE
extendedKeyUsage=clientAuth,serverAuth"
    cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
    cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
    cert kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr ./*.ext
  )
}

# write_kubeconfig IDENTITY FILE: a kubeconfig for the certificate IDENTITY
write_kubeconfig() {
  local c="$RUN/certs"
  cat > "$2" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: bukubesar-local, cluster: {server: "https://$NODE_IP:6443", certificate-authority: $c/ca.crt}}]
users: [{name: $1, user: {client-certificate: $c/$1.crt, client-key: $c/$1.key}}]
contexts: [{name: bukubesar-local, context: {cluster: bukubesar-local, user: $1}}]
current-context: bukubesar-local
EOF
}

# kubelet's mounts under its root directory (its own rshared bind mount, tmpfs secret and
# projected volumes): released before the state is removed, also when a kubelet died without
# down.sh (otherwise `rm -rf $RUN` fails with "Device or resource busy")
release_kubelet_mounts() {
  { grep -o " $RUN/kubelet[^ ]*" /proc/mounts 2>/dev/null || true; } | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
}
