# Shared helpers for the bin/ scripts; sourced, not run.
# shellcheck shell=bash

# step MESSAGE: say what happens next, on stderr.
step() { printf '==> %s\n' "$*" >&2; }

# die MESSAGE: a one-line error, exit 1.
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# need COMMAND HOW: exit with a one-line hint when COMMAND is missing.
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

# Settings every Kubernetes script shares (override from the environment).
CLUSTER=${CLUSTER:-k8s-inference-sim}
NAMESPACE=${NAMESPACE:-k8s-inference-sim}
OVERLAY=${OVERLAY:-k8s/overlays/dev}
IMAGE=${IMAGE:-k8s-inference-sim:local}

need_docker() { need docker "install Docker (https://docs.docker.com/get-docker/) and start it"; docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer: start Docker"; }
need_kind() { need kind "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"; }
need_kubectl() { need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"; }

# kube_wait ARGS...: the built kube-wait, else one on PATH.
kube_wait() {
  local bin=${INFER_SIM_BIN:-.build/release}/kube-wait
  if [ -x "$bin" ]; then "$bin" "$@"; elif command -v kube-wait >/dev/null 2>&1; then kube-wait "$@"; else
    die "kube-wait not found: run swift build -c release (or bin/install)"; fi
}
