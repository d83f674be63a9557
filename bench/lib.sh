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

# api_stub OUT CONTEXT_NAMESPACE STUB_OPTION...: bench/kube_api_stub.py (--namespace,
# --deployment and how its objects change: see its --help) on a free port of 127.0.0.1
# with a self-signed certificate and a fresh token. OUT/kubeconfig reaches it, with
# CONTEXT_NAMESPACE as its context's namespace; the stub logs every request in
# OUT/requests.log and writes OUT/sent when it sent the final Deployment. STUB_PID is
# its process (stopped on exit).
STUB_PID=""
api_stub() {
  local out=$1 context_namespace=$2 token port=""
  shift 2
  need python3 "apt-get install python3"
  need openssl "apt-get install openssl"
  need curl "apt-get install curl"
  mkdir -p "$out"
  rm -f "$out/port" "$out/sent" "$out/hpa-sent" "$out/requests.log"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
  token=stub-$(openssl rand -hex 8)
  python3 bench/kube_api_stub.py --cert "$out/cert.pem" --key "$out/key.pem" --port-file "$out/port" \
    --token "$token" --log "$out/requests.log" --sent "$out/sent" --hpa-sent "$out/hpa-sent" "$@" &
  STUB_PID=$!
  KILL_PIDS+=("$STUB_PID")
  for _ in $(seq 100); do
    [ -s "$out/port" ] && port=$(<"$out/port") && curl -sk -o /dev/null "https://127.0.0.1:$port/" && break
    port=""
    sleep 0.05
  done
  [ -n "$port" ] || die "the stub API server did not start (bench/kube_api_stub.py $*)"
  : >"$out/requests.log"  # the probe's 401 is not the client's
  cat >"$out/kubeconfig" <<YAML
current-context: stub
clusters: [{name: stub, cluster: {server: "https://127.0.0.1:$port", certificate-authority: cert.pem}}]
users: [{name: stub, user: {token: $token}}]
contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: $context_namespace}}]
YAML
}

# kubectl_stand_in DIR: DIR/kubectl, which passes kustomize and config (rendering, reading
# the kubeconfig) to the real kubectl and only records anything else, one line each, in
# $KUBECTL_LOG (no cluster runs here).
kubectl_stand_in() {
  local real
  real=$(command -v kubectl) || die "kubectl not found (bin/deploy renders the overlay with it): https://kubernetes.io/docs/tasks/tools/"
  mkdir -p "$1"
  cat >"$1/kubectl" <<SH
#!/bin/sh
case "\$1" in kustomize|config) exec "$real" "\$@" ;; esac
echo "kubectl \$*" >>"\$KUBECTL_LOG"
SH
  chmod +x "$1/kubectl"
}
