# The README's two commands: `make run` and `make test`. Everything installs into .venv.
# The app logs each request itself (with its X-Request-ID), so uvicorn's access log is off;
# app.server's protocol answers what uvicorn's HTTP parser refuses as problems too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
FUZZ_EXAMPLES ?= 3000
FUZZ_SEEDS ?= 1,2,3
FUZZ_ARTICLES ?= 3000
FUZZ_RUN_SECONDS ?= 180

.PHONY: run test lint format install ingest migrate clean fuzz docs client

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Migrate the SQLite database (or DATABASE_URL), load seeds/, serve on HOST:PORT.
run: $(STAMP)
	$(BIN)/python scripts/ingest.py seeds
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --no-access-log \
		--http app.server:HttpToolsProtocol

ingest: $(STAMP)
	$(BIN)/python scripts/ingest.py $(or $(PATHS),seeds)

migrate: $(STAMP)
	$(BIN)/alembic upgrade head

## Lint, then the whole suite on SQLite and PostgreSQL.
test: lint
	$(BIN)/pytest

## The long schemathesis runs, both backends (figures in docs/reliability.md):
## in process, FUZZ_EXAMPLES per operation and mode, random seeds (fuzz-report.json);
## then `st run --checks all` through a real uvicorn over FUZZ_ARTICLES generated articles,
## FUZZ_RUN_SECONDS for each of FUZZ_SEEDS (outputs, server logs, summary in fuzz-server/).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_REPORT=fuzz-report.json \
	FUZZ_SEEDS=$(FUZZ_SEEDS) FUZZ_ARTICLES=$(FUZZ_ARTICLES) FUZZ_RUN_SECONDS=$(FUZZ_RUN_SECONDS) \
	FUZZ_SERVER_REPORT=fuzz-server $(BIN)/pytest -q tests/test_fuzz_api.py tests/test_fuzz_server.py
	cat fuzz-report.json fuzz-server/summary.json

## The README's settings table, printed from app/config.py Settings (tests/test_docs.py
## fails when the README's differs): paste it over the README's.
docs: $(STAMP)
	$(BIN)/python scripts/settings_table.py

## The TypeScript client's OpenAPI document and types, from the app as it is now
## (tests/test_typescript_client.py fails until they are regenerated and committed).
client: $(STAMP)
	$(BIN)/python scripts/openapi.py > clients/typescript/openapi.json
	cd clients/typescript && npm ci --no-audit --no-fund && npm run generate

lint: $(STAMP)
	$(BIN)/ruff format --check app scripts migrations tests
	$(BIN)/ruff check app scripts migrations tests
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format app scripts migrations tests
	$(BIN)/ruff check --fix app scripts migrations tests

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache fuzz-report.json fuzz-server .schemathesis
