#!/usr/bin/env bash
# Benchmark infer-serve's OpenAI face against a FastAPI + uvicorn peer that streams the
# same token pacing with the same CPU per token (bench/peers/openai_fastapi.py), side by
# side in one run, driven by infer-load --api openai --stream. Prints, for each:
#   1. tokens/s at saturation (work-ms 2, no prefill), against the ideal cores × 1000 / 2;
#   2. TTFT p99 at 50 % load (prompts of 200 tokens at 0.5 ms each, 32 tokens out),
#      against one prefill (TTFT of a lone request);
#   3. server CPU per streamed token with no work per token (--work-ms 0): the cost of
#      the SSE framing, the HTTP write and the scheduling.
#
# Usage: bench/openai.sh           (env: DUR=15, BIN=.build/release, PEERS=../shared/peers)
# Needs: a release build, python3 (creates .venv-peers with fastapi and uvicorn).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${DUR:-15}
BIN=${BIN:-$ROOT/.build/release}
PEERS=${PEERS:-$ROOT/../shared/peers}
OUT=${OUT:-$ROOT/bench/out/openai}
SERVE_PORT=18095 PEER_PORT=18096
CORES=$(nproc)
HZ=$(getconf CLK_TCK)
need python3 "apt-get install python3 python3-venv"
{ [ -x "$BIN/infer-serve" ] && [ -x "$BIN/infer-load" ]; } || die "no release build in $BIN: run swift build -c release"
peer_venv "$PEERS"
mkdir -p "$OUT"
echo "== $(date -u +%FT%TZ), $CORES cores, load $(cut -d' ' -f1-3 /proc/loadavg) =="

# ticks PID...: utime+stime of the processes and their children, in clock ticks.
ticks() {
  local total=0 p
  for p in "$@" $(pgrep -P "$(echo "$@" | tr ' ' ,)" 2>/dev/null || true); do
    total=$((total + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# start WHICH WORK_MS PREFILL_MS: infer-serve or the peer (one uvicorn worker per core); SERVER_PID.
start() {
  if [ "$1" = serve ]; then
    "$BIN/infer-serve" --host 127.0.0.1 --port $SERVE_PORT --work-ms "$2" --prefill-ms "$3" --max-tokens 512 \
      --max-batch 64 --max-queue 1024 2>"$OUT/serve.log" &
    SERVER_PID=$!
    wait_up "http://127.0.0.1:$SERVE_PORT/readyz"
  else
    (cd bench/peers && WORK_MS=$2 PREFILL_MS=$3 exec "$ROOT/.venv-peers/bin/uvicorn" openai_fastapi:app --host 127.0.0.1 \
       --port $PEER_PORT --workers "$CORES" --no-access-log) >"$OUT/peer.log" 2>&1 &
    SERVER_PID=$!
    wait_up "http://127.0.0.1:$PEER_PORT/healthz"
  fi
  PIDS+=("$SERVER_PID")
}
stop() { kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null || true; }
port() { [ "$1" = serve ] && echo $SERVE_PORT || echo $PEER_PORT; }

# load WHICH FILE ARGS...: infer-load --api openai --stream at it, records in FILE.
load() {
  local which=$1 file=$2
  shift 2
  "$BIN/infer-load" --host "http://127.0.0.1:$(port "$which")" --api openai --stream --quiet --timeout 60 "$@" >"$file"
}

# figures FILE: ok, tokens out, tokens/s over first send to last end, TTFT p50 and p99.
figures() {
  python3 - "$1" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
ok = [r for r in rs if r["status"] == 200 and r["error"] is None and r.get("tokens_out")]
tokens = sum(r["tokens_out"] for r in ok)
span = max(r["ts"] + r["latency_ms"] / 1000 for r in ok) - min(r["ts"] for r in rs) if ok else 0
ttft = sorted(r["ttft_ms"] for r in ok if r.get("ttft_ms") is not None)
q = lambda p: ttft[min(len(ttft) - 1, int(p / 100 * len(ttft)))] if ttft else 0
print(len(rs), len(ok), tokens, round(tokens / span, 1) if span else 0, round(q(50), 2), round(q(99), 2))
PY
}

declare -A TOKS TTFT1 TTFT99 OVERHEAD
for which in serve peer; do
  step "$which: saturation, work-ms 2, no prefill, 16 streams in flight"
  start "$which" 2 0
  load "$which" "$OUT/$which-warm.jsonl" --qps 20 --seconds 2 --max-tokens 8 --prompt-tokens 8
  load "$which" "$OUT/$which-sat.jsonl" --qps 100 --seconds "$DUR" --max-tokens 64 --prompt-tokens 8 --connections 16 --max-inflight 16
  read -r n ok tokens rate _ _ < <(figures "$OUT/$which-sat.jsonl")
  ideal=$((CORES * 1000 / 2))
  TOKS[$which]=$rate
  echo "$which saturation: $ok of $n completions sent, $tokens tokens, $rate tokens/s = $(python3 -c "print(round($rate / $ideal * 100, 1))") % of the ideal $ideal"
  stop

  step "$which: TTFT, prompts of 200 tokens at 0.5 ms, 32 tokens out at 2 ms"
  start "$which" 2 0.5
  load "$which" "$OUT/$which-lone.jsonl" --qps 2 --requests 10 --max-tokens 32 --prompt-tokens 200
  read -r _ _ _ _ lone _ < <(figures "$OUT/$which-lone.jsonl")
  capacity=$(python3 -c "print($CORES * 1000 / (200 * 0.5 + 32 * 2))")
  half=$(python3 -c "print(round($capacity / 2, 2))")
  load "$which" "$OUT/$which-half.jsonl" --qps "$half" --seconds "$DUR" --arrival poisson --seed 7 --max-tokens 32 --prompt-tokens 200
  read -r n ok _ _ p50 p99 < <(figures "$OUT/$which-half.jsonl")
  TTFT1[$which]=$lone TTFT99[$which]=$p99
  echo "$which TTFT: one prefill (lone request) $lone ms; at 50 % load ($half req/s of $(python3 -c "print(round($capacity, 1))")): p50 $p50 ms, p99 $p99 ms = $(python3 -c "print(round($p99 / $lone, 2))") × one prefill ($ok of $n ok)"
  stop

  step "$which: SSE overhead, work-ms 0, no prefill, 128 tokens a completion"
  start "$which" 0 0
  load "$which" "$OUT/$which-warm0.jsonl" --qps 20 --seconds 1 --max-tokens 8 --prompt-tokens 4
  t0=$(ticks "$SERVER_PID")
  load "$which" "$OUT/$which-zero.jsonl" --qps 40 --seconds "$DUR" --max-tokens 128 --prompt-tokens 4 --connections 64 --max-inflight 64
  t1=$(ticks "$SERVER_PID")
  read -r n ok tokens rate _ _ < <(figures "$OUT/$which-zero.jsonl")
  us=$(python3 -c "print(round(($t1 - $t0) / $HZ * 1e6 / max($tokens, 1), 1))")
  OVERHEAD[$which]=$us
  echo "$which overhead: $tokens tokens in $ok completions, server CPU $(python3 -c "print(round(($t1 - $t0) / $HZ, 2))") s = $us µs per token"
  stop
done

step "side by side"
printf '%-34s %12s %12s %8s\n' figure infer-serve peer ratio
printf '%-34s %12s %12s %8s\n' "tokens/s at saturation (ideal $((CORES * 1000 / 2)))" "${TOKS[serve]}" "${TOKS[peer]}" "$(python3 -c "print(round(${TOKS[serve]} / max(${TOKS[peer]}, 0.001), 2))")"
printf '%-34s %12s %12s %8s\n' "TTFT p99 at 50 % / one prefill" "$(python3 -c "print(round(${TTFT99[serve]} / ${TTFT1[serve]}, 2))")" "$(python3 -c "print(round(${TTFT99[peer]} / ${TTFT1[peer]}, 2))")" ""
printf '%-34s %12s %12s %8s\n' "server CPU µs per token (work 0)" "${OVERHEAD[serve]}" "${OVERHEAD[peer]}" "$(python3 -c "print(round(${OVERHEAD[peer]} / max(${OVERHEAD[serve]}, 0.001), 1))")"
