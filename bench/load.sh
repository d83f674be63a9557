#!/usr/bin/env bash
# Benchmark infer-load against hey and the old load.py, side by side in one run, on
# loopback: against nginx `return 200` (../shared/peers/nginx) and against infer-serve.
# Per run: achieved/target rate, generator CPU µs per request, p99 schedule lag
# (sent − scheduled; only infer-load reports it), max RSS. Then the TLS and h2 rows of
# bench/tls.sh (infer-load against hey over https, HTTP/1.1 and h2, at 2,000 and 10,000/s).
#
# Usage: bench/load.sh        (env: DUR=10 seconds per run, LONG=60 for the RSS run,
#                              RATES="30 2000 10000", TLS_RATES="2000 10000", PEERS=../shared/peers,
#                              BIN=.build/release)
# Needs: hey nginx curl python3 /usr/bin/time, a release build (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${DUR:-10}
LONG=${LONG:-60}
RATES=${RATES:-30 2000 10000}
PEERS=${PEERS:-$ROOT/../shared/peers}
BIN=${BIN:-$ROOT/.build/release}
OUT=${OUT:-$ROOT/bench/out}
NGINX_URL=http://127.0.0.1:18081 SERVE_PORT=18092

for tool in hey nginx curl python3; do need "$tool" "apt-get install hey nginx-light curl python3"; done
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
{ [ -x "$BIN/infer-load" ] && [ -x "$BIN/infer-serve" ]; } || die "no release build in $BIN: run swift build -c release"
peer_venv "$PEERS"
mkdir -p "$OUT/nginx"

sed "s#pid out/nginx.pid#pid $OUT/nginx/nginx.pid#" "$PEERS/nginx/nginx.conf" >"$OUT/nginx/nginx.conf"
nginx -p "$OUT/nginx/" -e stderr -c "$OUT/nginx/nginx.conf" >"$OUT/nginx.log" 2>&1 &
PIDS+=("$!")
"$BIN/infer-serve" --host 127.0.0.1 --port $SERVE_PORT --work-ms 5 2>"$OUT/infer-serve.log" &
PIDS+=("$!")
wait_up "$NGINX_URL/"; wait_up "http://127.0.0.1:$SERVE_PORT/readyz"

# timed OUTFILE CMD...: run under /usr/bin/time -v; sets CPU_S (user+sys) and RSS_MB.
timed() {
  local out=$1; shift
  /usr/bin/time -v "$@" >"$out.stdout" 2>"$out.stderr" || true
  CPU_S=$(awk -F': ' '/User time|System time/{s+=$2} END{print s}' "$out.stderr")
  RSS_MB=$(awk -F': ' '/Maximum resident/{printf "%.1f", $2/1024}' "$out.stderr")
}

# report GEN TARGET QPS SENT LAG
report() {
  awk -v g="$1" -v t="$2" -v q="$3" -v n="$4" -v lag="$5" -v cpu="$CPU_S" -v rss="$RSS_MB" -v d="$DUR" 'BEGIN{
    a = n / d; printf "%-10s %-16s target=%-6s achieved=%-8.1f (%5.1f%%) gen_cpu_us_per_req=%-6.1f lag_p99_ms=%-6s max_rss_mb=%s\n",
      g, t, q, a, 100*a/q, (n>0 ? cpu*1e6/n : 0), lag, rss }' | tee -a "$OUT/load-summary.txt"
}

run_infer_load() { # NAME URL PATH QPS SECONDS
  local f="$OUT/load-$1-$4"
  timed "$f" "$BIN/infer-load" --host "$2" --path "$3" --qps "$4" --seconds "$5"
  local sent lag
  sent=$(grep -o 'sent=[0-9]*' "$f.stderr" | cut -d= -f2)
  lag=$(grep -o 'lag_p99_ms=[0-9.]*' "$f.stderr" | cut -d= -f2)
  SENT=$sent; OK=$(grep -o '^OK=[0-9]*' "$f.stderr" | cut -d= -f2)
  report infer-load "$1" "$4" "$sent" "$lag"
}

run_hey() { # NAME URL QPS
  local c f n
  # hey's -q is per worker: one worker per 100 qps (at most 100), as the peers measured it.
  c=$(( $3 / 100 )); [ "$c" -lt 1 ] && c=1; [ "$c" -gt 100 ] && c=100
  f="$OUT/hey-$1-$3"
  timed "$f" hey -z "${DUR}s" -c "$c" -q "$(awk -v q="$3" -v c="$c" 'BEGIN{printf "%g", q/c}')" "$2"
  n=$(awk '/Status code distribution/{on=1; next} /^$/{on=0} on&&/\[[0-9]+\]/{s+=$2} END{print s+0}' "$f.stdout")
  report "hey(-c$c)" "$1" "$3" "$n" "n/a"
}

run_loadpy() { # NAME URL PATH QPS
  local f="$OUT/loadpy-$1-$4" n
  timed "$f" .venv-peers/bin/python "$PEERS/seed/scripts/load.py" --host "$2" --path "$3" --qps "$4" --seconds "$DUR"
  n=$(grep -o 'sent=[0-9]*' "$f.stdout" | cut -d= -f2)
  report load.py "$1" "$4" "${n:-0}" "n/a"
}

: >"$OUT/load-summary.txt"
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $DUR s per run ==" | tee -a "$OUT/load-summary.txt"
for q in $RATES; do
  step "nginx at $q qps"
  run_infer_load nginx "$NGINX_URL" / "$q" "$DUR"
  run_hey nginx "$NGINX_URL/" "$q"
  run_loadpy nginx "$NGINX_URL" / "$q"
done

step "highest rate infer-load holds against nginx (>= 99% sent, < 1% errors)"
best=0
for q in 12000 15000 20000 25000 30000; do
  run_infer_load nginx-max "$NGINX_URL" / "$q" "$DUR"
  if [ "$((SENT * 100))" -ge "$((q * DUR * 99))" ] && [ "$((OK * 100))" -ge "$((q * DUR * 99))" ]; then best=$q; else break; fi
done
echo "highest held: ${best} qps" | tee -a "$OUT/load-summary.txt"

for q in 30 200; do
  step "infer-serve /infer (--work-ms 5) at $q qps"
  run_infer_load serve-infer "http://127.0.0.1:$SERVE_PORT" /infer "$q" "$DUR"
  run_hey serve-infer "http://127.0.0.1:$SERVE_PORT/infer" "$q"
  run_loadpy serve-infer "http://127.0.0.1:$SERVE_PORT" /infer "$q"
done
step "infer-serve /healthz at 2000 qps"
run_infer_load serve-healthz "http://127.0.0.1:$SERVE_PORT" /healthz 2000 "$DUR"
run_hey serve-healthz "http://127.0.0.1:$SERVE_PORT/healthz" 2000
run_loadpy serve-healthz "http://127.0.0.1:$SERVE_PORT" /healthz 2000

step "a reader that stalls: 2000 qps for $DUR s into a pipe whose reader sleeps 5 s, beside a reader that keeps up"
stall_run() { # NAME SLEEP
  local f="$OUT/load-stall-$1"
  { "$BIN/infer-load" --host "$NGINX_URL" --path / --qps 2000 --seconds "$DUR" 2>"$f.stderr" | (sleep "$2"; cat) >"$f.stdout"; } || true
  printf 'infer-load reader-%-8s records=%-6s scheduled=%-6s lag_p99_ms=%s\n' "$1" "$(grep -c . "$f.stdout")" \
    "$(grep -o 'scheduled=[0-9]*' "$f.stderr" | cut -d= -f2)" "$(grep -o 'lag_p99_ms=[0-9.]*' "$f.stderr" | cut -d= -f2)" | tee -a "$OUT/load-summary.txt"
}
stall_run keeps-up 0
stall_run sleeps-5s 5

step "over TLS and HTTP/2 (bench/tls.sh's generator rows): infer-load against hey, https to infer-serve /healthz"
PARTS=generator RATES="${TLS_RATES:-2000 10000}" DUR=$DUR BIN=$BIN OUT=$OUT/tls bench/tls.sh

step "memory over a long run: infer-load at 10000 qps for $LONG s vs $DUR s"
DUR_SAVED=$DUR; DUR=$LONG
run_infer_load nginx-long "$NGINX_URL" / 10000 "$LONG"
DUR=$DUR_SAVED
echo "summary lines: $OUT/load-summary.txt"
