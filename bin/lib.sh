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
# kind names the context of cluster X "kind-X".
CONTEXT=${CONTEXT:-kind-$CLUSTER}

need_docker() { need docker "install Docker (https://docs.docker.com/get-docker/) and start it"; docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer: start Docker"; }
need_kind() { need kind "install kind: https://kind.sigs.k8s.io/docs/user/quick-start/#installation"; }
need_kubectl() { need kubectl "install kubectl: https://kubernetes.io/docs/tasks/tools/"; }

# kube_context: KUBE_ARGS=(--context $CONTEXT) when the kubeconfig has that context,
# else empty (the current context: a cluster bin/up did not make). kctl runs kubectl
# with them; kube_wait passes them on.
KUBE_ARGS=()
kube_context() {
  if kubectl config get-contexts -o name 2>/dev/null | grep -qx "$CONTEXT"; then
    KUBE_ARGS=(--context "$CONTEXT")
  else
    step "no context $CONTEXT in the kubeconfig: using the current one ($(kubectl config current-context 2>/dev/null || echo none))"
    KUBE_ARGS=()
  fi
}
kctl() { kubectl "${KUBE_ARGS[@]}" "$@"; }

# with_settings DIR NAME: a kustomization (.build-k8s/NAME) that wraps DIR and applies
# NAMESPACE and IMAGE to it, plus any patch in $PATCH; prints its folder.
with_settings() {
  local dir=.build-k8s/$2 name tag
  name=${IMAGE%:*} tag=${IMAGE##*:}
  # No tag, or only a registry port ("host:5000/image"): the image as named, :latest.
  if [[ $IMAGE != *:* || $tag == */* ]]; then name=$IMAGE tag=latest; fi
  mkdir -p "$dir"
  cat >"$dir/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $NAMESPACE
resources:
  - $(realpath --relative-to="$dir" "$1")
images:
  - name: k8s-inference-sim
    newName: $name
    newTag: $tag
${PATCH:-}
YAML
  printf '%s\n' "$dir"
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

# kube_wait ARGS...: the built kube-wait, else one on PATH, else build it.
kube_wait() {
  local bin=${INFER_SIM_BIN:-.build/release}/kube-wait
  if [ ! -x "$bin" ]; then
    if command -v kube-wait >/dev/null 2>&1; then bin=kube-wait; else
      need swift "install Swift 6.2 or later from swift.org, or put kube-wait on PATH (bin/install)"
      step "building kube-wait (swift build -c release --product kube-wait; the first build takes minutes)"
      swift build -c release --product kube-wait >&2
      bin=.build/release/kube-wait
    fi
  fi
  "$bin" "${KUBE_ARGS[@]}" "$@"
}
