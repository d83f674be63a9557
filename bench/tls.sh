#!/usr/bin/env bash
# TLS and HTTP/2, side by side in one run, on loopback, with one certificate made here:
#   1. the generator: infer-load against hey, over https to infer-serve's /healthz, at
#      2,000 and 10,000 req/s, HTTP/1.1 and h2: share of the target sent, generator CPU
#      µs per request and median latency; infer-load at its default --tick and at 2 ms;
#   2. the server: infer-serve's /healthz over TLS against nginx `return 200` with the
#      same certificate (ssl, http2), closed loop: req/s and server CPU µs per request,
#      HTTP/1.1 (wrk) and h2 (hey -h2).
#
# Usage: bench/tls.sh       (env: DUR=10 seconds per run, RATES="2000 10000", BIN=.build/release,
#                            PARTS="generator server": which of the two to run; bench/load.sh runs the first,
#                            TICKS="0.5ms 2ms": infer-load's --tick values to run)
# Needs: hey wrk nginx openssl curl python3 /usr/bin/time, a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bin/lib.sh
. bin/lib.sh
# shellcheck source=bench/lib.sh
. bench/lib.sh

DUR=${DUR:-10}
RATES=${RATES:-2000 10000}
PARTS=${PARTS:-generator server}
TICKS=${TICKS:-0.5ms 2ms}
BIN=${BIN:-$ROOT/.build/release}
OUT=${OUT:-$ROOT/bench/out/tls}
SERVE_PORT=18450 NGINX_PORT=18451
for tool in hey wrk nginx openssl curl python3; do need "$tool" "apt-get install hey wrk nginx-light openssl curl python3"; done
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
{ [ -x "$BIN/infer-load" ] && [ -x "$BIN/infer-serve" ]; } || die "no release build in $BIN: run swift build -c release"
mkdir -p "$OUT"
HZ=$(getconf CLK_TCK)
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) =="

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null
cat >"$OUT/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $OUT/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl http2;
        ssl_certificate $OUT/cert.pem;
        ssl_certificate_key $OUT/key.pem;
        location / { default_type text/plain; return 200 "ok"; }
    }
}
NGINX
nginx -p "$OUT/" -e stderr -c "$OUT/nginx.conf" >"$OUT/nginx.log" 2>&1 &
NGINX=$!; PIDS+=("$NGINX")
"$BIN/infer-serve" --host 127.0.0.1 --port $SERVE_PORT --tls-cert "$OUT/cert.pem" --tls-key "$OUT/key.pem" 2>"$OUT/serve.log" &
SERVE=$!; PIDS+=("$SERVE")
for _ in $(seq 100); do curl -sfk -o /dev/null "https://127.0.0.1:$SERVE_PORT/readyz" && break; sleep 0.1; done
curl -sfk -o /dev/null "https://127.0.0.1:$NGINX_PORT/" || die "nginx is not up over TLS ($OUT/nginx.log)"
NGINX_WORKER=$(pgrep -P "$NGINX" | head -1)
URL=https://127.0.0.1:$SERVE_PORT/healthz

# cpu_of FILE: user+sys seconds from /usr/bin/time -f '%U %S'.
cpu_of() { awk '{print $1+$2}' "$1"; }

part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if part generator; then
step "generators over TLS: infer-load and hey at ${RATES// /, } req/s for ${DUR} s"
# p50_ms: infer-load's from the scheduled send (its --tick lag included), hey's from its own send.
printf '%-9s %-6s %-24s %8s %8s %14s %8s\n' rate proto generator sent% ok% cpu_us_per_req p50_ms
# Both with the same connections: hey's workers are its connections (one each), and
# infer-load may open at most --connections. Over TLS a new connection costs a handshake
# (about 0.5 ms of CPU here), so an uncapped pool turns a stall of a few ms into a storm
# of handshakes (see README, "https, and which pods get the traffic").
for rate in $RATES; do
  workers=$((rate < 50 ? rate : 50))  # hey starts every worker at once: no more workers than req/s
  for proto in h1 h2; do
    h2flag=() heyh2=()
    [ "$proto" = h2 ] && h2flag=(--http2) heyh2=(-h2)
    # The default tick, and a 2 ms one (a wake-up sends what is due: less CPU, more lag).
    for tick in $TICKS; do
      /usr/bin/time -f '%U %S' -o "$OUT/il.time" "$BIN/infer-load" --host "https://127.0.0.1:$SERVE_PORT" --path /healthz \
        --cacert "$OUT/cert.pem" --qps "$rate" --seconds "$DUR" --connections $workers --tick "$tick" --quiet "${h2flag[@]}" \
        >"$OUT/il-$proto-$rate-$tick.jsonl" 2>"$OUT/il.err"
      read -r sent ok p50 < <(python3 - "$OUT/il-$proto-$rate-$tick.jsonl" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
lat = sorted(r["latency_ms"] for r in rs if r["error"] is None)
print(sum(1 for r in rs if r["error"] != "overload"), sum(1 for r in rs if r["status"] == 200 and r["error"] is None),
      round(lat[len(lat) // 2], 2) if lat else "n/a")
PY
)
      target=$((rate * DUR))
      printf '%-9s %-6s %-24s %8s %8s %14s %8s\n' "$rate" "$proto" "infer-load --tick $tick" "$(python3 -c "print(round($sent / $target * 100, 1))")" \
        "$(python3 -c "print(round($ok / $target * 100, 1))")" "$(python3 -c "print(round($(cpu_of "$OUT/il.time") * 1e6 / max($sent, 1), 1))")" "$p50"
    done
    # hey: -q is per worker; the workers share the rate.
    /usr/bin/time -f '%U %S' -o "$OUT/hey.time" hey -z "${DUR}s" -c $workers -q "$(awk -v r="$rate" -v c=$workers 'BEGIN{printf "%g", r/c}')" "${heyh2[@]}" "$URL" >"$OUT/hey-$proto-$rate.txt" 2>&1 || true
    n=$(awk '/\[200\]/{print $2}' "$OUT/hey-$proto-$rate.txt" | head -1)
    n=${n:-0}
    p50=$(awk '/50% in/{print $3 * 1000}' "$OUT/hey-$proto-$rate.txt")
    printf '%-9s %-6s %-24s %8s %8s %14s %8s\n' "$rate" "$proto" hey "$(python3 -c "print(round($n / $target * 100, 1))")" \
      "$(python3 -c "print(round($n / $target * 100, 1))")" "$(python3 -c "print(round($(cpu_of "$OUT/hey.time") * 1e6 / max($n, 1), 1))")" "${p50:-n/a}"
  done
done
fi

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# closed NAME PID PROTO URL: req/s and server CPU µs per request, closed loop, 32 connections (h1) or streams (h2).
closed() {
  local name=$1 pid=$2 proto=$3 url=$4 t0 t1 n rps
  t0=$(ticks "$pid")
  if [ "$proto" = h1 ]; then
    wrk -t1 -c32 -d"${DUR}s" "$url" >"$OUT/$name.txt" 2>&1
    n=$(awk '/requests in/{print $1}' "$OUT/$name.txt"); rps=$(awk '/Requests\/sec/{print $2}' "$OUT/$name.txt")
  else
    hey -z "${DUR}s" -c 32 -h2 "$url" >"$OUT/$name.txt" 2>&1
    n=$(awk '/\[200\]/{print $2}' "$OUT/$name.txt" | head -1); rps=$(awk '/Requests\/sec/{print $2}' "$OUT/$name.txt")
  fi
  t1=$(ticks "$pid")
  printf '%-24s %-4s rps=%-10s server_cpu_us_per_req=%s\n' "$name" "$proto" "$rps" "$(python3 -c "print(round(($t1 - $t0) / $HZ * 1e6 / max(${n:-0}, 1), 1))")"
}
if part server; then
step "servers over TLS, closed loop for ${DUR} s: /healthz against nginx return 200 (same certificate)"
closed infer-serve-h1 "$SERVE" h1 "$URL"
closed nginx-h1 "$NGINX_WORKER" h1 "https://127.0.0.1:$NGINX_PORT/"
closed infer-serve-h2 "$SERVE" h2 "$URL"
closed nginx-h2 "$NGINX_WORKER" h2 "https://127.0.0.1:$NGINX_PORT/"
fi
