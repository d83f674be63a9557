# Shared helpers for the bench/ scripts; sourced after bin/lib.sh, not run.
# shellcheck shell=bash

# peer_venv PEERS: the seed app's Python environment (.venv-peers), made once.
peer_venv() {
  if [ ! -x .venv-peers/bin/uvicorn ] || ! .venv-peers/bin/python -c 'import aiohttp' 2>/dev/null; then
    step "creating .venv-peers for the seed app and load.py"
    python3 -m venv .venv-peers && .venv-peers/bin/pip install -q -r "$1/seed/requirements.txt"
  fi
}

# Servers started with `PIDS+=("$!")` are stopped on exit; `KILL_PIDS` get SIGKILL (a
# parent, such as a test runner's thread, may have SIGTERM blocked, and a child inherits
# the mask).
PIDS=()
KILL_PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${KILL_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# wait_up URL: until it answers, or a one-line error.
wait_up() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; die "not up: $1"; }

# api_stub OUT PORT HOLD: bench/kube_api_stub.py on 127.0.0.1:PORT with a self-signed
# certificate, OUT/kubeconfig to reach it (context and namespace "bench"), and
# OUT/sent where the stub writes when it sent the rolled-out Deployment.
api_stub() {
  local out=$1 port=$2 hold=$3
  need python3 "apt-get install python3"
  need openssl "apt-get install openssl"
  need curl "apt-get install curl"
  mkdir -p "$out"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
  cat >"$out/kubeconfig" <<YAML
current-context: bench
clusters: [{name: b, cluster: {server: "https://127.0.0.1:$port", certificate-authority: cert.pem}}]
users: [{name: u, user: {token: bench}}]
contexts: [{name: bench, context: {cluster: b, user: u, namespace: bench}}]
YAML
  python3 bench/kube_api_stub.py "$port" "$out/cert.pem" "$out/key.pem" "$hold" "$out/sent" &
  KILL_PIDS+=("$!")
  for _ in $(seq 100); do curl -sk -o /dev/null "https://127.0.0.1:$port/" && return 0; sleep 0.05; done
  die "the stub API server did not start on port $port"
}
