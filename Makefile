# make run: serve on the embedded SQLite default.  make test: the whole suite.
# make fuzz: the long schemathesis run over the served OpenAPI document (FUZZ_EXAMPLES per operation).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# The versions of every Python package installed (pip constraints; `make lock` refreshes it).
LOCK := requirements.lock
# The cluster tests' Redis (the machine's); they use keys under a prefix of their own.
TASKTREK_TEST_REDIS_URL ?= redis://127.0.0.1:6379/11
# The browser tests drive Debian's Chromium (never a browser downloaded by a test tool).
CHROMIUM ?= /usr/bin/chromium
# The web board ships socket.io-client's browser bundle, copied from the npm package pinned
# in tests/js (the same client the real-time tests use); `make web-vendor` refreshes the copy.
SOCKETIO_CLIENT := tests/js/node_modules/socket.io-client
WEB_VENDOR := tasktrek/web/vendor

# `make bench` runs the code before issue 12 beside today's ("2× before" is measured, not
# assumed), when this clone has that commit.
BENCH_BASELINE ?= ef45a05

FUZZ_EXAMPLES ?= 1000
FUZZ_SEED ?= random

.PHONY: run test demo fuzz bench bench-smoke clean web-vendor lock

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "TaskTrek needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet -c $(LOCK) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[test]'
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[test,bench]'
	touch $@

# Pin what the venv holds now (after `make clean test` resolved setup.cfg's ranges afresh).
lock: $(VENV)/.installed-bench
	{ sed -n '/^#/p' $(LOCK); $(BIN)/pip freeze --exclude-editable; } > $(LOCK).new && mv $(LOCK).new $(LOCK)

tests/js/node_modules/.package-lock.json: tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund --loglevel=error

bench/node/node_modules/.package-lock.json: bench/node/package-lock.json
	npm ci --prefix bench/node --no-audit --no-fund --loglevel=error

$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
		echo "The browser tests need Debian's Chromium at $(CHROMIUM): sudo apt-get install chromium"; exit 1; fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core

web-vendor: tests/js/node_modules/.package-lock.json
	cp $(SOCKETIO_CLIENT)/dist/socket.io.esm.min.js $(WEB_VENDOR)/socket.io.esm.min.js
	cp $(SOCKETIO_CLIENT)/LICENSE $(WEB_VENDOR)/socket.io-client.LICENSE.txt

run: $(VENV)/.installed
	$(BIN)/python run.py

# The README's curl walkthrough against a running server (API=... to point elsewhere).
demo:
	bash scripts/demo.sh

test: $(VENV)/.installed-test tests/js/node_modules/.package-lock.json $(CHROMIUM)
	TASKTREK_TEST_REDIS_URL=$(TASKTREK_TEST_REDIS_URL) TASKTREK_TEST_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest $(PYTEST_ARGS)

fuzz: $(VENV)/.installed-test
	TASKTREK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) TASKTREK_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest tests/fuzz -q -s -p no:cacheprovider

bench: $(VENV)/.installed-bench bench/node/node_modules/.package-lock.json
	$(BIN)/python -m bench $$(git cat-file -e '$(BENCH_BASELINE)^{commit}' 2>/dev/null && echo --baseline $(BENCH_BASELINE))

bench-smoke: $(VENV)/.installed-bench bench/node/node_modules/.package-lock.json
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) tests/js/node_modules bench/node/node_modules .pytest_cache tests/web/screenshots
