#!/usr/bin/env bash
# bin/deploy against a strict stub API server (bench/kube_api_stub.py: real API
# responses; only the right namespace, names, field selectors and token get an answer)
# and a kubectl stand-in (kustomize and config are the real kubectl, apply is recorded).
# bin/deploy must return once the rollout is done and the HPA has metrics, and fail with a
# clear line when the rollout exceeds its progress deadline or the HPA never gets
# metrics. Mutated copies of bin/deploy, which a lenient stub let pass, must fail.
#
# Usage: Tests/Deploy/deploy-test.sh   (env: BIN=.build/debug, the folder holding kube-wait)
# Needs: kubectl, python3, openssl, curl, a built kube-wait.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
# Settings bin/deploy would read come from each case, not from the caller.
unset CONTEXT CLUSTER NAMESPACE OVERLAY IMAGE TIMEOUT INFER_SIM_BIN
# shellcheck source=bin/lib.sh
. bin/lib.sh
# api_stub, kubectl_stand_in, and cleanup (stops the stubs) on exit.
# shellcheck source=bench/lib.sh
. bench/lib.sh

BIN=${BIN:-.build/debug}
[[ $BIN == /* ]] || BIN=$ROOT/$BIN
[ -x "$BIN/kube-wait" ] || die "no $BIN/kube-wait: run swift build, or set BIN to the folder holding kube-wait"
need_kubectl

work=$(mktemp -d)
trap 'cleanup; rm -rf "$work"' EXIT
kubectl_stand_in "$work/path"

# The namespace bin/deploy is given; the kubeconfig's context names another, so a
# kube-wait without -n "$NAMESPACE" asks the wrong one.
NS=deploy-test
CONTEXT_NS=wrong-ns
# The Deployment and HPA the dev overlay renders (namePrefix dev-).
NAME=dev-inference-sim

# deploy LIMIT SCRIPT STUB_OPTION...: SCRIPT (bin/deploy or a copy) against a fresh stub,
# with TIMEOUT=LIMIT, bounded at 60 s. Sets status, err (stderr), requests (the stub's
# log) and applied (what the kubectl stand-in recorded).
deploy() {
  local limit=$1 script=$2
  shift 2
  api_stub "$work/api" "$CONTEXT_NS" --namespace "$NS" --deployment "$NAME" --hpa "$NAME" "$@"
  : >"$work/kubectl.log"
  status=0
  PATH="$work/path:$PATH" KUBECTL_LOG="$work/kubectl.log" KUBECONFIG="$work/api/kubeconfig" NAMESPACE="$NS" \
    INFER_SIM_BIN="$BIN" TIMEOUT="$limit" timeout 60 "$script" >/dev/null 2>"$work/err" || status=$?
  kill -KILL "$STUB_PID"
  wait "$STUB_PID" 2>/dev/null || true
  err=$(<"$work/err") requests=$(<"$work/api/requests.log") applied=$(<"$work/kubectl.log")
}

passed=0 failed=0 case_ok=yes
# fail MESSAGE: the current case failed; says why, with bin/deploy's stderr.
fail() {
  printf 'deploy-test: %s: %s\n' "$case_name" "$1" >&2
  [ "$case_ok" = no ] || printf '  stderr:\n    %s\n' "${err//$'\n'/$'\n'    }" >&2
  case_ok=no
}
# same WHAT EXPECTED GOT; has WHAT NEEDLE HAYSTACK: one assertion of the current case.
same() { [ "$2" = "$3" ] || fail "$1: expected $2, got $3"; }
has() {
  [[ $3 == *"$2"* ]] && return 0
  if [ "$1" = stderr ]; then fail "$1: no \"$2\""; else fail "$1: no \"$2\" in: ${3//$'\n'/ | }"; fi
}
# check NAME: runs the case function NAME and counts it.
check() {
  case_name=$1 case_ok=yes err=""
  "$1"
  if [ "$case_ok" = yes ]; then
    passed=$((passed + 1))
    printf 'deploy-test: ok %s\n' "$1" >&2
  else
    failed=$((failed + 1))
  fi
}

lists() { printf 'GET /apis/%s/namespaces/%s/%s?fieldSelector=metadata.name=%s' "$1" "$NS" "$2" "$NAME"; }

rollout_and_metrics() {
  deploy 6s bin/deploy --rollout 0.5 --hpa-metrics 1
  same "exit status" 0 "$status"
  has "kubectl calls" "kubectl apply -k .build-k8s/deploy" "$applied"
  has "the applied objects" "namespace: $NS" "$(kubectl kustomize .build-k8s/deploy)"
  has "requests" "$(lists apps/v1 deployments) 200" "$requests"
  has "requests" "$(lists apps/v1 deployments)&watch=1&" "$requests"
  has "requests" "$(lists autoscaling/v2 horizontalpodautoscalers) 200" "$requests"
  has "requests" "$(lists autoscaling/v2 horizontalpodautoscalers)&watch=1&" "$requests"
  same "requests not answered 200" "" "$(grep -E '^GET /apis?/' <<<"$requests" | grep -v ' 200$' || true)"
  has "stderr" "hpa/$NAME: hpa \"$NAME\" has no metrics yet (FailedGetResourceMetric" "$err"
  has "stderr" "hpa/$NAME: hpa \"$NAME\" has metrics for all 1 of its targets" "$err"
  has "stderr" "deployment/$NAME: deployment \"$NAME\" successfully rolled out" "$err"
}

progress_deadline_exceeded() {
  deploy 20s bin/deploy --rollout 0.5 --progress-deadline-exceeded --hpa-metrics 1
  same "exit status" 1 "$status"
  has "stderr" ": Unschedulable: " "$err"
  has "stderr" "kube-wait: deployment/$NAME failed: deployment \"$NAME\" exceeded its progress deadline" "$err"
}

hpa_never_gets_metrics() {
  deploy 3s bin/deploy --rollout 0.5 --hpa-metrics never
  same "exit status" 124 "$status"
  has "stderr" "hpa/$NAME: hpa \"$NAME\" has no metrics yet (FailedGetResourceMetric" "$err"
  has "stderr" "kube-wait: timed out after 3s waiting for hpa/$NAME" "$err"
}

# mutant WHY SED_SCRIPT REFUSAL: a copy of bin/ and k8s/ whose bin/deploy SED_SCRIPT
# breaks must fail against the stub that the real one passes, with the stub's 404
# REFUSAL on kube-wait's stderr.
mutant() {
  local dir=$work/mutant-$case_name
  mkdir -p "$dir"
  cp -R bin k8s "$dir/"
  sed -i "$2" "$dir/bin/deploy"
  if cmp -s bin/deploy "$dir/bin/deploy"; then fail "the edit ($2) no longer changes bin/deploy"; return; fi
  deploy 6s "$dir/bin/deploy" --rollout 0.5 --hpa-metrics 1
  [ "$status" -ne 0 ] || fail "the mutant survived: bin/deploy $1 exited 0"
  has "stderr" "HTTP 404: $3" "$err"
}
# shellcheck disable=SC2016 # sed scripts: the $ is bin/deploy's
mutant_without_namespace() {
  mutant "without -n \"\$NAMESPACE\"" 's/kube_wait -n "\$NAMESPACE" /kube_wait /' 'namespaces "wrong-ns" not found'
}
# shellcheck disable=SC2016 # sed scripts: the $ is bin/deploy's
mutant_default_namespace_no_hpa() {
  mutant "with -n default and no hpa/" 's|kube_wait -n "\$NAMESPACE" \("deployment/\$deployment"\) "hpa/\$hpa"|kube_wait -n default \1|' \
    'namespaces "default" not found'
}
# shellcheck disable=SC2016 # sed scripts: the $ is bin/deploy's
mutant_wrong_deployment_name() {
  mutant "waiting on deployment/nonexistent" 's|"deployment/\$deployment"|"deployment/nonexistent"|' \
    'deployments.apps "nonexistent" not found'
}

for name in rollout_and_metrics progress_deadline_exceeded hpa_never_gets_metrics \
  mutant_without_namespace mutant_default_namespace_no_hpa mutant_wrong_deployment_name; do
  check "$name"
done
printf 'deploy-test: %d passed, %d failed\n' "$passed" "$failed" >&2
[ "$failed" -eq 0 ]
