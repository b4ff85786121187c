#!/bin/sh
# Entry point of bukubesar-airgap/redis:7 (the official image's behaviour): options alone mean
# redis-server with them; redis-server started as root runs as redis, owning /data.
set -eu
case "${1:-}" in -*|*.conf) set -- redis-server "$@" ;; esac
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
umask 0077
exec "$@"
