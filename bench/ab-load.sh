#!/usr/bin/env bash
# A/B of two infer-load builds on one machine, runs alternating A, B, A, B …: generator
# CPU per request and p99 schedule lag against nginx `return 200`, so a change's effect
# can be told from the run-to-run noise (each build's spread is printed beside its mean).
#
# Usage: bench/ab-load.sh DIR_A DIR_B   (folders holding infer-load, or an infer-sim
#        linked as infer-load; env: RATES="2000 10000", RUNS=3, DUR=10, PEERS=../shared/peers)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

[ $# -eq 2 ] || die "usage: bench/ab-load.sh DIR_A DIR_B"
A=$1 B=$2
RATES=${RATES:-2000 10000}
RUNS=${RUNS:-3}
DUR=${DUR:-10}
PEERS=${PEERS:-$ROOT/../shared/peers}
OUT=${OUT:-$ROOT/bench/out/ab}
NGINX_URL=http://127.0.0.1:18081
for tool in nginx curl; do need "$tool" "apt-get install nginx-light curl"; done
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
for dir in "$A" "$B"; do [ -x "$dir/infer-load" ] || die "no $dir/infer-load"; done
mkdir -p "$OUT/nginx"
sed "s#pid out/nginx.pid#pid $OUT/nginx/nginx.pid#" "$PEERS/nginx/nginx.conf" >"$OUT/nginx/nginx.conf"
nginx -p "$OUT/nginx/" -e stderr -c "$OUT/nginx/nginx.conf" >"$OUT/nginx.log" 2>&1 &
PIDS+=("$!")
wait_up "$NGINX_URL/"

# one DIR QPS: prints "cpu_us_per_request lag_p99_ms" of one run.
one() {
  local f="$OUT/run"
  /usr/bin/time -v "$1/infer-load" --host "$NGINX_URL" --path / --qps "$2" --seconds "$DUR" >/dev/null 2>"$f.stderr" || true
  awk -F': ' -v n="$(grep -o 'sent=[0-9]*' "$f.stderr" | cut -d= -f2)" -v lag="$(grep -o 'lag_p99_ms=[0-9.]*' "$f.stderr" | cut -d= -f2)" \
    '/User time|System time/{s+=$2} END{printf "%.1f %s\n", s*1e6/n, lag}' "$f.stderr"
}

echo "== $(date -u +%FT%TZ), $(nproc) cores; A=$A B=$B; $RUNS runs of $DUR s each, alternating ==" | tee "$OUT/ab-summary.txt"
for q in $RATES; do
  : >"$OUT/a.txt"; : >"$OUT/b.txt"
  for _ in $(seq "$RUNS"); do
    one "$A" "$q" >>"$OUT/a.txt"
    one "$B" "$q" >>"$OUT/b.txt"
  done
  for side in a b; do
    awk -v q="$q" -v side="$side" '{c[NR]=$1; l[NR]=$2; s+=$1; sl+=$2}
      END{min=c[1]; max=c[1]; for(i=1;i<=NR;i++){if(c[i]<min)min=c[i]; if(c[i]>max)max=c[i]}
          printf "%-6s qps=%-6s cpu_us_per_req mean=%.1f (min %.1f, max %.1f)  lag_p99_ms mean=%.3f\n", toupper(side), q, s/NR, min, max, sl/NR}' \
      "$OUT/$side.txt" | tee -a "$OUT/ab-summary.txt"
  done
done
