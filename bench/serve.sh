#!/usr/bin/env bash
# Benchmark infer-serve against the seed FastAPI app (uvicorn, one worker) and nginx
# `return 200` (the loopback ceiling), side by side in one run, with wrk and hey on
# loopback. Prints one line per figure and the ratios the infer-serve issue asks for.
#
# Usage: bench/serve.sh            (env: DUR=10s, PEERS=../shared/peers, BIN=.build/release)
# Needs: wrk hey nginx curl jq python3 (apt-get install wrk hey nginx-light curl jq),
#        a release build (swift build -c release). Creates .venv-peers for the seed app.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${DUR:-10s}
PEERS=${PEERS:-$ROOT/../shared/peers}
BIN=${BIN:-$ROOT/.build/release}
OUT=${OUT:-$ROOT/bench/out}
SERVE_PORT=18090 SEED_PORT=18091 NGINX_PORT=18081

for tool in wrk hey nginx curl jq python3; do need "$tool" "apt-get install wrk hey nginx-light curl jq python3"; done
{ [ -x "$BIN/infer-serve" ] && [ -x "$BIN/infer-load" ] && [ -x "$BIN/infer-stats" ]; } || die "no release build in $BIN: run swift build -c release"
[ -d "$PEERS/seed" ] || die "no seed app under $PEERS (set PEERS)"
peer_venv "$PEERS"
mkdir -p "$OUT"

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }       # utime+stime, in clock ticks
rss_kb() { awk -v k="$2" '$1==k":"{print $2}' "/proc/$1/status"; }
HZ=$(getconf CLK_TCK)
declare -A RPS CPU

# wrkrun NAME PID URL [wrk args]: req/s, p99, server CPU µs per request.
wrkrun() {
  local name=$1 pid=$2 url=$3; shift 3
  local t0 t1 n rps p99 cpu
  t0=$(ticks "$pid"); wrk -t1 -c32 -d"$DUR" --latency "$@" "$url" >"$OUT/$name.txt" 2>&1; t1=$(ticks "$pid")
  n=$(awk '/requests in/{print $1}' "$OUT/$name.txt")
  rps=$(awk '/Requests\/sec/{print $2}' "$OUT/$name.txt")
  p99=$(awk '$1=="99%"{print $2}' "$OUT/$name.txt")
  cpu=$(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$HZ" 'BEGIN{printf "%.1f", d*1e6/hz/n}')
  printf '%-28s rps=%-10s p99=%-9s server_cpu_us_per_req=%s\n' "$name" "$rps" "$p99" "$cpu"
  RPS[$name]=$rps; CPU[$name]=$cpu
}

step "starting infer-serve, the seed app and nginx"
"$BIN/infer-serve" --host 127.0.0.1 --port $SERVE_PORT --work-ms 5 --max-queue 64 2>"$OUT/infer-serve.log" &
SERVE=$!; PIDS+=("$SERVE")
(cd "$PEERS/seed" && WORK_MS=5 exec "$ROOT/.venv-peers/bin/uvicorn" app.main:app --host 127.0.0.1 \
   --port $SEED_PORT --no-access-log) >"$OUT/uvicorn.log" 2>&1 &
SEED=$!; PIDS+=("$SEED")
mkdir -p "$OUT/nginx"
sed "s#pid out/nginx.pid#pid $OUT/nginx/nginx.pid#" "$PEERS/nginx/nginx.conf" >"$OUT/nginx/nginx.conf"
nginx -p "$OUT/nginx/" -e stderr -c "$OUT/nginx/nginx.conf" >"$OUT/nginx.log" 2>&1 &
NGINX=$!; PIDS+=("$NGINX")
wait_up "http://127.0.0.1:$SERVE_PORT/readyz"; wait_up "http://127.0.0.1:$SEED_PORT/healthz"; wait_up "http://127.0.0.1:$NGINX_PORT/"
NGINX_WORKER=$(pgrep -P "$NGINX" | head -1)
curl -sf -o /dev/null "http://127.0.0.1:$SERVE_PORT/infer"; curl -sf -o /dev/null "http://127.0.0.1:$SEED_PORT/infer"
serve_idle=$(rss_kb "$SERVE" VmRSS); seed_idle=$(rss_kb "$SEED" VmRSS)
# Private memory apart from shared libraries (libswiftCore, Foundation, ICU are file-backed
# and shared; a --static-swift-stdlib container binary carries them instead).
serve_anon=$(rss_kb "$SERVE" RssAnon); seed_anon=$(rss_kb "$SEED" RssAnon)
echo "idle RSS: infer-serve $((serve_idle / 1024)) MiB, seed $((seed_idle / 1024)) MiB"

step "cheap requests: /healthz (wrk -t1 -c32 -d$DUR)"
wrkrun serve-healthz "$SERVE" "http://127.0.0.1:$SERVE_PORT/healthz"
wrkrun seed-healthz "$SEED" "http://127.0.0.1:$SEED_PORT/healthz"
wrkrun nginx "$NGINX_WORKER" "http://127.0.0.1:$NGINX_PORT/"

step "/infer at --work-ms 5: closed-loop throughput (wrk -c32)"
wrkrun serve-infer "$SERVE" "http://127.0.0.1:$SERVE_PORT/infer"
wrkrun seed-infer "$SEED" "http://127.0.0.1:$SEED_PORT/infer"
cores=$(nproc)
ideal=$((cores * 1000 / 5))

step "/infer at 70% of the ideal rate (hey, rate-limited workers)"
rate=$((ideal * 7 / 10)); workers=$((rate / 10))
hey -z "$DUR" -c "$workers" -q 10 "http://127.0.0.1:$SERVE_PORT/infer" >"$OUT/serve-infer-70.txt"
p99_70=$(awk '/99% in/{print $3*1000}' "$OUT/serve-infer-70.txt")
ok_70=$(awk '/\[200\]/{print $2}' "$OUT/serve-infer-70.txt")
echo "serve-infer-70pct (hey) rate=$rate/s p99_ms=$p99_70 ok=$ok_70"
# The same rate open-loop, latency from the scheduled send (no coordinated omission).
"$BIN/infer-load" --host "http://127.0.0.1:$SERVE_PORT" --qps "$rate" --seconds "${DUR%s}" --quiet \
  | "$BIN/infer-stats" --format json >"$OUT/serve-infer-70-open.json"
p99_open=$(jq '.latency_ms.p99' "$OUT/serve-infer-70-open.json")
echo "serve-infer-70pct (infer-load, open loop) p99_ms=$p99_open ok=$(jq .successes "$OUT/serve-infer-70-open.json")"

step "compute_ms at low load (50 sequential requests)"
for _ in $(seq 50); do curl -s "http://127.0.0.1:$SERVE_PORT/infer"; echo; done >"$OUT/serve-lowload.jsonl"
compute_mean=$(jq -s 'map(.compute_ms) | add / length' "$OUT/serve-lowload.jsonl")
echo "compute_ms mean=$compute_mean (target 5)"
serve_peak=$(rss_kb "$SERVE" VmHWM); seed_peak=$(rss_kb "$SEED" VmHWM)

echo
echo "== figures (one run, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)) =="
awk -v s="${RPS[serve-healthz]}" -v u="${RPS[seed-healthz]}" -v n="${RPS[nginx]}" 'BEGIN{
  printf "healthz req/s: infer-serve %.0f, seed %.0f, nginx %.0f -> x%.1f seed (want >=10), x%.2f nginx (want >=0.5)\n", s, u, n, s/u, s/n }'
echo "server CPU per /healthz: infer-serve ${CPU[serve-healthz]} us, seed ${CPU[seed-healthz]} us, nginx ${CPU[nginx]} us (want <=30)"
awk -v s="${RPS[serve-infer]}" -v u="${RPS[seed-infer]}" -v i="$ideal" 'BEGIN{
  printf "/infer throughput: %.0f req/s = %.0f%% of ideal %d (want >=90%%); seed %.0f req/s -> x%.1f\n", s, 100*s/i, i, u, s/u }'
awk -v p="$p99_70" -v o="$p99_open" 'BEGIN{ printf "/infer p99 at 70%%: %.1f ms (hey) / %.1f ms (infer-load, open loop) = %.2fx / %.2fx work time (want <=3x)\n", p, o, p/5, o/5 }'
awk -v c="$compute_mean" 'BEGIN{ printf "compute_ms at low load: %.2f ms vs 5 ms = %+.1f%% (want within 10%%)\n", c, 100*(c-5)/5 }'
echo "RSS: infer-serve idle $((serve_idle / 1024)) MiB, peak $((serve_peak / 1024)) MiB (want <=20 / <=60); seed idle $((seed_idle / 1024)) MiB, peak $((seed_peak / 1024)) MiB"
echo "RSS without shared libraries (RssAnon) idle: infer-serve $((serve_anon / 1024)) MiB, seed $((seed_anon / 1024)) MiB"
