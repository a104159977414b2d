# OMS developer commands. `make help` lists them; `make run` and `make test` are all a newcomer needs.
# Every target works from a fresh clone: the virtualenv is created and filled on first use.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV   ?= .venv
PY     := $(VENV)/bin/python
# The interpreter that creates the virtualenv: python3.11 if installed, else python3 (>= 3.11).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# Loopback unless you say otherwise (HOST=0.0.0.0 exposes the dev server to your network).
HOST   ?= 127.0.0.1
PORT   ?= 8000
# The dev server shows errors and serves the admin's static files, and the development SECRET_KEY is
# accepted; production sets DEBUG=false and a SECRET_KEY itself (see serve-prod).
DEBUG  ?= true
PYTEST_ARGS ?=
# `make smoke` loads the demo data into SMOKE_DATABASE_URL (default: a temporary SQLite file),
# never into DATABASE_URL.
MANAGE := DEBUG=$(DEBUG) $(PY) manage.py
# The test run on Redis (make test-rq): the webhook delivery tests with the RQ backend. Its Redis
# database is flushed before every test: never point it at one that holds anything.
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
RQ_TESTS := tests/webhooks/test_delivery.py tests/ops/test_workers.py

STAMP := $(VENV)/.requirements-installed

.NOTPARALLEL:
.PHONY: help venv run serve serve-prod worker migrate seed demo-admin reset-demo test test-rq lint migrations-check schema-check smoke fuzz ci clean bench

help: ## List the targets
	@echo "Usage: make <target>   (HOST=$(HOST) PORT=$(PORT); DATABASE_URL from the environment, SQLite by default)"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install requirements-dev.txt (re-run when requirements change)

$(STAMP): requirements.txt requirements-dev.txt
	@if [ ! -x "$(PY)" ]; then \
		if [ -z "$(PYTHON)" ]; then echo "Python 3.11+ is required (python3.11 or python3 not found)." >&2; exit 1; fi; \
		"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
			|| { echo "Python 3.11+ is required; $(PYTHON) is $$("$(PYTHON)" --version 2>&1)." >&2; exit 1; }; \
		echo "Creating $(VENV) with $$("$(PYTHON)" --version 2>&1)"; \
		"$(PYTHON)" -m venv "$(VENV)"; \
	fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

run: venv migrate seed demo-admin serve ## The one command: venv, migrate, demo data, admin login + API token, then the server

serve: venv ## Start the development server on HOST:PORT and the webhook worker beside it (no setup)
	@echo "Starting the OMS on http://$(if $(filter 0.0.0.0,$(HOST)),localhost,$(HOST)):$(PORT)/  (Ctrl-C stops it)"
	@$(MANAGE) run_worker > .oms-worker.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null || true' EXIT INT TERM; \
	echo "Webhook worker running (pid $$worker, log .oms-worker.log)"; \
	$(MANAGE) runserver $(HOST):$(PORT)

serve-prod: venv ## Production server: collectstatic, check migrations are applied, gunicorn -c gunicorn.conf.py (needs SECRET_KEY)
	DEBUG=false $(PY) manage.py collectstatic --noinput -v 0
	DEBUG=false $(PY) manage.py migrate --check
	DEBUG=false exec $(VENV)/bin/gunicorn -c gunicorn.conf.py oms.wsgi

worker: venv ## Run the background worker alone (webhook deliveries) for the configured TASKS_BACKEND
	$(MANAGE) run_worker

migrate: venv ## Apply database migrations
	$(MANAGE) migrate --noinput

seed: venv ## Seed states/transitions and the demo data set (idempotent)
	$(MANAGE) seed_transitions
	$(MANAGE) seed_demo

demo-admin: venv ## Create the 'admin' superuser once (OMS_DEMO_PASSWORD; OMS_DEMO_RESET_PASSWORD=1 sets it again), print login + API token
	$(MANAGE) demo_admin --base-url http://$(if $(filter 0.0.0.0,$(HOST)),localhost,$(HOST)):$(PORT)

reset-demo: venv ## Drop and recreate the demo database (SQLite file or DATABASE_URL's), then migrate, seed and create 'admin'
	$(MANAGE) reset_demo_database --yes
	$(MAKE) --no-print-directory migrate seed demo-admin

test: venv ## Run the whole test suite (DATABASE_URL from the environment; SQLite by default)
	$(PY) -m pytest $(PYTEST_ARGS)

test-rq: venv ## The webhook delivery tests again with the RQ backend on TEST_REDIS_URL (flushed per test)
	TASKS_BACKEND=django_tasks_rq.RQBackend REDIS_URL=$(TEST_REDIS_URL) OMS_TEST_FLUSH_REDIS=1 $(PY) -m pytest -p no:cacheprovider $(RQ_TESTS) $(PYTEST_ARGS)

lint: venv ## ruff check
	$(PY) -m ruff check .

migrations-check: venv ## Fail when a model change has no migration
	$(MANAGE) makemigrations --check --dry-run

smoke: venv ## Load the demo data twice into a scratch database: the second run must create nothing
	@scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	export DATABASE_URL="$${SMOKE_DATABASE_URL:-sqlite:///$$scratch/smoke.sqlite3}"; \
	echo "seed_demo smoke test on a scratch $${DATABASE_URL%%:*} database"; \
	$(MANAGE) migrate --noinput -v 0; \
	$(MANAGE) seed_demo > "$$scratch/first.log" || { cat "$$scratch/first.log"; exit 1; }; \
	$(MANAGE) seed_demo --no-color > "$$scratch/second.log"; \
	tail -n 14 "$$scratch/second.log"; \
	grep -q "Nothing to create" "$$scratch/second.log" \
		|| { echo "seed_demo is not idempotent: its second run created rows." >&2; exit 1; }

schema-check: venv ## Generate the OpenAPI schema and fail on any error or warning
	$(MANAGE) spectacular --validate --fail-on-warn --file /dev/null

fuzz: venv ## schemathesis on a live server (gunicorn, scratch database with the demo data, fixed seed)
	$(PY) scripts/fuzz_api.py

ci: lint migrations-check schema-check test test-rq smoke fuzz ## What .ci/run runs after its setup: lint, migrations and schema checks, tests (and on Redis), seed smoke test, API fuzzing

bench: venv ## Benchmark on PostgreSQL: pgbench TPC-B, then pack/ship/order intake over HTTP (bench/README.md; needs wrk)
	$(PY) bench/run.py $(BENCH_ARGS)

clean: ## Remove caches (keeps .venv and db.sqlite3)
	rm -rf .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
