#!/usr/bin/env bash
# kube-wait against a stub HTTPS API server (bench/kube_api_stub.py): how soon after
# the server sends the final state kube-wait has it (it exits then), and how much CPU
# it uses while it waits on a silent watch.
#
# Usage: bench/kube-wait.sh      (env: RUNS=5, HOLD=10 seconds of silence, BIN=.build/release)
# Needs: python3 openssl curl, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

RUNS=${RUNS:-5}
HOLD=${HOLD:-10}
BIN=${BIN:-.build/release}
OUT=${OUT:-bench/out/kube-wait}
[ -x "$BIN/kube-wait" ] || die "no $BIN/kube-wait: run swift build -c release"
step "a stub API server with a self-signed certificate for 127.0.0.1"
api_stub "$OUT" bench --namespace bench --deployment web --rollout "$HOLD"

now() { date +%s.%N; }
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) ==" | tee "$OUT/summary.txt"
for run in $(seq "$RUNS"); do
  rm -f "$OUT/sent"
  /usr/bin/time -f "%U %S %e" -o "$OUT/time" "$BIN/kube-wait" deployment/web --kubeconfig "$OUT/kubeconfig" --json >"$OUT/out.jsonl"
  done_at=$(now)
  read -r user sys wall <"$OUT/time"
  awk -v s="$(cat "$OUT/sent")" -v d="$done_at" -v u="$user" -v y="$sys" -v w="$wall" -v r="$run" 'BEGIN{
    printf "run %d: final state sent -> kube-wait exited %.1f ms (includes process exit); CPU %.3f s over %.2f s = %.2f%% of a core\n",
      r, (d - s) * 1000, u + y, w, 100 * (u + y) / w }' | tee -a "$OUT/summary.txt"
done
