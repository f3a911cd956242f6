# Everything a newcomer needs is `make run` and `make test` (see README.md).
#
#   make run        set up, then run the engine with a private Prosody and demo agents
#   make cluster    set up (as for tests), then run HAProxy, three engine processes,
#                   ejabberd, PostgreSQL and Redis under var/cluster (docs/operations.md)
#   make test       set up (with Chromium), then lint, types, layers and every test
#   make test-fast  the same without the end-to-end tests (no Prosody, no browser)
#   make lint       lint, types and layers only
#   make setup      only the set-up: Debian packages, .venv, widget
#   make screenshots  the widget guide's pictures (docs/images), taken by the browser tests
#   make audit      known advisories in the installed Python and npm packages (needs the
#                   network; not part of `make test`, so a new advisory cannot break CI)
#
# Pass arguments through with ARGS, e.g. `make run ARGS="--port 9000"` or
# `make test ARGS="-k routing -x"`.

ARGS ?=

.PHONY: setup run cluster test test-fast lint audit screenshots

setup:
	deploy/scripts/setup.sh

run: setup
	.venv/bin/chat-engine dev $(ARGS)

cluster:
	deploy/scripts/setup.sh --test
	.venv/bin/chat-engine cluster $(ARGS)

test:
	deploy/scripts/setup.sh --test
	deploy/scripts/test.sh $(ARGS)

test-fast: setup
	deploy/scripts/test.sh -m "not e2e" $(ARGS)

lint: setup
	deploy/scripts/test.sh --lint

audit: setup
	deploy/scripts/audit.sh

screenshots:
	deploy/scripts/setup.sh --test
	CHAT_ENGINE_DOC_SCREENSHOTS=docs/images .venv/bin/pytest -p no:cacheprovider -q \
		-k "not postgres" tests/presentation/test_widget_manager.py \
		tests/presentation/test_widget_browser.py tests/presentation/test_widget_offline.py \
		tests/presentation/test_widget_i18n.py tests/presentation/test_widget_bot.py \
		tests/presentation/test_widget_transcript.py
