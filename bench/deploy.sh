#!/usr/bin/env bash
# How soon bin/deploy returns once the rollout completes. No cluster runs here, so the
# API server is bench/kube_api_stub.py (HTTPS, real API responses: a LIST, then a watch
# that sends the rolled-out Deployment HOLD seconds later; the HPA already has metrics)
# and `kubectl apply` is a stand-in on PATH that only records its arguments.
# What is measured is everything of ours after the apply: bin/deploy, kube-wait's
# watches, process exits.
#
# Usage: bench/deploy.sh            (env: RUNS=5, HOLD=5, BIN=.build/release)
# Needs: python3, openssl, curl, kubectl, a release build (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

RUNS=${RUNS:-5}
HOLD=${HOLD:-5}
BIN=${BIN:-$ROOT/.build/release}
OUT=${OUT:-$ROOT/bench/out/deploy}
[ -x "$BIN/kube-wait" ] || die "no $BIN/kube-wait: run swift build -c release"
mkdir -p "$OUT"

kubectl_stand_in "$OUT/path"
# The dev overlay's names (namePrefix dev-); the kubeconfig's namespace is not NAMESPACE.
api_stub "$OUT" default --namespace bench --deployment dev-inference-sim --rollout "$HOLD"

echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) ==" | tee "$OUT/summary.txt"
for run in $(seq "$RUNS"); do
  rm -f "$OUT/sent" "$OUT/kubectl.log"
  PATH="$OUT/path:$PATH" KUBECTL_LOG="$OUT/kubectl.log" KUBECONFIG="$OUT/kubeconfig" NAMESPACE=bench \
    INFER_SIM_BIN="$BIN" bin/deploy 2>"$OUT/deploy.err"
  done_at=$(date +%s.%N)
  grep -q "^kubectl apply -k .build-k8s/deploy" "$OUT/kubectl.log" || die "bin/deploy did not apply the overlay"
  [ -s "$OUT/sent" ] || die "the stub never sent the rolled-out Deployment (see $OUT/deploy.err)"
  awk -v s="$(cat "$OUT/sent")" -v d="$done_at" -v r="$run" 'BEGIN {
    printf "run %d: rollout complete (sent) -> bin/deploy returned: %.1f ms (target 5000)\n", r, (d - s) * 1000 }' | tee -a "$OUT/summary.txt"
done
