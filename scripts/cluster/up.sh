#!/usr/bin/env bash
# scripts/cluster/up.sh -- a real one-node Kubernetes 1.20 on this machine, offline, in ~20 s
# once the binaries are cached. Its last line is `export KUBECONFIG=<path>`:
#
#   eval "$(scripts/cluster/up.sh)"     # then kubectl, helm, scripts/cluster/e2e.sh
#   scripts/cluster/down.sh             # stops it and removes what it made (idempotent)
#
# What runs (each started here, its pid recorded under $CLUSTER_DIR/run):
#   etcd                      Debian's etcd-server, on 127.0.0.1:23379
#   kube-apiserver            on the node address 10.244.0.1:6443 (pods reach it through the
#   kube-controller-manager   `kubernetes` Service), RBAC; garbage collector, StatefulSet,
#   kube-scheduler            Deployment, ... controllers and the in-tree hostPath provisioner
#   kube-proxy                (the default StorageClass `hostpath`); iptables mode
#   kubelet                   --container-runtime=docker: dockershim drives the local dockerd,
#                             so every image dockerd has is on the node without a registry
#   dnsmasq + dns-sync.py     cluster DNS: *.cluster.local from the Services and Endpoints
#   hostpath-perms            opens the provisioner's 0750 root directories (see below)
# Binaries: scripts/kube-binaries.sh node (Debian's kubernetes source package, built once and
# cached); kubectl and helm from scripts/get-helm.sh. Pod network: Debian's
# containernetworking-plugins (bridge `bukubesar0` 10.244.0.0/24, host-local, portmap).
#
# This VM needs four workarounds, each marked WORKAROUND below:
#   1. CAP_SYS_RESOURCE is withheld, so runc cannot set the negative oom_score_adj kubelet asks
#      for: dockerd runs with scripts/docker/runc-oomclamp as its default runtime
#      (scripts/docker-engine.sh);
#   2. kube-apiserver reaches the kubelet by its InternalIP (the node has no resolvable name);
#   3. the hostPath provisioner makes 0750 root-owned directories that a non-root PostgreSQL
#      cannot enter (kind's local-path provisioner makes them 0777): opened as they appear;
#   4. dockerd sets the FORWARD policy to DROP: ACCEPT rules for the pod bridge.
#
# Needs root and a Docker engine (scripts/docker-engine.sh start). Installs what is missing.
# Knobs: CLUSTER_DIR (default /var/tmp/bukubesar/cluster), KUBE_BIN, BUKUBESAR_TOOLS_DIR.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
# shellcheck source=scripts/cluster/lib.sh
. "$HERE/lib.sh"

T0=$SECONDS
say() { echo "[cluster up $((SECONDS - T0))s] $*" >&2; }
die() { say "FAILED: $*"; bash "$HERE/down.sh" >&2 || true; exit 1; }

[ "$(id -u)" = 0 ] || { say "needs root"; exit 1; }
docker info >/dev/null 2>&1 || { say "no container engine answers (scripts/docker-engine.sh start)"; exit 1; }
if cluster_running; then
  say "already running"
  echo "export KUBECONFIG=$KUBECONFIG_FILE"
  exit 0
fi

need=()
command -v etcd >/dev/null || need+=(etcd-server)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v conntrack >/dev/null || need+=(conntrack)
command -v socat >/dev/null || need+=(socat)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v jq >/dev/null || need+=(jq)
command -v ip >/dev/null || need+=(iproute2)
if [ "${#need[@]}" -gt 0 ]; then say "apt-get install ${need[*]}"; apt_install "${need[@]}"; fi

say "Kubernetes binaries (scripts/kube-binaries.sh node)"
KUBE_BIN=$(bash "$ROOT/scripts/kube-binaries.sh" node)
bash "$ROOT/scripts/get-helm.sh" "$TOOLS" >/dev/null
export PATH="$KUBE_BIN:$TOOLS/bin:$PATH"

release_kubelet_mounts
rm -rf "$RUN"
mkdir -p "$RUN/logs" "$RUN/dns" "$RUN/cni" "$RUN/kubelet"
echo "$KUBE_BIN" > "$RUN/kube-bin"

# the pause image (pod sandbox) from the same source tree, built once into dockerd
if ! docker image inspect "$PAUSE_IMAGE" >/dev/null 2>&1; then
  say "pause image $PAUSE_IMAGE"
  ctx=$(mktemp -d)
  cp "$KUBE_BIN/pause" "$ctx/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$ctx/Dockerfile"
  docker build -q -t "$PAUSE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
fi

say "node network: bridge $BRIDGE $NODE_IP/24"
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  touch "$RUN/created-bridge"
fi
ip addr replace "$NODE_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
modprobe br_netfilter 2>/dev/null || true
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
# WORKAROUND 4: dockerd's FORWARD policy is DROP; let the pod bridge through
for dir in -i -o; do
  iptables -C FORWARD "$dir" "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I FORWARD "$dir" "$BRIDGE" -j ACCEPT
done

say "certificates and kubeconfigs"
make_certs "$RUN/certs"
write_kubeconfig admin "$KUBECONFIG_FILE"
write_kubeconfig kubelet "$RUN/kubelet.kubeconfig"
write_kubeconfig controller-manager "$RUN/controller-manager.kubeconfig"
write_kubeconfig scheduler "$RUN/scheduler.kubeconfig"
write_kubeconfig kube-proxy "$RUN/kube-proxy.kubeconfig"
export KUBECONFIG="$KUBECONFIG_FILE"
C="$RUN/certs"

say "etcd"
start_bg etcd etcd --name bukubesar --data-dir "$RUN/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "bukubesar=http://127.0.0.1:$ETCD_PEER_PORT"
wait_for 10 "etcd" curl -fs "http://127.0.0.1:$ETCD_PORT/health" || die "etcd did not start"

say "kube-apiserver"
# WORKAROUND 2: --kubelet-preferred-address-types=InternalIP,Hostname
start_bg apiserver kube-apiserver --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 --insecure-port=0 \
  --cert-dir="$C" --tls-cert-file="$C/apiserver.crt" --tls-private-key-file="$C/apiserver.key" \
  --client-ca-file="$C/ca.crt" \
  --kubelet-client-certificate="$C/apiserver-kubelet.crt" --kubelet-client-key="$C/apiserver-kubelet.key" \
  --kubelet-certificate-authority="$C/ca.crt" \
  --service-account-key-file="$C/sa.pub" --service-account-signing-key-file="$C/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC --allow-privileged=true \
  --enable-admission-plugins=NodeRestriction \
  --kubelet-preferred-address-types=InternalIP,Hostname
wait_for 60 "kube-apiserver" kubectl get --raw /readyz || die "kube-apiserver did not become ready"

say "controller-manager, scheduler, kube-proxy"
start_bg controller-manager kube-controller-manager --kubeconfig="$RUN/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --port=0 --secure-port=0 \
  --service-account-private-key-file="$C/sa.key" --root-ca-file="$C/ca.crt" \
  --cluster-signing-cert-file="$C/ca.crt" --cluster-signing-key-file="$C/ca.key" \
  --use-service-account-credentials=true --leader-elect=false \
  --controllers='*' --enable-hostpath-provisioner=true
start_bg scheduler kube-scheduler --kubeconfig="$RUN/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --port=0 --secure-port=0 --leader-elect=false
start_bg proxy kube-proxy --kubeconfig="$RUN/kube-proxy.kubeconfig" --proxy-mode=iptables \
  --cluster-cidr="$POD_CIDR" --hostname-override="$NODE" --conntrack-max-per-core=0 \
  --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256

say "kubelet (dockershim -> dockerd)"
cat > "$RUN/cni/10-bukubesar.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "$CNI_NETWORK", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$RUN/cni-ipam",
            "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$NODE_IP"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
printf 'search cluster.local\noptions ndots:5\n' > "$RUN/resolv.conf"
cat > "$RUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
authentication: {anonymous: {enabled: false}, webhook: {enabled: false}, x509: {clientCAFile: $C/ca.crt}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
clusterDomain: cluster.local
clusterDNS: [$NODE_IP]
resolvConf: $RUN/resolv.conf
failSwapOn: false
tlsCertFile: $C/kubelet.crt
tlsPrivateKeyFile: $C/kubelet.key
podCIDR: $POD_CIDR
maxPods: 60
# memory only: with a disk signal, a nearly full disk makes kubelet reclaim every image no pod
# uses, the air-gapped base images a build is about to need among them (they cannot be pulled)
evictionHard: {memory.available: "100Mi"}
imageGCHighThresholdPercent: 100
EOF
start_bg kubelet kubelet --config="$RUN/kubelet.yaml" --kubeconfig="$RUN/kubelet.kubeconfig" \
  --container-runtime=docker --pod-infra-container-image="$PAUSE_IMAGE" \
  --network-plugin=cni --cni-bin-dir=/usr/lib/cni --cni-conf-dir="$RUN/cni" \
  --hostname-override="$NODE" --node-ip="$NODE_IP" --root-dir="$RUN/kubelet" \
  --node-labels=bukubesar.io/cluster=local

say "storage: the hostPath provisioner as the default StorageClass"
[ -d "$HOSTPATH_ROOT" ] || { mkdir -p "$HOSTPATH_ROOT"; touch "$RUN/created-hostpath-root"; }
# WORKAROUND 3: open the provisioner's 0750 root directories for non-root PostgreSQL
start_bg hostpath-perms sh -c "while :; do find '$HOSTPATH_ROOT' -mindepth 1 -maxdepth 1 -type d ! -perm 0777 -exec chmod 0777 {} + 2>/dev/null; sleep 0.5; done"
kubectl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: hostpath
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
EOF

say "cluster DNS (dnsmasq on $NODE_IP:53, fed from Services and Endpoints)"
start_bg dnsmasq dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
  --listen-address="$NODE_IP" --local=/cluster.local/ --hostsdir="$RUN/dns" --log-facility=- \
  --pid-file="$RUN/dnsmasq.own.pid" --user=root
start_bg dns-sync python3 "$HERE/dns-sync.py" "$RUN/dns/cluster.hosts" "$RUN/pod-uids"

wait_for 120 "node $NODE Ready" node_ready || die "the node did not become Ready"
wait_for 60 "service account token controller" kubectl get serviceaccount default -n default || die "no default ServiceAccount"
say "one-node cluster ready in $((SECONDS - T0)) s (state: $RUN)"
kubectl get nodes -o wide >&2
echo "export KUBECONFIG=$KUBECONFIG_FILE"
