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
