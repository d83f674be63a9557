#!/usr/bin/env bash
# Benchmark infer-stats against the peers' aggregators (Python agg.py, jq), side by
# side in one run, on the same 1,000,000 synthetic records (the peers' gen_jsonl.py,
# seed 42, converted to the record format of infer-records(5)); then memory for 10,000,000
# lines, and what --interval adds.
#
# Usage: bench/stats.sh     (env: PEERS=../shared/peers, BIN=.build/release, RUNS=3;
#        BASELINE=DIR adds DIR/infer-stats, e.g. a release build of main before a change, to
#        the same runs: a before-and-after in one run)
# Needs: python3 jq hyperfine /usr/bin/time, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh

PEERS=${PEERS:-$ROOT/../shared/peers}
BIN=${BIN:-$ROOT/.build/release}
OUT=${OUT:-$ROOT/bench/out}
RUNS=${RUNS:-3}
for tool in python3 jq hyperfine; do need "$tool" "apt-get install python3 jq hyperfine"; done
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
[ -x "$BIN/infer-stats" ] || die "no $BIN/infer-stats: run swift build -c release"
mkdir -p "$OUT"

if [ ! -s "$OUT/lines.jsonl" ]; then
  step "generating 1M lines (peers' gen_jsonl.py, seed 42)"
  python3 "$PEERS/bench/gen_jsonl.py" 1000000 >"$OUT/lines.jsonl"
fi
if [ ! -s "$OUT/records.jsonl" ]; then
  step "converting them to the record format (ts = start + t; service_ms = 0.9 latency)"
  python3 - "$OUT/lines.jsonl" "$OUT/records.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        o = json.loads(line)
        out.write(json.dumps({"ts": round(1795920000 + o["t"], 6), "seq": o["seq"], "latency_ms": o["latency_ms"],
                              "service_ms": round(o["latency_ms"] * 0.9, 3), "status": o["status"], "bytes": o["bytes"],
                              "error": o["error"], "pod": o["pod"]}, separators=(",", ":")) + "\n")
PY
fi
if [ ! -s "$OUT/records-10k.jsonl" ]; then
  step "the same records as a 10,000 qps run (ts = start + seq / 10000)"
  python3 - "$OUT/records.jsonl" "$OUT/records-10k.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        o = json.loads(line)
        o["ts"] = round(1795920000 + o["seq"] / 10000, 6)
        out.write(json.dumps(o, separators=(",", ":")) + "\n")
PY
fi
if [ ! -s "$OUT/records-10m.jsonl" ]; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do cat "$OUT/records.jsonl"; done >"$OUT/records-10m.jsonl"
fi

echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) ==" | tee "$OUT/stats-summary.txt"
step "1M lines: infer-stats vs agg.py vs jq (hyperfine, $RUNS runs)"
baseline=()
if [ -n "${BASELINE:-}" ]; then
  [ -x "$BASELINE/infer-stats" ] || die "no $BASELINE/infer-stats (BASELINE)"
  baseline=("$BASELINE/infer-stats $OUT/records.jsonl")
fi
hyperfine -N --runs "$RUNS" --export-markdown "$OUT/stats-hyperfine.md" \
  "$BIN/infer-stats $OUT/records.jsonl" "${baseline[@]}" \
  "python3 $PEERS/bench/agg.py $OUT/lines.jsonl" \
  "jq -c -n -f $PEERS/bench/stream.jq $OUT/lines.jsonl" | tee -a "$OUT/stats-summary.txt"

rss() { # NAME CMD...: max RSS and CPU of one run
  local name=$1; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$OUT/time-$name.txt"
  awk -F': ' -v n="$name" '/Maximum resident/{r=$2} /User time|System time/{c+=$2} /Elapsed/{w=$2}
    END{printf "%-28s max_rss_mb=%.1f cpu_s=%.2f wall=%s\n", n, r/1024, c, w}' "$OUT/time-$name.txt" | tee -a "$OUT/stats-summary.txt"
}
step "memory and CPU: 1M and 10M lines"
rss infer-stats-1M "$BIN/infer-stats" "$OUT/records.jsonl"
rss infer-stats-10M "$BIN/infer-stats" "$OUT/records-10m.jsonl"
if [ -n "${BASELINE:-}" ]; then
  rss baseline-infer-stats-1M "$BASELINE/infer-stats" "$OUT/records.jsonl"
  rss baseline-infer-stats-10M "$BASELINE/infer-stats" "$OUT/records-10m.jsonl"
fi
rss agg.py-1M python3 "$PEERS/bench/agg.py" "$OUT/lines.jsonl"
rss jq-stream-1M jq -c -n -f "$PEERS/bench/stream.jq" "$OUT/lines.jsonl"

step "what --interval adds (hyperfine, $RUNS runs)"
hyperfine -N --runs "$RUNS" --export-markdown "$OUT/stats-interval.md" \
  "$BIN/infer-stats $OUT/records-10k.jsonl" \
  "$BIN/infer-stats --interval 10s $OUT/records-10k.jsonl" \
  "$BIN/infer-stats $OUT/records.jsonl" \
  "$BIN/infer-stats --interval 60s $OUT/records.jsonl" \
  "$BIN/infer-stats --interval 10s $OUT/records.jsonl" | tee -a "$OUT/stats-summary.txt"
echo "summary: $OUT/stats-summary.txt"
