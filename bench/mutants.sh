#!/usr/bin/env bash
# Mutation check of the test suite (not run by CI): applies deliberate breakages, one at
# a time, to a scratch copy of the repository and reports which ones the tests fail to
# catch. A mutant is caught when the check named beside it fails.
#
# Usage: bench/mutants.sh [NAME...]   (env: SCRATCH=/tmp/k8s-inference-sim-mutants)
# The first run builds the scratch copy from clean (~11 min); later runs are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bin/lib.sh
. bin/lib.sh
SCRATCH=${SCRATCH:-/tmp/k8s-inference-sim-mutants}

# NAME | FILE | perl substitution | check (run in the scratch copy)
# shellcheck disable=SC2016  # the $ are perl's and the scripts', not this shell's
MUTANTS='
so-debug|Sources/LoadGen/LoadRunner+Connection.swift|s/(\.channelOption\(\.maxMessagesPerRead)/.channelOption(.socketOption(.tcp_nodelay), value: 1)\n            $1/|swift test --skip-build --filter HardeningTests/loadConnectsAsAnOrdinaryUser
tokens-ignored|Sources/InferServer/InferRoutes.swift|s/budgetNanos\(tokens: tokens,/budgetNanos(tokens: 1,/|swift test --skip-build --filter MainPathTests/cpuCostIsTokensTimesWorkMs
work-ms-unit|Sources/InferServer/InferRoutes.swift|s/workMs: config\.workMs,/workMs: config.workMs \/ 1000,/|swift test --skip-build --filter MainPathTests/cpuCostIsTokensTimesWorkMs
write-error-swallowed|Sources/Platform/LineWriter.swift|s/if failed\.errno != EPIPE \{ failure = failed\.errno \}/_ = failed/|swift test --skip-build --filter HardeningTests/statsReportsAFullDisk
load-write-error-swallowed|Sources/InferLoadCLI/InferLoad.swift|s/if case \.failed\(let errno\) = finalState \{/if case .failed(let errno) = finalState, false {/|swift test --skip-build --filter HardeningTests/loadReportsAFullDisk
records-wait-for-the-reader|Sources/InferLoadCLI/RecordOutput.swift|s/BackgroundWriter\(fd: 1, whenFull: \.wait\)/BackgroundWriter(fd: 1, capacity: 1, whenFull: .wait)/|swift test --skip-build --filter HardeningTests/aStalledReader
bom-not-skipped|Sources/Stats/RecordSource.swift|s/if reader\.lineNumber == 1, RecordSource\.startsWithBOM/if false, RecordSource.startsWithBOM/|swift test --skip-build --filter HardeningTests/aLeadingByteOrderMark
gaps-materialised|Sources/Stats/Windows.swift|s/if next - index > Windows\.longestEmptyRun \{/if false {/|swift test --skip-build --filter HardeningTests/farApartRecords
age-ignores-clock|Sources/InferServer/ConnectionAge.swift|s/now\(\) &- openedAt >= maxAgeNanos/true/|swift test --skip-build --filter ConnectionAgeTests/
opened-after-cancel-left-open|Sources/LoadGen/ConnectionStateMachine.swift|s/state = \.closed\n            return \.close\n        \}\n        request\.sent/return .none\n        }\n        request.sent/|swift test --skip-build --filter ConnectionStateMachineTests
deploy-without-n|bin/deploy|s/kube_wait -n "\$NAMESPACE" /kube_wait /|Tests/Deploy/deploy-test.sh
deploy-default-ns-no-hpa|bin/deploy|s/kube_wait -n "\$NAMESPACE" "deployment\/\$deployment" "hpa\/\$hpa"/kube_wait -n default "deployment\/\$deployment"/|Tests/Deploy/deploy-test.sh
deploy-wrong-name|bin/deploy|s/"deployment\/\$deployment"/"deployment\/nonexistent"/|Tests/Deploy/deploy-test.sh
deploy-no-hpa-wait|bin/deploy|s/ "hpa\/\$hpa"//|Tests/Deploy/deploy-test.sh
'

step "scratch copy in $SCRATCH (the files git tracks, as they are in the work tree)"
mkdir -p "$SCRATCH"
# Everything but its build folders goes, so files moved or deleted here are gone there too;
# what git ignores (.build*) is not copied: the scratch copy keeps a build folder of its own.
find "$SCRATCH" -mindepth 1 -maxdepth 1 ! -name '.build*' ! -name 'mutant-*.log' ! -name build.log -exec rm -rf {} +
git ls-files -z | tar --null -T - -cf - | tar -C "$SCRATCH" -xf -
cd "$SCRATCH"
step "building the unmutated copy (the first time from clean)"
swift build --build-tests >"$SCRATCH/build.log" 2>&1 || die "the unmutated copy does not build: $SCRATCH/build.log"

# Every check must pass on the unmutated copy, or its failure under a mutant proves nothing.
step "baseline: each check on the unmutated copy"
while IFS='|' read -r name _ _ check; do
  [ -n "$name" ] || continue
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  timeout 600 bash -c "$check" >"$SCRATCH/baseline-$name.log" 2>&1 || die "the check of $name fails unmutated: $SCRATCH/baseline-$name.log"
done <<<"$MUTANTS"

caught=() survived=() unbuilt=()
while IFS='|' read -r name file perl check; do
  [ -n "$name" ] || continue
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  cp "$file" "$file.orig"
  perl -0pi -e "$perl" "$file"
  if cmp -s "$file" "$file.orig"; then
    mv "$file.orig" "$file"
    die "mutant $name did not apply to $file: update its pattern"
  fi
  step "mutant $name: $file; checking with: $check"
  log="$SCRATCH/mutant-$name.log"
  # A mutant that does not compile proves nothing about the tests: it is its own failure.
  if ! swift build --build-tests >"$log" 2>&1; then
    unbuilt+=("$name")
    step "DID NOT BUILD: $name (log: $log): fix its pattern"
  # Bounded: a mutant can make a test run away (gaps-materialised allocates without end).
  elif timeout 600 bash -c "$check" >>"$log" 2>&1; then
    survived+=("$name")
    step "SURVIVED: $name (log: $log)"
  else
    caught+=("$name")
    step "caught: $name"
  fi
  mv "$file.orig" "$file"
  touch "$file"  # a new mtime: the next build must compile the restored file, not keep the mutant
done <<<"$MUTANTS"
swift build --build-tests >/dev/null 2>&1 || true  # leave the copy built unmutated
printf '%d mutants: %d caught (%s), %d survived (%s), %d did not build (%s)\n' \
  $(( ${#caught[@]} + ${#survived[@]} + ${#unbuilt[@]} )) ${#caught[@]} "${caught[*]:-}" \
  ${#survived[@]} "${survived[*]:-}" ${#unbuilt[@]} "${unbuilt[*]:-}"
[ ${#survived[@]} -eq 0 ] && [ ${#unbuilt[@]} -eq 0 ]
