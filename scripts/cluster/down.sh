#!/usr/bin/env bash
# scripts/cluster/down.sh -- takes down what scripts/cluster/up.sh started, and only that:
#   1. while the API answers: the pods are deleted (kubelet tears their networks down) and the
#      uids of all pods and the paths of the hostPath volumes are recorded
#   2. the processes up.sh started, by the pids it recorded (TERM, then KILL after 10 s)
#   3. kube-proxy --cleanup (its iptables rules), the containers of this cluster's pods (by pod
#      uid, never another container), the CNI masquerade rules of the network `bukubesar`,
#      the FORWARD rules and the bridge up.sh added, kubelet's mounts, the hostPath volumes
#   4. the state directory
# Idempotent: with nothing running it removes what is left and exits 0.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
# shellcheck source=scripts/cluster/lib.sh
. "$HERE/lib.sh"

say() { echo "[cluster down] $*" >&2; }

if [ ! -d "$RUN" ]; then
  say "no cluster state under $RUN: nothing to do"
  exit 0
fi
KUBE_BIN=$(cat "$RUN/kube-bin" 2>/dev/null || true)
export PATH="${KUBE_BIN:+$KUBE_BIN:}$TOOLS/bin:$PATH" KUBECONFIG="$KUBECONFIG_FILE"

api() { timeout 20 kubectl --request-timeout=15s "$@"; }

if running apiserver && api get --raw /readyz >/dev/null 2>&1; then
  api get pods -A -o jsonpath='{range .items[*]}{.metadata.uid}{"\n"}{end}' >> "$RUN/pod-uids" 2>/dev/null || true
  api get pv -o jsonpath='{range .items[*]}{.spec.hostPath.path}{"\n"}{end}' >> "$RUN/hostpath-dirs" 2>/dev/null || true
  if running kubelet; then
    say "deleting the pods (kubelet tears down their containers and networks)"
    for name in controller-manager scheduler; do
      if running "$name"; then kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true; fi
    done
    api delete pods --all -A --grace-period=0 --force --wait=false >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
      [ -z "$(docker ps -q --filter label=io.kubernetes.pod.uid)" ] && break
      sleep 0.5
    done
  fi
fi

for name in "${PROCESSES[@]}"; do
  running "$name" || { rm -f "$RUN/$name.pid"; continue; }
  pid=$(cat "$RUN/$name.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  rm -f "$RUN/$name.pid"
  say "stopped $name ($pid)"
done

if [ -n "$KUBE_BIN" ] && [ -x "$KUBE_BIN/kube-proxy" ]; then
  "$KUBE_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
fi

if [ -s "$RUN/pod-uids" ]; then
  ids=$(docker ps -aq --filter label=io.kubernetes.pod.uid --format '{{.ID}} {{.Label "io.kubernetes.pod.uid"}}' |
    awk 'NR == FNR {ours[$1] = 1; next} ($2 in ours) {print $1}' "$RUN/pod-uids" -)
  if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id per word
    docker rm -f $ids >/dev/null
    say "removed $(wc -w <<<"$ids") pod containers"
  fi
fi

# the bridge plugin's masquerade rules (comment: name: "bukubesar" id: "...") and their chains
# (none left is normal: every pipeline here tolerates grep finding nothing, under pipefail)
rules=$(iptables -t nat -S POSTROUTING 2>/dev/null | grep -F "name: \\\"$CNI_NETWORK\\\"" || true)
chains=$(awk '{print $NF}' <<<"$rules")
sed -n 's/^-A /-D /p' <<<"$rules" |
  while read -r rule; do eval "iptables -t nat $rule" 2>/dev/null || true; done
for chain in $chains; do
  iptables -t nat -F "$chain" 2>/dev/null || true
  iptables -t nat -X "$chain" 2>/dev/null || true
done
for dir in -i -o; do
  while iptables -D FORWARD "$dir" "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
done
if [ -f "$RUN/created-bridge" ]; then ip link del "$BRIDGE" 2>/dev/null || true; fi

release_kubelet_mounts

if [ -f "$RUN/created-hostpath-root" ]; then
  rm -rf "$HOSTPATH_ROOT"
elif [ -s "$RUN/hostpath-dirs" ]; then
  { grep "^$HOSTPATH_ROOT/" "$RUN/hostpath-dirs" || true; } | sort -u | xargs -r rm -rf
fi
rm -rf "$RUN"
say "done"
