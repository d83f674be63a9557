# Shared helpers for the bin/ scripts; sourced, not run.
# shellcheck shell=bash

# step MESSAGE: say what happens next, on stderr.
step() { printf '==> %s\n' "$*" >&2; }

# die MESSAGE: a one-line error, exit 1.
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# need COMMAND HOW: exit with a one-line hint when COMMAND is missing.
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

# Where bin/setup installs the PyPI linters (a venv: the system Python is left alone);
# bin/test puts its bin/ on PATH.
TOOLS_VENV=${TOOLS_VENV:-$PWD/.build-tools/venv}

# Settings every Kubernetes script shares (override from the environment).
CONTEXT_GIVEN=${CONTEXT:-}
CLUSTER=${CLUSTER:-k8s-inference-sim}
NAMESPACE=${NAMESPACE:-k8s-inference-sim}
OVERLAY=${OVERLAY:-k8s/overlays/dev}
IMAGE=${IMAGE:-k8s-inference-sim:local}
# kind names the context of cluster X "kind-X".
CONTEXT=${CONTEXT:-kind-$CLUSTER}

need_docker() { need docker "install Docker (https://docs.docker.com/get-docker/) and start it"; docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer: start Docker"; }
need_kind() { need kind "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"; }
need_kubectl() { need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"; }

# kube_context: KUBE_ARGS=(--context $CONTEXT) when the kubeconfig has that context;
# else, unless CONTEXT was set, empty (the current context: a cluster bin/up did not
# make). kctl runs kubectl with them; kube_wait passes them on.
KUBE_ARGS=()
kube_context() {
  if kubectl config get-contexts "$CONTEXT" >/dev/null 2>&1; then
    KUBE_ARGS=(--context "$CONTEXT")
  elif [ -n "$CONTEXT_GIVEN" ]; then
    die "no context $CONTEXT in the kubeconfig (kubectl config get-contexts lists them)"
  else
    step "no context $CONTEXT in the kubeconfig: using the current one ($(kubectl config current-context 2>/dev/null || echo none))"
    KUBE_ARGS=()
  fi
}
# ${a[@]+"${a[@]}"}: an empty array under set -u, on bash before 4.4 too.
kctl() { kubectl ${KUBE_ARGS[@]+"${KUBE_ARGS[@]}"} "$@"; }

# with_settings DIR NAME [PATCHES]: a kustomization (.build-k8s/NAME) that wraps DIR
# (relative to the repository) and applies NAMESPACE and IMAGE to it, plus PATCHES
# (entries of a kustomize patches list); prints its folder. The Namespace object is left
# out: renamed to NAMESPACE, a delete -k would delete a namespace we did not make.
# ensure_namespace creates it instead.
with_settings() {
  local dir=.build-k8s/$2 name tag
  [[ $1 != /* ]] || die "$1: give it relative to the repository (OVERLAY=k8s/overlays/...)"
  name=${IMAGE%:*} tag=${IMAGE##*:}
  # No tag, or only a registry port ("host:5000/image"): the image as named, :latest.
  if [[ $IMAGE != *:* || $tag == */* ]]; then name=$IMAGE tag=latest; fi
  mkdir -p "$dir"
  cat >"$dir/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $NAMESPACE
resources:
  - ../../$1
images:
  - name: k8s-inference-sim
    newName: $name
    newTag: $tag
patches:
  - target: {kind: Namespace}
    patch: |-
      \$patch: delete
      apiVersion: v1
      kind: Namespace
      metadata: {name: any}
${3:-}
YAML
  printf '%s\n' "$dir"
}

# ensure_namespace: NAMESPACE exists (created if not; never deleted by these scripts).
ensure_namespace() {
  kctl get namespace "$NAMESPACE" >/dev/null 2>&1 || kctl create namespace "$NAMESPACE"
}

# object_name KIND DIR: the name of the first KIND that DIR renders.
object_name() {
  kubectl kustomize "$2" | awk -v kind="$1" '
    /^---/ { k = ""; meta = 0 }
    /^kind: / { k = $2 }
    /^metadata:/ { meta = 1; next }
    /^[^ ]/ { meta = 0 }
    meta && k == kind && /^  name: / { print $2; exit }'
}

# need_kube_wait: KUBE_WAIT is the built kube-wait, else one on PATH, else one built now
# (called early, so a failed build stops the script before it changes anything).
KUBE_WAIT=""
need_kube_wait() {
  KUBE_WAIT=${INFER_SIM_BIN:-.build/release}/kube-wait
  [ -x "$KUBE_WAIT" ] && return 0
  KUBE_WAIT=$(command -v kube-wait) && return 0
  need swift "install Swift 6.2 or later from swift.org, or put kube-wait on PATH (bin/install)"
  step "building kube-wait (swift build -c release --product kube-wait; the first build takes minutes)"
  swift build -c release --product kube-wait >&2
  KUBE_WAIT=.build/release/kube-wait
}

# kube_wait ARGS...: kube-wait on the scripts' context.
kube_wait() {
  [ -n "$KUBE_WAIT" ] || need_kube_wait
  "$KUBE_WAIT" ${KUBE_ARGS[@]+"${KUBE_ARGS[@]}"} "$@"
}
