#!/usr/bin/env bash
# What kube-watch's lines cost infer-stats: 1,000,000 request records (a 10,000 qps run,
# from bench/stats.sh) alone, and merged with 10,000 scaling lines over the same 100 s
# (hpa, deployment, pod, pod_metrics and hpa_event lines in kube-watch's format) given as
# a second input. The scaling lines turn on 10 s windows for the timeline, so the fair
# comparison is also shown: records alone with --interval 10s.
#
# Usage: bench/stats-scaling.sh     (env: BIN=.build/release, RUNS=5; run bench/stats.sh once first)
# Needs: python3 hyperfine, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh

BIN=${BIN:-$ROOT/.build/release}
OUT=${OUT:-$ROOT/bench/out}
RUNS=${RUNS:-5}
need hyperfine "apt-get install hyperfine"
[ -x "$BIN/infer-stats" ] || die "no $BIN/infer-stats: run swift build -c release"
[ -s "$OUT/records-10k.jsonl" ] || die "no $OUT/records-10k.jsonl: run bench/stats.sh first"
if [ ! -s "$OUT/scaling-10k.jsonl" ]; then
  step "10,000 scaling lines over the records' 100 s"
  python3 - "$OUT/scaling-10k.jsonl" <<'PY'
import json, random, sys
random.seed(7)
t0, lines, replicas = 1795920000.0, [], 1
pods = ["pod-%d" % i for i in range(10)]
for i in range(10000):
    ts = round(t0 + i * 0.01, 6)
    # As kube-watch writes them: mostly per-pod metrics and pod stages; the HPA and the
    # Deployment now and then; a rescale event about every 15 s.
    kind = i % 20
    if i % 1500 == 750:
        o = {"ts": ts, "type": "hpa_event", "name": "h", "reason": "SuccessfulRescale", "event_type": "Normal",
             "message": "New size: %d; reason: cpu" % replicas, "new_size": replicas, "count": 1, "at": ts}
    elif kind == 0:
        cpu = random.randint(20, 160)
        replicas = min(10, max(1, replicas + (1 if cpu > 60 else -1)))
        o = {"ts": ts, "type": "hpa", "name": "h", "desired_replicas": replicas, "current_replicas": replicas,
             "min_replicas": 1, "max_replicas": 10, "current_utilization_pct": cpu, "target_utilization_pct": 60,
             "metric_cpu_source": "Resource", "metric_cpu_target_utilization_pct": 60, "metric_cpu_current_utilization_pct": cpu,
             "metric_cpu_current_value": "%dm" % (cpu * 2),
             "able_to_scale": True, "able_to_scale_reason": "ReadyForNewScale", "scaling_active": True,
             "scaling_active_reason": "ValidMetricFound", "last_scale_time": t0}
    elif kind == 1:
        o = {"ts": ts, "type": "deployment", "name": "d", "spec_replicas": replicas, "replicas": replicas,
             "updated": replicas, "ready": replicas, "available": replicas, "terminating": 0}
    elif kind < 6:
        o = {"ts": ts, "type": "pod", "pod": random.choice(pods), "event": random.choice(["created", "ready", "terminating"]), "at": ts}
    else:
        o = {"ts": ts, "type": "pod_metrics", "pod": random.choice(pods), "sample_ts": ts, "window_s": 15.0,
             "cpu_millicores": random.uniform(10, 200), "memory_bytes": 3756032}
    lines.append(json.dumps(o, separators=(",", ":")))
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
fi
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) ==" | tee "$OUT/stats-scaling-summary.txt"
hyperfine -N --warmup 2 --runs "$RUNS" --export-markdown "$OUT/stats-scaling.md" \
  "$BIN/infer-stats $OUT/records-10k.jsonl" \
  "$BIN/infer-stats --interval 10s $OUT/records-10k.jsonl" \
  "$BIN/infer-stats $OUT/records-10k.jsonl $OUT/scaling-10k.jsonl" \
  "$BIN/infer-stats --interval 10s $OUT/records-10k.jsonl $OUT/scaling-10k.jsonl" | tee -a "$OUT/stats-scaling-summary.txt"
