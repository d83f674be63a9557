#!/usr/bin/env bash
# The container image side by side with the earlier project's: what each adds on top of
# its runtime base, and container start to the first 200 from its readiness route, with
# Debian's docker.io engine and locally made bases (debootstrap + docker import; no
# registry is reachable here). Ours: the Dockerfile's runtime stage on a minimal
# bookworm with the static infer-sim. The seed's: a venv with fastapi and uvicorn and
# the app on a minimal bookworm with python3 (what python:3.11-slim gives it).
#
# Usage: bench/image.sh            (env: RUNS=5, PEERS=../shared/peers)
# Needs: root, docker.io, debootstrap, curl, python3 with pip (for the seed's wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=Tests/Container/docker.sh
. Tests/Container/docker.sh

RUNS=${RUNS:-5}
PEERS=${PEERS:-$ROOT/../shared/peers}
WORK=.build-container
PORT=18098
need curl "apt-get install curl"
[ -d "$PEERS/seed" ] || die "no seed app under $PEERS (set PEERS)"
docker_engine || die "$NO_DOCKER"

# Ours.
static_infer_sim "$WORK/binaries/out"
local_base libjansson4,libyaml-0-2,ca-certificates "$WORK" || die "$NO_BASE"
ours_base=$LOCAL_BASE
tar -C "$WORK/binaries" -c . | "$DOCKER" import - local/k8s-inference-sim-binaries:bench >/dev/null
step "building our image"
DOCKER_BUILDKIT=1 "$DOCKER" build -q --build-arg RUNTIME_IMAGE="$ours_base" \
  --build-arg BINARIES=local/k8s-inference-sim-binaries:bench -t k8s-inference-sim:bench . >/dev/null

# The seed's.
local_base python3,python3-venv,ca-certificates "$WORK" || die "$NO_BASE"
seed_base=$LOCAL_BASE
seed_ctx=$WORK/seed-context
rm -rf "$seed_ctx" && mkdir -p "$seed_ctx/wheels"
step "downloading the seed server's wheels (fastapi, uvicorn)"
python3 -m pip download -q -d "$seed_ctx/wheels" fastapi uvicorn
cp -r "$PEERS/seed/app" "$seed_ctx/app"
cat >"$seed_ctx/Dockerfile" <<DOCKERFILE
# hadolint ignore=DL3006
FROM $seed_base
RUN --mount=type=bind,source=wheels,target=/wheels \\
    python3 -m venv /venv && /venv/bin/pip install -q --no-cache-dir --no-index --find-links /wheels fastapi uvicorn
COPY app /app/app
WORKDIR /app
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/venv/bin/uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8080"]
DOCKERFILE
step "building the seed's image"
DOCKER_BUILDKIT=1 "$DOCKER" build -q -t k8s-inference-sim-seed:bench "$seed_ctx" >/dev/null

added_mb() { echo $(( ($("$DOCKER" image inspect -f '{{.Size}}' "$1") - $("$DOCKER" image inspect -f '{{.Size}}' "$2")) / 1000000 )); }

# start_ms IMAGE PATH: docker run to the first 200 from PATH, in ms.
start_ms() {
  local name=k8s-inference-sim-bench start ready=""
  "$DOCKER" rm -f "$name" >/dev/null 2>&1 || true
  start=$(date +%s%N)
  "$DOCKER" run -d --name "$name" --read-only --tmpfs /tmp -p "127.0.0.1:$PORT:8080" "$1" >/dev/null
  for _ in $(seq 1000); do
    if curl -sf -o /dev/null "http://127.0.0.1:$PORT$2"; then ready=$(date +%s%N); break; fi
    sleep 0.01
  done
  "$DOCKER" rm -f "$name" >/dev/null
  [ -n "$ready" ] || die "$1 never answered $2"
  echo $(( (ready - start) / 1000000 ))
}

ours_added=$(added_mb k8s-inference-sim:bench "$ours_base")
seed_added=$(added_mb k8s-inference-sim-seed:bench "$seed_base")
ours_runs=() seed_runs=()
for _ in $(seq "$RUNS"); do
  ours_runs+=("$(start_ms k8s-inference-sim:bench /readyz)")
  seed_runs+=("$(start_ms k8s-inference-sim-seed:bench /healthz)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ours_start=$(median "${ours_runs[@]}")
seed_start=$(median "${seed_runs[@]}")

printf '%-44s %12s %12s %s\n' "figure" "ours" "seed" "ratio"
printf '%-44s %12s %12s %s\n' "MB added to the runtime base" "$ours_added" "$seed_added" \
  "$(awk -v a="$ours_added" -v b="$seed_added" 'BEGIN { printf "%.2fx", a / b }')"
printf '%-44s %12s %12s %s\n' "start to first 200 (ms, median of $RUNS)" "$ours_start" "$seed_start" \
  "$(awk -v a="$ours_start" -v b="$seed_start" 'BEGIN { printf "%.2fx", a / b }')"
printf '%-44s %s\n' "  ours, each run (/readyz)" "${ours_runs[*]}"
printf '%-44s %s\n' "  seed, each run (/healthz)" "${seed_runs[*]}"
