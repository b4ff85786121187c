# shellcheck shell=bash
# Shared by the project's scripts (sourced, not run).

# apt_install PACKAGE...: installs Debian packages (as root), refreshing the package lists
# only when they were never downloaded.
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "please install the Debian packages: $*" >&2
    exit 1
  fi
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# newest_pg_bin: prints the newest /usr/lib/postgresql/<version>/bin that has initdb.
newest_pg_bin() {
  find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' -printf '%h\n' 2>/dev/null |
    sort -V | tail -n 1
}

# docker: the container engine's own client. Debian's docker.io installs it as /usr/bin/docker;
# a different client earlier on PATH (some machines carry a newer one without buildx) cannot
# use the engine's BuildKit, which the project's Dockerfile needs (build secrets).
docker() {
  if [ -x /usr/bin/docker ]; then DOCKER_BUILDKIT=1 /usr/bin/docker "$@"
  else DOCKER_BUILDKIT=1 command docker "$@"; fi
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now (the kernel picks it).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_private_redis DIR PORT: a durable Redis of the caller's own (AOF, appendfsync always,
# nothing else on disk) on 127.0.0.1:PORT with its files in DIR; waits until it answers and
# records its pid in DIR/pid, so that the caller stops it, and only it, by that pid.
start_private_redis() {
  local dir=$1 port=$2
  rm -rf "$dir" && mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes --appendfsync always \
    --save "" --daemonize yes --pidfile "$dir/pid" --logfile "$dir/log"
  for _ in $(seq 1 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && [ -s "$dir/pid" ] && return 0
    sleep 0.1
  done
  echo "redis-server on port $port did not start (log: $dir/log)" >&2
  return 1
}
