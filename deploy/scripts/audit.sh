#!/usr/bin/env bash
# Known advisories in what is installed: the Python packages of .venv (pip-audit) and the
# npm packages of the widget and the API docs page (npm audit). Exit 1 if either finds
# one, or cannot check.
#
#   deploy/scripts/audit.sh          (make audit runs setup first)
#
# Not part of `make test` on purpose: an advisory published tomorrow must not turn CI red
# for a change that has nothing to do with it. Run it before a release and on a schedule.
# Both tools ask online databases (PyPI's and npm's advisories); without them they fail
# rather than report "nothing found".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PYTHON=${PYTHON:-python3}
# pip-audit lives in a virtualenv of its own: its dependencies (requests, rich, ...) stay
# out of the engine's environment and out of the report.
TOOLS=.venv-audit
WIDGET=presentation/widget

say() { printf '\n==> %s\n' "$*"; }
status=0

say "pip-audit: Python packages installed in .venv"
if [[ ! -x $TOOLS/bin/pip-audit ]]; then
    "$PYTHON" -m venv "$TOOLS" &&
        "$TOOLS/bin/pip" install --quiet --disable-pip-version-check 'pip-audit>=2.7' ||
        { echo "could not install pip-audit into $TOOLS" >&2; rm -rf "$TOOLS"; exit 1; }
fi
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
# --strict: a package that could not be checked fails the audit instead of passing silently;
# --skip-editable: chat-engine itself is not on PyPI.
if ! "$TOOLS/bin/pip-audit" --strict --skip-editable --progress-spinner off --path "$site"; then
    echo "pip-audit failed: advisories listed above, or a package it could not check" >&2
    status=1
fi

for dir in "$WIDGET" presentation/api_docs; do
    say "npm audit: the packages of $dir"
    if ! (cd "$dir" && npm audit); then
        echo "npm audit failed: advisories listed above, or the registry could not be asked" >&2
        status=1
    fi
done

exit $status
