#!/usr/bin/env bash
# scripts/kube-binaries.sh -- Kubernetes 1.20.2 built from Debian's `kubernetes` source package,
# cached between runs and checkouts:
#
#   scripts/kube-binaries.sh apiserver   # kube-apiserver only (scripts/envtest-apiserver.sh)
#   scripts/kube-binaries.sh node        # + kube-controller-manager, kube-scheduler, kube-proxy,
#                                        #   kubelet and the pod sandbox binary `pause`
#                                        #   (scripts/cluster/up.sh)
# Prints the binary directory on stdout. Everything comes from Debian 12 (bookworm):
#   the source package kubernetes=1.20.5+really1.20.2-1.1+deb12u1 (the full upstream tree with
#   vendor/, 34 MB) through a private apt configuration with deb-src entries derived from the
#   machine's own sources (the system's apt setup is untouched, no mirror is hard-coded);
#   Debian's golang-go (1.19), with the vendored modern-go/reflect2 v1.0.1 replaced by Debian's
#   v1.0.2 (v1.0.1 crashes with "fatal error: fault" in mapiterinit under Go >= 1.18);
#   pause from the same tree's build/pause, `gcc -static`.
# Times on 2 cores: kube-apiserver ~6 min, the node set ~15 min; afterwards nothing is rebuilt.
# Knobs: KUBE_BIN (the cache, default ~/.cache/envtest-bin, shared with envtest's earlier
# cache), KEEP_BUILD_TREE=1 keeps the source tree and Go caches after the build.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBE_BIN="${KUBE_BIN:-${ENVTEST_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/envtest-bin}}"
K8S_SRC_VERSION="1.20.5+really1.20.2-1.1+deb12u1"
K8S_TREE="kubernetes-1.20.2"
NODE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet)

log() { echo "[kube-binaries] $*" >&2; }

ensure_build_debs() {
  local need=()
  command -v go    >/dev/null || need+=(golang-go)
  command -v rsync >/dev/null || need+=(rsync)
  command -v jq    >/dev/null || need+=(jq)
  command -v gcc   >/dev/null || need+=(gcc libc6-dev)
  command -v make  >/dev/null || need+=(make)
  [ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ] || need+=(golang-github-modern-go-reflect2-dev)
  if [ "${#need[@]}" -gt 0 ]; then
    log "apt-get install ${need[*]}"
    apt_install "${need[@]}"
  fi
}

fetch_tree() {
  local b=$1
  [ -d "$b/$K8S_TREE" ] && return 0
  mkdir -p "$b/apt/lists/partial" "$b/apt/cache/archives/partial" "$b/apt/sources.d"
  local src
  for src in /etc/apt/sources.list.d/*.sources; do
    [ -f "$src" ] && sed 's/^Types:.*/Types: deb-src/' "$src" > "$b/apt/sources.d/$(basename "$src")"
  done
  if [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > "$b/apt/sources.d/list.list"
  fi
  local aptopts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$b/apt/sources.d"
                 -o "Dir::State::Lists=$b/apt/lists" -o "Dir::Cache=$b/apt/cache" -o APT::Sandbox::User=root)
  log "fetching Debian source package kubernetes=$K8S_SRC_VERSION (34 MB)"
  apt-get "${aptopts[@]}" update -qq
  (cd "$b" && apt-get "${aptopts[@]}" source --download-only -qq "kubernetes=$K8S_SRC_VERSION" 2>/dev/null)
  tar -xzf "$b"/kubernetes_*.orig.tar.gz -C "$b"
  local r="$b/$K8S_TREE/vendor/github.com/modern-go/reflect2"
  find "$r" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) -delete
  cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go \
     /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$r/"
}

# build COMMAND...: make WHAT for the commands missing from the cache
build() {
  local missing=() what=() c
  for c in "$@"; do [ -x "$KUBE_BIN/$c" ] || missing+=("$c"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  ensure_build_debs
  local b="$KUBE_BIN/build"
  fetch_tree "$b"
  for c in "${missing[@]}"; do [ "$c" = pause ] || what+=("cmd/$c"); done
  if [ "${#what[@]}" -gt 0 ]; then
    log "building ${what[*]} -- several minutes on 2 cores (log: $b/build.log)"
    (
      cd "$b/$K8S_TREE"
      export GOCACHE="$b/gocache" GOPATH="$b/gopath" \
             KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean \
             KUBE_GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56
      make WHAT="${what[*]}" > "$b/build.log" 2>&1 || { tail -30 "$b/build.log" >&2; exit 1; }
    )
  fi
  mkdir -p "$KUBE_BIN"
  for c in "${missing[@]}"; do
    if [ "$c" = pause ]; then
      local src
      src=$(find "$b/$K8S_TREE/build/pause" -name pause.c | head -n 1)
      log "building pause from ${src#"$b/"} (gcc -static)"
      gcc -Os -Wall -Werror -static -DVERSION=v3.2-bukubesar -o "$KUBE_BIN/pause" "$src"
    else
      cp "$b/$K8S_TREE/_output/bin/$c" "$KUBE_BIN/$c"
    fi
  done
  [ "${KEEP_BUILD_TREE:-0}" = 1 ] || rm -rf "${b:?}/$K8S_TREE" "${b:?}/gocache" "${b:?}/gopath"
}

case "${1:-}" in
  apiserver) build kube-apiserver ;;
  node) build "${NODE_COMMANDS[@]}" pause ;;
  *) echo "usage: $0 apiserver|node" >&2; exit 2 ;;
esac
echo "$KUBE_BIN"
