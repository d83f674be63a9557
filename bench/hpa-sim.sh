#!/usr/bin/env bash
# hpa-sim at scale and against the recorded runs: 24 h of a diurnal load peaking at
# 100 000 req/s with up to 2 000 replicas (time and max RSS, with and without the
# per-pod samples), a 9-point sweep of it, and the agreement with the real cluster's
# replica counts in ../shared/fixtures/real-run.
#
# Usage: bench/hpa-sim.sh     (env: BIN=.build/release, RUNS=3, REAL=../shared/fixtures/real-run)
# Needs: python3 /usr/bin/time, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bin/lib.sh
. bin/lib.sh

BIN=${BIN:-.build/release}
RUNS=${RUNS:-3}
REAL=${REAL:-../shared/fixtures/real-run}
[ -x "$BIN/hpa-sim" ] || die "no $BIN/hpa-sim: run swift build -c release"
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
# A day: hourly steps along a cosine from 0 to 100 000 req/s and back.
steps=$(python3 -c "import math; print(','.join('%d:3600s' % round(50000 - 50000 * math.cos(2 * math.pi * h / 24)) for h in range(24)))")
day=(--steps "$steps" --max 2000 --work-ms 5 --tail 1s)
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) =="
for run in $(seq "$RUNS"); do
  /usr/bin/time -f "%e %M" -o /tmp/hpa-sim-time "$BIN/hpa-sim" "${day[@]}" --no-pod-metrics >/tmp/hpa-sim-day.jsonl
  read -r wall rss </tmp/hpa-sim-time
  echo "day, 100 000 req/s peak, ≤ 2 000 replicas, no pod samples: ${wall} s, max RSS $((rss / 1024)) MiB, $(wc -l </tmp/hpa-sim-day.jsonl) lines (run $run)"
done
/usr/bin/time -f "%e %M" -o /tmp/hpa-sim-time "$BIN/hpa-sim" "${day[@]}" >/dev/null
read -r wall rss </tmp/hpa-sim-time
echo "same with every pod's samples (to /dev/null): ${wall} s, max RSS $((rss / 1024)) MiB"
/usr/bin/time -f "%e %M" -o /tmp/hpa-sim-time "$BIN/hpa-sim" "${day[@]}" --sweep target=40:80:5 >/tmp/hpa-sim-sweep.txt
read -r wall rss </tmp/hpa-sim-time
echo "9-point sweep of the day (target 40..80 %): ${wall} s, max RSS $((rss / 1024)) MiB"
cat /tmp/hpa-sim-sweep.txt
for run in seed-30qps steps-to-overload; do
  [ -d "$REAL/$run" ] || { step "no $REAL/$run: skipping its agreement"; continue; }
  echo "agreement with $run (--node-cpu 1.6: the recording node's 2 cores less the control plane):"
  "$BIN/hpa-sim" --replay "$REAL/$run/records.jsonl" --node-cpu 1.6 --compare "$REAL/$run/hpa-timeline.jsonl" | tail -2
done
