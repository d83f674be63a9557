# Shared helpers for the bench/ scripts; sourced after bin/lib.sh, not run.
# shellcheck shell=bash

# peer_venv PEERS: the seed app's Python environment (.venv-peers), made once.
peer_venv() {
  if [ ! -x .venv-peers/bin/uvicorn ] || ! .venv-peers/bin/python -c 'import aiohttp' 2>/dev/null; then
    step "creating .venv-peers for the seed app and load.py"
    python3 -m venv .venv-peers && .venv-peers/bin/pip install -q -r "$1/seed/requirements.txt"
  fi
}

# Servers started with `PIDS+=("$!")` are stopped on exit.
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# wait_up URL: until it answers, or a one-line error.
wait_up() { for _ in $(seq 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done; die "not up: $1"; }
