#!/usr/bin/env bash
# scripts/compose-e2e.sh -- the platform in real containers, end to end (scripts/test.sh runs it):
#
#   1. a Docker engine and Compose v2 (scripts/docker-engine.sh; dockerd is started here when
#      none runs, and stopped at the end), the air-gapped base images (scripts/airgap-images.sh)
#   2. `docker compose build` of transaksi and mutasi from the project's Dockerfile, then
#      `docker compose up --wait` of docker-compose.yml + compose.airgap.yml, with credentials
#      made for this run and host ports chosen free for this run
#   3. the API smoke test (scripts/smoke.sh; /metrics answers 404 on the published API ports),
#      and /metrics on the private metrics ports (9180, 9181) answers inside the compose network
#      (probed from the other service's container) while the host has no mapping for them
#   4. one deposit's trace reaches the OTLP receiver with spans of transaksi AND mutasi
#   5. `docker kill -s KILL` of transaksi while a client posts deposits with Idempotency-Key
#      retries: after the restart, every acknowledged deposit is in the balance and in the
#      statement exactly once (scripts/e2e/posting_client.py)
#   6. `docker compose down` (volumes kept) and `up` again: balance and statement unchanged
#   7. every service container runs as a non-root user on a read-only root file system
#   8. `docker compose down -v`
# It touches only its own compose project (COMPOSE_E2E_PROJECT, default bukubesar-e2e) and the
# dockerd it started itself. If dockerd cannot start it says what is missing and exits 1.
# Prints the figures of the run at the end (build, up-to-healthy, kill -9 outcome, image sizes).
# Knobs: COMPOSE_E2E_PROJECT, KILL_OPS (deposits posted around the kill, default 300).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

PROJECT="${COMPOSE_E2E_PROJECT:-bukubesar-e2e}"
KILL_OPS="${KILL_OPS:-300}"
PIN=135790
T0=$SECONDS
WORK="$(mktemp -d)"
ENGINE_STARTED=0
FIGURES=()

step() { echo "==> [compose-e2e $((SECONDS - T0))s] $*" >&2; }
die() { echo "compose-e2e: FAILED: $*" >&2; exit 1; }
figure() { FIGURES+=("$1"); echo "    $1" >&2; }

compose() {
  docker compose -p "$PROJECT" --project-directory "$ROOT" --env-file "$WORK/.env" \
    -f docker-compose.yml -f compose.airgap.yml -f "$WORK/compose.e2e.yml" "$@"
}
container_of() { compose ps -q "$1"; }

cleanup() {
  local status=$?
  set +e
  if [ "$status" != 0 ] && [ -f "$WORK/compose.e2e.yml" ]; then
    echo "---- diagnostics" >&2
    compose ps -a >&2
    compose logs --no-color --tail=40 >&2
  fi
  if [ -f "$WORK/compose.e2e.yml" ]; then
    step "docker compose down -v"
    compose down -v --remove-orphans >/dev/null 2>&1
  fi
  if [ "$ENGINE_STARTED" = 1 ]; then bash scripts/docker-engine.sh stop; fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

secret() { head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'; }

# ---------------------------------------------------------------- 1. engine and images
if [ "$(bash scripts/docker-engine.sh status)" = stopped ]; then ENGINE_STARTED=1; fi
step "container engine"
bash scripts/docker-engine.sh start
step "air-gapped base images"
bash scripts/airgap-images.sh

T_PORT=$(free_port); M_PORT=$(free_port)
T="http://127.0.0.1:$T_PORT"; M="http://127.0.0.1:$M_PORT"
cat > "$WORK/.env" <<EOF
POSTGRES_PASSWORD=$(secret)
TRANSAKSI_DB_USER=transaksi
TRANSAKSI_DB_PASSWORD=$(secret)
MUTASI_DB_USER=mutasi
MUTASI_DB_PASSWORD=$(secret)
REDIS_PASSWORD=$(secret)
EOF
cat > "$WORK/compose.e2e.yml" <<EOF
# this run's host ports (chosen free), so the e2e never collides with what runs on the machine
services:
  transaksi:
    ports: !override ["127.0.0.1:$T_PORT:8080"]
  mutasi:
    ports: !override ["127.0.0.1:$M_PORT:8081"]
EOF

# ---------------------------------------------------------------- 2. build and up
step "docker compose build (the project's Dockerfile, targets transaksi and mutasi)"
t=$SECONDS
compose build --progress plain > "$WORK/build.log" 2>&1 || { tail -n 60 "$WORK/build.log" >&2; die "build"; }
figure "build of transaksi and mutasi: $((SECONDS - t)) s"
step "docker compose up --wait"
t=$SECONDS
compose up -d --wait --wait-timeout 180 >&2 || die "the platform did not become healthy"
figure "up to healthy (5 services): $((SECONDS - t)) s"

# ---------------------------------------------------------------- 3. smoke test
step "API smoke test (transaksi $T, mutasi $M)"
WAIT_SECS=120 bash scripts/smoke.sh "$T" "$M"
step "/metrics: 404 on the published API ports (above), 200 on 9180/9181 inside the network only"
# The images have no shell or curl: the probe is their HEALTHCHECK program, run in the other
# service's container so the request crosses the compose network.
compose exec -T mutasi /usr/local/bin/bukubesar-healthcheck http://transaksi:9180/metrics ||
  die "transaksi's /metrics does not answer on transaksi:9180 inside the network"
compose exec -T transaksi /usr/local/bin/bukubesar-healthcheck http://mutasi:9181/metrics ||
  die "mutasi's /metrics does not answer on mutasi:9181 inside the network"
for service in transaksi:9180 mutasi:9181; do
  port="${service#*:}"
  if docker port "$(container_of "${service%%:*}")" "$port/tcp" >/dev/null 2>&1; then
    die "${service%%:*}: the metrics port $port is published on the host"
  fi
done
figure "/metrics: 404 on the API ports, answers on transaksi:9180 and mutasi:9181 in the network, not published"

# ---------------------------------------------------------------- 4. one deposit's trace
step "one deposit's trace reaches the OTLP receiver with spans of both services"
CLIENT="python3 scripts/e2e/posting_client.py"
ACCOUNT=$($CLIENT register "$T" "$PIN")
trace_id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
parent_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
auth="Authorization: Basic $(printf '%s:%s' "$ACCOUNT" "$PIN" | base64 | tr -d '\n')"
curl -fsS -o /dev/null -H "$auth" -H 'Content-Type: application/json' \
  -H "traceparent: 00-$trace_id-$parent_id-01" --data "{\"no_rekening\":\"$ACCOUNT\",\"nominal\":10}" "$T/tabung"
receiver=$(container_of jaeger)
deadline=$((SECONDS + 60))
until python3 scripts/e2e/trace_check.py "$trace_id" "$parent_id" transaksi mutasi < <(docker logs "$receiver" 2>&1) > "$WORK/trace.txt" 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] || { cat "$WORK/trace.txt" >&2; die "trace $trace_id incomplete at the receiver"; }
  sleep 2
done
figure "trace $trace_id: $(tail -n 1 "$WORK/trace.txt")"

# ---------------------------------------------------------------- 5. kill -9 under load
step "docker kill -s KILL transaksi while a client posts $KILL_OPS deposits with Idempotency-Key retries"
ACCOUNT=$($CLIENT register "$T" "$PIN")
$CLIENT run "$T" "$ACCOUNT" "$PIN" "$KILL_OPS" "$WORK/ops.json" 2> "$WORK/client.log" &
client=$!
until [ -s "$WORK/ops.json" ] && [ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/ops.json" 2>/dev/null || echo 0)" -ge 20 ]; do
  kill -0 "$client" 2>/dev/null || { cat "$WORK/client.log" >&2; die "the client ended early"; }
  sleep 0.2
done
victim=$(container_of transaksi)
docker kill -s KILL "$victim" >/dev/null
t=$SECONDS
# the restart policy brings it back; a killed container that the engine counts as stopped by
# hand is started again here, as an operator would
sleep 3
[ "$(docker inspect -f '{{.State.Running}}' "$victim")" = true ] || docker start "$victim" >/dev/null
until [ "$(docker inspect -f '{{.State.Health.Status}}' "$victim")" = healthy ]; do
  [ $((SECONDS - t)) -lt 120 ] || die "transaksi not healthy again after the kill"
  sleep 0.5
done
figure "transaksi healthy again $((SECONDS - t)) s after kill -9 (restarts: $(docker inspect -f '{{.RestartCount}}' "$victim"))"
wait "$client" || { cat "$WORK/client.log" >&2; die "the client could not get every deposit acknowledged"; }
result=$($CLIENT check "$T" "$M" "$ACCOUNT" "$PIN" "$WORK/ops.json") || { echo "$result" >&2; die "kill -9 check"; }
figure "kill -9: $result"

# ---------------------------------------------------------------- 6. down and up again
step "docker compose down (volumes kept) and up again: balance and statement unchanged"
$CLIENT snapshot "$T" "$M" "$ACCOUNT" "$PIN" > "$WORK/before.json"
compose down >&2
t=$SECONDS
compose up -d --wait --wait-timeout 180 >&2 || die "the platform did not come back"
figure "up again on the kept volumes: $((SECONDS - t)) s"
WAIT_SECS=60 bash scripts/smoke.sh "$T" "$M" >/dev/null 2>&1 || die "smoke test after the restart"
$CLIENT snapshot "$T" "$M" "$ACCOUNT" "$PIN" > "$WORK/after.json"
cmp -s "$WORK/before.json" "$WORK/after.json" || {
  diff <(python3 -m json.tool "$WORK/before.json") <(python3 -m json.tool "$WORK/after.json") | head -20 >&2
  die "balance or statement changed across down/up"; }
figure "down/up: balance and $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["mutasi"]))' "$WORK/after.json") statement lines unchanged"

# ---------------------------------------------------------------- 7. users and file systems
step "every service container: non-root processes, read-only root file system"
for service in postgres redis jaeger transaksi mutasi; do
  id=$(container_of "$service")
  readonly_fs=$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")
  uids=$(docker top "$id" -eo pid,uid | awk 'NR > 1 {print $2}' | sort -u | tr '\n' ' ')
  [ "$readonly_fs" = true ] || die "$service: root file system is writable"
  for uid in $uids; do [ "$uid" != 0 ] || die "$service: a process runs as root (uids: $uids)"; done
  echo "    $service: uid ${uids% }, read-only root" >&2
done

# ---------------------------------------------------------------- 8. figures
sizes=$(for image in bukubesar/transaksi:0.1.0 bukubesar/mutasi:0.1.0; do
  printf '%s %s MB; ' "$image" "$(( $(docker image inspect -f '{{.Size}}' "$image") / 1000000 ))"; done)
figure "image sizes: $sizes"
step "compose end-to-end passed in $((SECONDS - T0)) s"
printf '    %s\n' "${FIGURES[@]}" >&2
