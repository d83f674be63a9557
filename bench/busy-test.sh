#!/usr/bin/env bash
# The test suite on a busy machine: swift test --skip-build with stress-ng holding every
# core beside it, RUNS times (default 3); says each run's passed and failed tests, and
# names those that failed. Exit 1 when any run failed. Builds once first, unstressed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bin/lib.sh
. bin/lib.sh

usage() {
  cat <<'TXT'
Usage: bench/busy-test.sh [-h|--help] [RUNS]
Runs swift test --skip-build RUNS times (default 3), each with stress-ng --cpu CPUS
beside it, and reports each run's passed and failed test counts.
  env CPUS     stress-ng's CPU workers (default: nproc, every core)
  env FILTER   passed to swift test --filter (default: the whole suite)
  env LOGS     where each run's output goes (default: .build/busy-test)
TXT
}
case "${1:-}" in -h|--help) usage; exit 0 ;; "" | [1-9] | [1-9][0-9]) ;; *) usage >&2; exit 2 ;; esac
RUNS=${1:-3}
CPUS=${CPUS:-$(nproc)}
FILTER=${FILTER:-}
LOGS=${LOGS:-.build/busy-test}
need stress-ng "run bin/setup test (Debian: apt-get install stress-ng)"

mkdir -p "$LOGS"
step "swift build --build-tests (once, before the stress)"
if ! swift build --build-tests >"$LOGS/build.log" 2>&1; then
  tail -20 "$LOGS/build.log" >&2
  die "the build failed ($LOGS/build.log)"
fi
stress=""
trap '[ -z "$stress" ] || kill "$stress" 2>/dev/null || true' EXIT

failed_runs=0
for run in $(seq "$RUNS"); do
  log=$LOGS/run$run.log
  step "run $run of $RUNS: swift test${FILTER:+ --filter $FILTER} beside stress-ng --cpu $CPUS"
  stress-ng --cpu "$CPUS" --quiet &
  stress=$!
  start=$SECONDS status=0
  swift test --skip-build ${FILTER:+--filter "$FILTER"} >"$log" 2>&1 || status=$?
  kill "$stress" 2>/dev/null || true
  wait "$stress" 2>/dev/null || true
  stress=""
  # Swift Testing's lines: "✔ Test NAME passed after …", "✘ Test NAME failed after …".
  passed=$(grep -E '^[^ ]+ Test .+ passed after' "$log" | grep -vc ' Test run with ' || true)
  failed=$(grep -E '^[^ ]+ Test .+ failed after' "$log" | grep -vc ' Test run with ' || true)
  printf 'run %d: %d passed, %d failed, exit %d, %d s (%s)\n' "$run" "$passed" "$failed" "$status" \
    $((SECONDS - start)) "$log"
  grep -E '^[^ ]+ Test .+ failed after' "$log" | grep -v ' Test run with ' | sed 's/^/  /' || true
  if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then failed_runs=$((failed_runs + 1)); fi
done
[ "$failed_runs" -eq 0 ] || die "$failed_runs of $RUNS runs failed"
