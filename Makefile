# The two commands of the README: `make run` and `make test`. Everything else is a helper of theirs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEPS   := pyproject.toml constraints.txt

.PHONY: run test unit bench-vcf bench

## run: create .venv, install, serve on http://127.0.0.1:8080 with the bundled knowledge and SQLite
## (EHR authentication off unless PGX_CDS_AUTH=jwt: a development server on loopback), and the
## console at http://127.0.0.1:8080/console/ without sign-in unless PGX_CDS_CONSOLE_AUTH is set
run: $(VENV)/.installed-run
	@mkdir -p var
	PGX_CDS_AUTH="$${PGX_CDS_AUTH-off}" \
	PGX_CDS_CONSOLE="$${PGX_CDS_CONSOLE-on}" \
	PGX_CDS_CONSOLE_AUTH="$${PGX_CDS_CONSOLE_AUTH-off}" \
	PGX_CDS_CORS_ORIGINS="$${PGX_CDS_CORS_ORIGINS-https://sandbox.cds-hooks.org}" \
		$(BIN)/pgx-cds serve --host 127.0.0.1 --port 8080

## test: create .venv, install the test extras, run linters, type checks, knowledge checks and pytest
## (the console's browser tests drive Debian's chromium, installed here when missing: docs/console.md)
test: $(VENV)/.installed-test
	@test -x /usr/bin/chromium || deploy/apt-install.sh make-test chromium \
		"run pytest without PGX_CDS_REQUIRE_BROWSER=1 to skip the console's browser tests"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pgx-cds knowledge check
	PGX_CDS_REQUIRE_FHIR=1 PGX_CDS_REQUIRE_REDIS=1 PGX_CDS_REQUIRE_POSTGRES=1 \
	PGX_CDS_REQUIRE_BROWSER=1 \
		deploy/hapi/with-hapi.sh deploy/redis/with-redis.sh deploy/postgres/with-postgres.sh $(BIN)/pytest

## unit: the unit tests alone, over all cores, in under a minute: no HAPI, Redis, PostgreSQL or
## browser, and none of the `slow` tests (real servers, sockets, subprocesses, fuzzing), which
## `make test` runs too (docs/testing.md). The schemathesis module is not even collected: building
## its cases takes seconds per worker. Property tests try a quarter of their examples here.
unit: $(VENV)/.installed-test
	PGX_CDS_QUICK_PROPERTIES=1 $(BIN)/pytest -q -m "not slow and not integration" -n auto \
		--ignore=tests/cds_hooks/test_schemathesis.py

## bench-vcf: time vcf2fhir on the example and a synthetic 5-million-record VCF (docs/benchmarks.md)
bench-vcf: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.vcf2fhir_speed --repeat 3

## bench: hook throughput and p50/p99 under gunicorn, with prefetch and with FHIR callbacks to HAPI,
## the in-process cost and a 5-minute soak, against issue #7's targets (docs/benchmarks.md; about
## 15 minutes). BENCH_ARGS="--quick" runs every step briefly (about 2 minutes with HAPI's start).
## Installs wrk and go (apt) and builds the open-loop generator first: benchmarks/load/install.sh.
## HAPI runs only for the FHIR step: an idle JVM beside the prefetch runs would take their CPU.
bench: $(VENV)/.installed-test
	benchmarks/load/install.sh
	$(BIN)/python -m benchmarks.hook_load --only sweep prefetch info inprocess soak $(BENCH_ARGS)
	deploy/hapi/with-hapi.sh $(BIN)/python -m benchmarks.hook_load --only fhir $(BENCH_ARGS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"

$(VENV)/.installed-run: $(DEPS) | $(VENV)/bin/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-test: $(DEPS) | $(VENV)/bin/python
	$(BIN)/pip install --quiet -c constraints.txt -e ".[test,postgres]"
	@touch $@ $(VENV)/.installed-run
