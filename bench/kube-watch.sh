#!/usr/bin/env bash
# kube-watch against a stub HTTPS API server (bench/kube_api_stub.py): how soon after
# the server sends an HPA status change the line is on kube-watch's stdout, and how much
# CPU it uses while watching a steady HPA (plus its Deployment, pods, events, and the
# metrics API, which the stub lacks: one retry every 15 s).
#
# Usage: bench/kube-watch.sh     (env: RUNS=3, HOLD=60 seconds watched, CHANGE=3 seconds
#                                 to the HPA's change, BIN=.build/release)
# Needs: python3 openssl curl, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

RUNS=${RUNS:-3}
HOLD=${HOLD:-60}
CHANGE=${CHANGE:-3}
BIN=${BIN:-.build/release}
OUT=${OUT:-bench/out/kube-watch}
[ -x "$BIN/kube-watch" ] || die "no $BIN/kube-watch: run swift build -c release"
step "a stub API server with a self-signed certificate for 127.0.0.1"
# The HPA gets its metrics CHANGE s after each LIST; the rollout is long done by then.
api_stub "$OUT" bench --namespace bench --deployment web --rollout 0.1 --hpa-metrics "$CHANGE"

# Each line with the time it reached the reader (a pipe, as with infer-stats).
stamp='import sys, time
for line in iter(sys.stdin.buffer.readline, b""):
    sys.stdout.write("%.6f %s" % (time.time(), line.decode()))
    sys.stdout.flush()'
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) ==" | tee "$OUT/summary.txt"
for run in $(seq "$RUNS"); do
  rm -f "$OUT/hpa-sent"
  /usr/bin/time -f "%U %S %e" -o "$OUT/time" "$BIN/kube-watch" hpa/web --kubeconfig "$OUT/kubeconfig" --seconds "${HOLD}s" \
    | python3 -u -c "$stamp" >"$OUT/lines.txt"
  read -r user sys wall <"$OUT/time"
  [ -s "$OUT/hpa-sent" ] || die "the stub never sent the HPA's change (see $OUT/requests.log)"
  seen=$(awk '/"type":"hpa"/ && /"scaling_active":true/ { print $1; exit }' "$OUT/lines.txt")
  [ -n "$seen" ] || die "kube-watch wrote no line for the HPA's change (see $OUT/lines.txt)"
  awk -v s="$(cat "$OUT/hpa-sent")" -v d="$seen" -v u="$user" -v y="$sys" -v w="$wall" -v r="$run" \
    -v n="$(wc -l <"$OUT/lines.txt")" 'BEGIN{
    printf "run %d: HPA change sent -> its line read %.1f ms; CPU %.3f s over %.1f s = %.3f%% of a core; %d lines\n",
      r, (d - s) * 1000, u + y, w, 100 * (u + y) / w, n }' | tee -a "$OUT/summary.txt"
done
