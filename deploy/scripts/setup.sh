#!/usr/bin/env bash
# Set up everything `make run` and `make test` need; safe to run again and again.
#
#   deploy/scripts/setup.sh           Prosody, the virtualenv and the widget
#   deploy/scripts/setup.sh --test    the same, plus Chromium for the browser test and
#                                     Profanity under tmux for the real-client test, and
#                                     ejabberd, HAProxy and Redis for make cluster and the
#                                     scale-out tests (their system services are stopped
#                                     and disabled: private ones are run instead)
#
# Each step is skipped when its result is already there and still current, so a second
# run takes a second or two.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

with_test=0
case "${1:-}" in
    --test) with_test=1 ;;
    "") ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

PYTHON=${PYTHON:-python3}
VENV=.venv
WIDGET=presentation/widget
API_DOCS=presentation/api_docs

say() { printf '==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
# A missing file counts as empty (no package-lock.json yet): under pipefail a failing cat
# would otherwise end the script silently.
fingerprint() { { cat "$@" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }

# -- system packages (Debian) ---------------------------------------------------------

packages=()
have prosody || packages+=(prosody)
have openssl || packages+=(openssl)
"$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv)
if ! have npm; then packages+=(npm); fi
if ((with_test)) && ! have chromium; then packages+=(chromium); fi
# tests/e2e/test_profanity.py drives a real agent client, headless in tmux.
if ((with_test)) && ! have profanity; then packages+=(profanity); fi
if ((with_test)) && ! have tmux; then packages+=(tmux); fi
# tests/e2e/test_ejabberd.py: several engine processes on one component domain.
if ((with_test)) && ! have ejabberdctl && [[ ! -x /usr/sbin/ejabberdctl ]]; then packages+=(ejabberd); fi
# make cluster and tests/e2e/test_cluster.py: HAProxy and Redis, run privately like ejabberd.
if ((with_test)) && ! have haproxy && [[ ! -x /usr/sbin/haproxy ]]; then packages+=(haproxy); fi
if ((with_test)) && ! have redis-server; then packages+=(redis-server); fi

if ((${#packages[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        {
            echo "These Debian packages are missing: ${packages[*]}"
            echo "Installing them needs root. Run:"
            echo "    sudo apt-get update && sudo apt-get install -y ${packages[*]}"
            echo "and then run make again."
        } >&2
        exit 1
    fi
    say "installing ${packages[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${packages[@]}"
fi
# tests/deploy: `docker-compose config` and the Compose spec's schema it ships. Without
# its recommends: docker-compose alone, no Docker engine.
if ((with_test)) && [[ ! -f /usr/lib/python3/dist-packages/compose/config/compose_spec.json ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        say "installing docker-compose (apt-get, without Docker)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose \
            || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends docker-compose; }
    else
        echo "tests/deploy skip the Compose checks without: sudo apt-get install --no-install-recommends docker-compose" >&2
    fi
fi
# The ejabberd package enables (and, under systemd, starts) a system-wide server on 5222,
# 5269, 5280 and 5443 of every interface: only private loopback instances should run.
# HAProxy's and Redis's packages enable theirs too (Redis on 6379).
for service in ejabberd haproxy redis-server; do
    [[ " ${packages[*]} " == *" $service "* ]] || continue
    say "stopping and disabling the system $service service (make cluster and the tests run their own)"
    if [[ -d /run/systemd/system ]]; then
        systemctl disable --now "$service.service" || true
    else
        # No systemd running (a container): stop a SysV start, if policy allowed one,
        # and disable both kinds of start-up (systemctl disable works offline).
        invoke-rc.d "$service" stop >/dev/null 2>&1 || true
        update-rc.d "$service" disable >/dev/null 2>&1 || true
        systemctl disable "$service.service" >/dev/null 2>&1 || true
    fi
done

# -- Python virtualenv ----------------------------------------------------------------

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)." >&2
    echo "Set PYTHON=/path/to/python3.11 to choose another one." >&2
    exit 1
fi
if [[ ! -x $VENV/bin/python ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.setup-stamp
want=$(fingerprint setup.cfg pyproject.toml)
if [[ ! -x $VENV/bin/chat-engine || ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    say "installing chat-engine and its development tools into $VENV"
    # compat mode puts the checkout itself on sys.path: packages added later import
    # without reinstalling (the default editable mode maps only the packages it saw).
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        --config-settings editable_mode=compat -e '.[dev]'
    echo "$want" >"$stamp"
fi

# -- widget ---------------------------------------------------------------------------

if [[ -f $WIDGET/package.json ]]; then
    stamp=$WIDGET/node_modules/.setup-stamp
    want=$(fingerprint "$WIDGET/package.json" "$WIDGET/package-lock.json")
    if [[ ! -f $stamp || $(<"$stamp") != "$want" ]]; then
        say "installing the widget's npm packages"
        if [[ -f $WIDGET/package-lock.json ]]; then
            (cd "$WIDGET" && npm ci --no-audit --no-fund)
        else
            (cd "$WIDGET" && npm install --no-audit --no-fund)
        fi
        echo "$want" >"$stamp"
    fi
    say "building the widget"
    (cd "$WIDGET" && npm run --silent build)
else
    say "no $WIDGET/package.json yet: skipping the widget build"
fi

# -- API docs page --------------------------------------------------------------------

# Swagger UI from npm for /api/v1/docs, served by the engine itself (no CDN). No install
# scripts: swagger-ui-dist's only dependency would run a telemetry script.
stamp=$API_DOCS/node_modules/.setup-stamp
want=$(fingerprint "$API_DOCS/package.json" "$API_DOCS/package-lock.json")
if [[ ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    say "installing the API docs page's npm packages"
    (cd "$API_DOCS" && npm ci --no-audit --no-fund --ignore-scripts)
    echo "$want" >"$stamp"
fi
if [[ ! -f $API_DOCS/dist/swagger-ui-bundle.js || $API_DOCS/node_modules/.setup-stamp -nt $API_DOCS/dist/swagger-ui-bundle.js ]]; then
    say "building the API docs page"
    (cd "$API_DOCS" && npm run --silent build)
fi
