#!/usr/bin/env bash
# Builds Herald's container image with podman and checks it end to end, on a Debian host with no
# Docker and no access to Docker Hub (run as root):
#   1. base images from Debian trixie (nodejs 20.19) made with mmdebstrap, once (reused after);
#   2. the image built from the Dockerfile with those bases; its size;
#   3. run with a published loopback port: time to healthy, not root, `herald doctor`;
#   4. an application and an endpoint created over the API, a message delivered to a receiver on
#      the host (reached through the podman bridge's gateway address, which the SSRF allowlist
#      admits), signed;
#   5. a slow delivery in flight when SIGTERM arrives settles, and Herald exits 0;
#   6. a restart on the same volume has that attempt recorded as a success.
# Needs: apt-get install podman buildah mmdebstrap runc. Prints the measurements at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CONTAINERS_CONF="$ROOT/scripts/containers.conf"
WORK=${HERALD_CONTAINER_WORK:-/var/tmp/herald-container}
IMAGE=${HERALD_SMOKE_IMAGE:-localhost/herald:smoke}
BASE=localhost/herald-base:trixie
BUILD=localhost/herald-build:trixie
TOKEN=smoke_operator_token_0123456789
NAME=herald-smoke-$$
VOLUME=herald-smoke-$$
RECEIVER_PID=
mkdir -p "$WORK"

log() { printf '[container-smoke %s] %s\n' "$(date -u +%T)" "$*"; }
die() { log "FAILED: $*"; exit 1; }

for t in podman mmdebstrap runc curl; do
  command -v "$t" >/dev/null || die "$t is not installed (apt-get install podman buildah mmdebstrap runc curl)"
done

cleanup() {
  podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
  podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  [ -n "$RECEIVER_PID" ] && kill "$RECEIVER_PID" 2>/dev/null || true
}
trap cleanup EXIT

# A Debian trixie root filesystem with `packages`, without documentation, imported as `name`.
base_image() {
  local name=$1 packages=$2
  if podman image exists "$name"; then return 0; fi
  log "making $name ($packages) with mmdebstrap"
  mmdebstrap --quiet --variant=minbase --include="$packages" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    trixie "$WORK/rootfs.tar"
  podman import --quiet "$WORK/rootfs.tar" "$name" >/dev/null
  rm -f "$WORK/rootfs.tar"
}
base_image "$BASE" nodejs,ca-certificates
base_image "$BUILD" nodejs,npm,libnode-dev,python3,make,g++,ca-certificates

log "building $IMAGE"
started=$(date +%s)
# The host's CA bundle as a build secret, for hosts whose npm traffic passes a TLS-inspecting proxy.
ca=()
[ -s /etc/ssl/certs/ca-certificates.crt ] && ca=(--secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt)
podman build --quiet --format docker --network host "${ca[@]}" \
  --build-arg NODE_IMAGE="$BASE" --build-arg BUILD_IMAGE="$BUILD" \
  --build-arg HERALD_VERSION="$(node -p "require('./packages/server/package.json').version")" \
  -t "$IMAGE" . >/dev/null
build_s=$(( $(date +%s) - started ))
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
size_mb=$(( size / 1000000 ))
log "built in ${build_s} s; image size ${size_mb} MB (${size} bytes)"

[ "$(podman run --rm --entrypoint id "$IMAGE" -u)" = 10001 ] || die 'the image does not run as uid 10001'
podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q '/api/v1/health' || die 'the image has no HEALTHCHECK on /api/v1/health'

# The podman bridge's gateway: the host as containers see it.
GATEWAY=$(podman network inspect podman --format '{{range .Subnets}}{{.Gateway}}{{end}}')
[ -n "$GATEWAY" ] || die 'cannot find the podman network gateway'
free_port() { node -e "const s=require('net').createServer().listen(0,'$1',()=>{console.log(s.address().port);s.close()})"; }
HPORT=$(free_port 127.0.0.1)

run() {
  podman run -d --name "$NAME" -p "127.0.0.1:$HPORT:8071" -v "$VOLUME:/data" \
    -e HERALD_API_TOKEN="$TOKEN" -e HERALD_SSRF_ALLOWLIST="$GATEWAY/32" -e HERALD_PUBLIC_URL="http://127.0.0.1:$HPORT" \
    -e HERALD_RETRY_SCHEDULE=1s "$IMAGE" >/dev/null
}
URL="http://127.0.0.1:$HPORT"
# Milliseconds from the container's start until GET /api/v1/health answers 204.
wait_healthy() {
  local t0 deadline
  t0=$(date +%s%3N)
  deadline=$(( t0 + 60000 ))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/health")" = 204 ]; do
    [ "$(date +%s%3N)" -lt "$deadline" ] || { podman logs "$NAME" >&2; die 'not healthy within 60 s'; }
    sleep 0.05
  done
  local started_at
  started_at=$(podman inspect --format '{{.State.StartedAt.UnixMilli}}' "$NAME" 2>/dev/null || echo "$t0")
  echo $(( $(date +%s%3N) - started_at ))
}
api() { # method path [json]
  curl -sS -f -X "$1" "$URL$2" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' ${3:+-d "$3"}
}
json() { node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>console.log(eval("("+s+")"+process.argv[1])))' "$1"; }
wait_for() { # description, command...
  local what=$1; shift
  for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done
  podman logs "$NAME" >&2 || true
  die "timed out waiting for $what"
}

log "running $IMAGE on 127.0.0.1:$HPORT"
run_started=$(date +%s%3N)
run
healthy_ms=$(wait_healthy)
run_to_healthy_ms=$(( $(date +%s%3N) - run_started ))
# CPU time Herald (PID 1) used to get there: what the start costs, whatever else loads the host.
cpu_ms=$(podman exec "$NAME" cat /proc/1/stat | awk '{print ($14 + $15) * 10}')
log "healthy ${healthy_ms} ms after the container started (${run_to_healthy_ms} ms after \`podman run\`), ${cpu_ms} ms of CPU"

# The receiver listens on the bridge's gateway address, which exists while a container is attached.
RPORT=$(free_port 0.0.0.0)

# The receiver: records each delivery (headers and body) as a JSON line; a payload with
# {"slow": true} is answered only after 3 s, and its arrival is recorded first.
RECEIVED="$WORK/received-$$.jsonl"
: > "$RECEIVED"
node -e '
  const fs = require("fs");
  require("http").createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const slow = body.includes("\"slow\":true");
      fs.appendFileSync(process.argv[1], JSON.stringify({ phase: "arrived", headers: req.headers, body }) + "\n");
      setTimeout(() => {
        res.end("ok");
        fs.appendFileSync(process.argv[1], JSON.stringify({ phase: "answered", body }) + "\n");
      }, slow ? 3000 : 0);
    });
  }).listen(Number(process.argv[2]), process.argv[3]);
' "$RECEIVED" "$RPORT" "$GATEWAY" &
RECEIVER_PID=$!
wait_for 'the receiver' node -e "require('net').connect($RPORT, '$GATEWAY').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"
log "receiver on $GATEWAY:$RPORT"


[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/health")" = 204 ] || die 'health is not 204'
version=$(api GET /api/v1/version)
log "version: $version"
podman exec "$NAME" herald doctor >/dev/null || { podman exec "$NAME" herald doctor; die 'herald doctor found a problem in the container'; }

app=$(api POST /api/v1/app '{"name":"smoke"}' | json .id)
ep=$(api POST "/api/v1/app/$app/endpoint" "{\"url\":\"http://$GATEWAY:$RPORT/hook\"}" | json .id)
api POST "/api/v1/app/$app/msg" '{"eventType":"smoke.test","payload":{"hello":"from the container"}}' >/dev/null
wait_for 'the first delivery' grep -q '"phase":"answered","body":"{\\"hello\\":\\"from the container\\"}"' "$RECEIVED"
grep '"phase":"arrived"' "$RECEIVED" | head -1 | grep -q '"webhook-signature":"v1,' || die 'the delivery was not signed'
log 'delivered to the receiver on the host, signed'

slow=$(api POST "/api/v1/app/$app/msg" '{"eventType":"smoke.slow","payload":{"slow":true}}' | json .id)
wait_for 'the slow delivery to arrive' grep -q '"phase":"arrived","headers":.*"slow\\":true' "$RECEIVED"
log 'slow delivery in flight; SIGTERM'
podman kill --signal TERM "$NAME" >/dev/null
code=$(podman wait "$NAME")
[ "$code" = 0 ] || { podman logs "$NAME" >&2; die "exit code $code after SIGTERM"; }
grep -q '"phase":"answered","body":"{\\"slow\\":true}"' "$RECEIVED" || die 'the delivery in flight did not settle before exit'
podman logs "$NAME" 2>&1 | grep -q 'shutting down' || die 'no shutdown line in the log'
log 'SIGTERM: the delivery in flight settled, exit code 0'

podman rm "$NAME" >/dev/null
run
restart_ms=$(wait_healthy)
attempts=$(api GET "/api/v1/app/$app/attempt/msg/$slow")
[ "$(echo "$attempts" | json '.data.length')" = 1 ] || die "expected one attempt for the slow message, got $attempts"
[ "$(echo "$attempts" | json '.data[0].responseStatusCode')" = 200 ] || die "the settled attempt is not recorded as a 200: $attempts"
[ "$(echo "$attempts" | json '.data[0].endpointId')" = "$ep" ] || die 'the attempt names another endpoint'
log "restarted on the same volume (healthy after ${restart_ms} ms); the settled attempt is recorded"
podman stop -t 30 "$NAME" >/dev/null
# Build cache a week old or more goes, so repeated runs do not fill the disk.
podman image prune -f --filter until=168h >/dev/null 2>&1 || true

echo "container-smoke: OK image_size_mb=$size_mb build_s=$build_s healthy_ms=$healthy_ms cpu_to_healthy_ms=$cpu_ms run_to_healthy_ms=$run_to_healthy_ms restart_healthy_ms=$restart_ms"
