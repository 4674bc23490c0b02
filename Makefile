# Folkeverksted: `make run` to try it, `make test` to check it. Needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app makerspace
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test lint translations compile-translations bench bench-http clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Folkeverksted needs Python 3.11 or newer (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

compile-translations: $(MO_FILES)

run: $(VENV)/.installed compile-translations
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	$(FLASK) run --host 127.0.0.1 --port 5000

# The test suite also parses feeds with Mozilla's ical.js and checks pages with axe-core (Node
# packages in tests/js); without npm those tests skip.
NPM := $(shell command -v npm 2>/dev/null)
JS_DEPS := $(if $(NPM),tests/js/node_modules/.installed)

tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

test: $(VENV)/.installed-test compile-translations $(JS_DEPS)
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Extract strings, merge them into every catalog (no fuzzy guesses), compile.
translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project Folkeverksted -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching \
		--ignore-obsolete
	$(MAKE) compile-translations

# bench/throughput.py (gunicorn + wrk, about 10 minutes) has a target of its own, and
# bench/ceiling_app.py is the app it measures against, not a benchmark.
bench: $(VENV)/.installed-test
	@for script in bench/*.py; do [ -e "$$script" ] || continue; \
		case "$$script" in bench/throughput.py|bench/ceiling_app.py) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script; done

# HTTP throughput under gunicorn next to a bare Flask ceiling (wrk, SQLite and PostgreSQL);
# BENCH_ONLY, BENCH_DATABASES, BENCH_SECONDS, BENCH_LARGE=0: see the script's docstring.
bench-http: $(VENV)/.installed-test compile-translations
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find translations -name '*.mo' -delete
