#!/usr/bin/env bash
# Every check CI runs, in order, stopping at the first failure (exit code non-zero).
#
#   deploy/scripts/test.sh [PYTEST ARGS...]   lint, types, layers, then pytest
#   deploy/scripts/test.sh --lint             lint, types and layers only
#
# Expects deploy/scripts/setup.sh to have run (make test does both). With CI=true the
# PostgreSQL tests must find a server on 127.0.0.1:5432 instead of being skipped.
#
# pytest runs on one worker process per core (pytest-xdist; at most 4, each with its own
# Prosody and browser): TEST_WORKERS=1 runs it in one process, and so does passing -n.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PWD/.venv/bin:$PATH"

lint_only=0
if [[ ${1:-} == --lint ]]; then
    lint_only=1
    shift
fi

step() {
    printf '\n==> %s\n' "$*"
    "$@"
}

step ruff check .
step ruff format --check .
step mypy
step lint-imports
if ((lint_only)); then
    exit 0
fi
workers=${TEST_WORKERS:-$(nproc)}
if ((workers > 4)); then workers=4; fi
parallel=()
if ((workers > 1)) && [[ " $* " != *" -n "* && " $* " != *" -n="* ]]; then
    parallel=(-n "$workers" --dist loadfile)
fi
step pytest "${parallel[@]}" "$@"
