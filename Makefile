# Yidi developer entry points. `make run` and `make test` work on a fresh machine: they create the
# virtual environment (.venv) with every package installed editable, then do their job.

SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
PACKAGES := libs/events libs/benefits cli platform $(addprefix services/,filing settlement reconciliation clearing audit reimbursement) services/console
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv test unit lint fmt up down run bench schemas docs clean lock lock-check browser screenshots

venv: $(STAMP)

$(STAMP): $(PYPROJECTS) dev-requirements.txt requirements.lock Makefile
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(BIN)/python -c requirements.lock $(addprefix -e ,$(PACKAGES)) -r dev-requirements.txt
	@touch $(STAMP)

# The one set of third-party versions everything installs (the workspace's own packages are
# left out: they are installed from the checkout). Re-resolving keeps every pin the lock already
# has unless a pyproject asks for something else; `make lock UPGRADE=1` moves them all forward.
LOCK_ARGS = requirements.in --universal --python-version 3.11 --quiet \
	$(addprefix --no-emit-package ,yidi-events yidi-benefits yidi-cli yidi-stack $(addprefix yidi-,filing settlement reconciliation clearing audit reimbursement) yidi-console)

lock:
	@test -x $(UV) || $(MAKE) --no-print-directory venv
	$(UV) pip compile $(LOCK_ARGS) $(if $(UPGRADE),--upgrade) -o requirements.lock

## Fails when a pyproject or dev-requirements.txt changed without `make lock`.
lock-check: venv
	@cp requirements.lock $(VENV)/lock-check.txt
	@$(UV) pip compile $(LOCK_ARGS) --no-header -o $(VENV)/lock-check.txt
	@diff -u <(grep -v '^#' requirements.lock) <(grep -v '^#' $(VENV)/lock-check.txt) \
		|| { echo "requirements.lock is stale: run make lock"; exit 1; }

## The browser the console's tests drive (tests/browser): the distribution's Chromium and a
## Chinese font for its pages and screenshots, installed with the system's package manager
## (Playwright's own browser download does not work here).
BROWSER_FILES := /usr/bin/chromium /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
browser:
	@for f in $(BROWSER_FILES); do test -e $$f || missing=1; done; \
	if [ -n "$$missing" ]; then \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium fonts-wqy-microhei; \
	fi

## The whole suite: unit, integration (real PostgreSQL + broker), end-to-end, browser.
test: venv browser
	$(BIN)/pytest -q $(PYTEST_ARGS)

## The console's screenshots in docs/console/ (the README shows them), taken by the browser tests.
screenshots: venv browser
	YIDI_SCREENSHOTS=docs $(BIN)/pytest -q tests/browser

## Pure tests only: domain rules and handlers on the in-memory store (each service's tests/unit)
## and the chassis' own. Whatever starts a process or a server is in `make test` alone.
unit: venv
	$(BIN)/pytest -q -m "not integration and not e2e" libs/events/tests libs/benefits/tests services/*/tests/unit $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/events/src libs/benefits/src cli/src platform/src $(foreach s,filing settlement reconciliation clearing audit reimbursement,services/$(s)/src) services/console/src
	$(BIN)/lint-imports --no-cache
	@# Every package declares what it imports (and nothing it does not), so an image built
	@# from one package's pyproject has what it needs.
	@for p in $(PACKAGES); do (cd $$p && $(CURDIR)/$(BIN)/deptry src --no-ansi) || exit 1; done
	@$(MAKE) --no-print-directory lock-check

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Regenerate the committed JSON Schemas of every event contract (CI checks compatibility).
schemas: venv
	$(BIN)/python -m yidi_events.schemas write

## Regenerate the published API documents (AsyncAPI of the topics, OpenAPI of each service) and
## the Kafka users and ACLs in deploy/ (from each service's subscriptions), and the dashboards,
## alert rules and PodMonitors (yidi_stack.observability).
docs: venv
	$(BIN)/python -m yidi_stack.apidocs write
	$(BIN)/python -m yidi_stack.acls write
	$(BIN)/python -m yidi_stack.observability write

## The embedded stack on 127.0.0.1: PostgreSQL, broker, topics, the five services.
up: venv
	$(BIN)/yidi-stack up

down:
	@if test -x $(BIN)/yidi-stack; then $(BIN)/yidi-stack down; fi

run: venv
	$(BIN)/yidi-stack run $(RUN_ARGS)

## Benchmarks: print figures and write .bench/latest.json (never fails on a time).
bench: venv
	$(BIN)/yidi-stack bench $(BENCH_ARGS)

clean:
	@if test -x $(BIN)/yidi-stack; then $(BIN)/yidi-stack clean; fi
	rm -rf .state .run .bench
