#!/usr/bin/env bash
# scripts/airgap-images.sh -- every base image the platform needs, built on this machine from
# Debian packages alone: no container registry is used (an air-gapped bank's build, and the
# only way on machines that reach no registry). Images (tags used by compose.airgap.yml, the
# e2e scripts and the cluster):
#
#   bukubesar-airgap/debian:bookworm          debootstrap --variant=minbase from the machine's
#                                             own Debian mirror, then `docker import`
#   bukubesar-airgap/rust:1.95-bookworm       the builder: the base + gcc + this machine's Rust
#                                             toolchain (for the project's Dockerfile RUST_IMAGE)
#   bukubesar-airgap/runtime:debian12-nonroot distroless-style runtime (RUNTIME_IMAGE)
#   bukubesar-airgap/postgres:15              Debian's PostgreSQL 15, official image's contract
#   bukubesar-airgap/redis:7                  Debian's Redis 7, official image's contract
#   bukubesar-airgap/otlp-receiver:0.0.1a15   rotel (PyPI) OTLP receiver in place of Jaeger
#
# Each image carries a fingerprint label (its Dockerfile folder, its base image, its downloaded
# inputs): an image whose fingerprint matches is not rebuilt, so a second run takes seconds.
# AIRGAP_REBUILD=1 rebuilds everything (the Debian base too). Needs a running engine
# (scripts/docker-engine.sh start) and root for debootstrap.
# Knobs: AIRGAP_MIRROR (default: the first URIs/deb line of the machine's apt sources),
# BUKUBESAR_CACHE (default ~/.cache/bukubesar): build contexts and downloads.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

CACHE="${BUKUBESAR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bukubesar}/airgap"
PREFIX=bukubesar-airgap
BASE="$PREFIX/debian:bookworm"
ROTEL_VERSION=0.0.1a15
ROTEL_WHEEL="rotel-$ROTEL_VERSION-cp311-cp311-manylinux_2_34_x86_64.whl"
ROTEL_WHEEL_SHA256=2f4117e58410c933e0dc042a268ef738dab2e3a5d63b5831209acdac2a6ddcb7
T0=$SECONDS

say() { echo "[airgap-images $((SECONDS - T0))s] $*" >&2; }

mirror() {
  if [ -n "${AIRGAP_MIRROR:-}" ]; then echo "$AIRGAP_MIRROR"; return; fi
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { say "no Debian mirror in the apt sources: set AIRGAP_MIRROR"; exit 1; }
  echo "$uri"
}

label_of() { docker image inspect --format '{{ index .Config.Labels "bukubesar.fingerprint" }}' "$1" 2>/dev/null || true; }

base_image() {
  if docker image inspect "$BASE" >/dev/null 2>&1 && [ "${AIRGAP_REBUILD:-0}" != 1 ]; then return; fi
  command -v debootstrap >/dev/null || apt_install debootstrap
  local rootfs="$CACHE/rootfs" url
  url=$(mirror)
  say "debootstrap --variant=minbase bookworm from $url"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$url" > "$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # the machine's own suites (bookworm-updates, security), so images get the same updates
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    cat /etc/apt/sources.list.d/*.sources > "$rootfs/etc/apt/sources.list.d/debian.sources"
    rm -f "$rootfs/etc/apt/sources.list"
  fi
  # in an image nothing may start a service, and apt keeps no downloaded package
  printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
  chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
  printf 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\nAPT::Install-Recommends "false";\n' \
    > "$rootfs/etc/apt/apt.conf.d/docker-clean"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "docker import -> $BASE"
  tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$rootfs"
}

# build TAG DIR [EXTRA_FINGERPRINT]: builds DIR's Dockerfile on the base image unless TAG
# already carries the same fingerprint.
build() {
  local tag=$1 dir=$2 extra=${3:-} fp
  fp=$( { docker image inspect --format '{{.Id}}' "$BASE"; echo "$extra";
          (cd "$dir" && find . -type f ! -path './toolchain/*' ! -name rotel-agent -print0 |
            sort -z | xargs -0 sha256sum); } | sha256sum | cut -c1-32)
  if [ "$(label_of "$tag")" = "$fp" ] && [ "${AIRGAP_REBUILD:-0}" != 1 ]; then
    say "$tag is current"
    return
  fi
  say "building $tag"
  docker build -q --build-arg "BASE_IMAGE=$BASE" --label "bukubesar.fingerprint=$fp" -t "$tag" "$dir" >/dev/null
}

rust_image() {
  local ctx="$CACHE/rust-context" sysroot version
  sysroot=$(rustc --print sysroot)
  version=$(rustc -vV; cargo -V)
  rm -rf "$ctx"; mkdir -p "$ctx/toolchain"
  cp "$ROOT/airgap/rust/Dockerfile" "$ctx/"
  local d
  for d in bin lib libexec etc; do
    [ -d "$sysroot/$d" ] || continue
    # hard links where the cache shares the toolchain's file system, copies elsewhere
    cp -al "$sysroot/$d" "$ctx/toolchain/" 2>/dev/null || cp -a "$sysroot/$d" "$ctx/toolchain/"
  done
  build "$PREFIX/rust:1.95-bookworm" "$ctx" "$version"
  rm -rf "$ctx"
}

otlp_image() {
  local ctx="$CACHE/otlp-context" wheels="$CACHE/wheels"
  mkdir -p "$wheels"
  if ! echo "$ROTEL_WHEEL_SHA256  $wheels/$ROTEL_WHEEL" | sha256sum -c --quiet >/dev/null 2>&1; then
    say "pip download rotel==$ROTEL_VERSION"
    local pip
    pip=$(command -v pip3 || command -v pip || true)
    [ -n "$pip" ] || { apt_install python3-pip; pip=$(command -v pip3); }
    "$pip" download -q --no-deps --only-binary :all: --python-version 3.11 \
      --platform manylinux_2_34_x86_64 -d "$wheels" "rotel==$ROTEL_VERSION"
    echo "$ROTEL_WHEEL_SHA256  $wheels/$ROTEL_WHEEL" | sha256sum -c --quiet
  fi
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$ROOT"/airgap/otlp-receiver/* "$ctx/"
  python3 - "$wheels/$ROTEL_WHEEL" "$ctx/rotel-agent" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("rotel/rotel-agent"))
PY
  chmod 0755 "$ctx/rotel-agent"
  build "$PREFIX/otlp-receiver:$ROTEL_VERSION" "$ctx" "$ROTEL_WHEEL_SHA256"
  rm -rf "$ctx"
}

docker info >/dev/null 2>&1 || { say "no container engine answers (scripts/docker-engine.sh start)"; exit 1; }
mkdir -p "$CACHE"
base_image
rust_image
build "$PREFIX/runtime:debian12-nonroot" "$ROOT/airgap/runtime"
build "$PREFIX/postgres:15" "$ROOT/airgap/postgres"
build "$PREFIX/redis:7" "$ROOT/airgap/redis"
otlp_image
say "air-gapped base images ready"
