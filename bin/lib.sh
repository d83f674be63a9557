# Shared helpers for the bin/ scripts; sourced, not run.
# shellcheck shell=bash

# step MESSAGE: say what happens next, on stderr.
step() { printf '==> %s\n' "$*" >&2; }

# die MESSAGE: a one-line error, exit 1.
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# need COMMAND HOW: exit with a one-line hint when COMMAND is missing.
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }
