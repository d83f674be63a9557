#!/usr/bin/env bash
# The container test: the Dockerfile's runtime stage built from locally made base
# images (debootstrap + docker import: no registry is reachable here) with the real
# static binaries, run read-only as non-root, checked through the published port:
# /healthz, /infer with X-Served-By, and a SIGTERM that drains an in-flight request.
# Skips, saying why, only where a Docker engine cannot run here (not root, no docker.io,
# dockerd does not start, no Debian mirror for the base image); what the image does is
# never skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=bin/lib.sh
. bin/lib.sh

skip() { step "container test skipped: $*"; exit 0; }
fail() { printf 'container test: FAILED: %s\n' "$*" >&2; exit 1; }

# shellcheck source=Tests/Container/docker.sh
. Tests/Container/docker.sh
docker_engine || skip "$NO_DOCKER"

WORK=.build-container
# What the Dockerfile's runtime stage installs.
PACKAGES=libjansson4,libyaml-0-2,ca-certificates
BINARIES=local/k8s-inference-sim-binaries:test
IMAGE_UNDER_TEST=k8s-inference-sim:test
PORT=${CONTAINER_TEST_PORT:-18099}
NAME=k8s-inference-sim-test

static_infer_sim "$WORK/binaries/out"
local_base "$PACKAGES" "$WORK" || skip "$NO_BASE"
BASE=$LOCAL_BASE
step "importing the binaries as $BINARIES"
tar -C "$WORK/binaries" -c . | "$DOCKER" import - "$BINARIES" >/dev/null

step "building the runtime stage"
DOCKER_BUILDKIT=1 "$DOCKER" build -q --build-arg RUNTIME_IMAGE="$BASE" --build-arg BINARIES="$BINARIES" -t "$IMAGE_UNDER_TEST" . >/dev/null

base_size=$("$DOCKER" image inspect -f '{{.Size}}' "$BASE")
image_size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE_UNDER_TEST")
added_mb=$(( (image_size - base_size) / 1000000 ))
step "the image adds $added_mb MB to its base"
[ "$added_mb" -le 60 ] || fail "the image adds $added_mb MB to its base; the budget is 60 MB"

"$DOCKER" rm -f "$NAME" >/dev/null 2>&1 || true
cleanup() { "$DOCKER" rm -f "$NAME" >/dev/null 2>&1 || true; }
trap cleanup EXIT
step "running it read-only as non-root on 127.0.0.1:$PORT"
start=$(date +%s%N)
"$DOCKER" run -d --name "$NAME" --read-only --cap-drop ALL --security-opt no-new-privileges \
  -e INFER_WORK_MS=300 -p "127.0.0.1:$PORT:8080" "$IMAGE_UNDER_TEST" >/dev/null
ready=""
for _ in $(seq 200); do
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz"; then ready=$(date +%s%N); break; fi
  sleep 0.02
done
[ -n "$ready" ] || { "$DOCKER" logs "$NAME" >&2 || true; fail "/readyz never answered 200"; }
step "container start to /readyz 200: $(( (ready - start) / 1000000 )) ms"

[ "$("$DOCKER" inspect -f '{{.Config.User}}' "$NAME")" = "10001:10001" ] || fail "not running as user 10001"
curl -sf "http://127.0.0.1:$PORT/healthz" | grep -q '"status":"ok"' || fail "/healthz"
headers=$(curl -s -D - -o "$WORK/infer.json" "http://127.0.0.1:$PORT/infer")
grep -q "^HTTP/1.1 200" <<<"$headers" || fail "/infer did not answer 200"
served_by=$(sed -n 's/^X-Served-By: \(.*\)\r$/\1/p' <<<"$headers")
hostname=$("$DOCKER" inspect -f '{{.Config.Hostname}}' "$NAME")
[ "$served_by" = "$hostname" ] || fail "X-Served-By '$served_by' is not the container's hostname '$hostname'"
grep -q '"model":"sim-mlp-2x128"' "$WORK/infer.json" || fail "/infer body: $(cat "$WORK/infer.json")"

step "the other tools, through their links, as the image's user with no capabilities: infer-load, infer-stats, kube-wait"
# infer-load on /infer (not a probe), every request must succeed: a socket option that
# needs privileges once made all of them fail while this test only counted records.
"$DOCKER" exec "$NAME" infer-load --host http://127.0.0.1:8080 --path /infer --qps 4 --seconds 2 \
  >"$WORK/load.jsonl" 2>"$WORK/load.err" || fail "infer-load in the container exited $?: $(cat "$WORK/load.err")"
grep -q '^OK=8 ERR=0 ' "$WORK/load.err" || fail "infer-load in the container: $(cat "$WORK/load.err")"
"$DOCKER" exec -i "$NAME" infer-stats --format json <"$WORK/load.jsonl" >"$WORK/stats.json" 2>"$WORK/stats.err" \
  || fail "infer-stats in the container exited $?: $(cat "$WORK/stats.err")"
grep -q '"type":"total","start":[0-9.]*,"end":[0-9.]*,"requests":8,"successes":8,' "$WORK/stats.json" \
  || fail "infer-stats in the container: $(head -c 300 "$WORK/stats.json")"
kw=$("$DOCKER" exec "$NAME" kube-wait --version) || fail "kube-wait --version in the container"
[ -n "$kw" ] || fail "kube-wait printed no version"

step "SIGTERM with a request in flight (3 tokens × 300 ms)"
curl -s -o "$WORK/inflight.json" -w '%{http_code}' "http://127.0.0.1:$PORT/infer?tokens=3" >"$WORK/inflight.code" &
curl_pid=$!
sleep 0.3
"$DOCKER" stop -t 20 "$NAME" >/dev/null
wait "$curl_pid" || true
[ "$(cat "$WORK/inflight.code")" = "200" ] || fail "the in-flight request got $(cat "$WORK/inflight.code"), not 200"
[ "$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$NAME")" = "0" ] || fail "exit code $("$DOCKER" inspect -f '{{.State.ExitCode}}' "$NAME") after SIGTERM"
step "container test passed"
