# Two commands on a fresh machine: `make run` and `make test`. Everything they need is installed here.
VENV   ?= .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install run test lint fmt typecheck chromium test-sqlite test-postgres screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)  ## The venv, and isao's bytecode (written even under PYTHONDONTWRITEBYTECODE: it halves start-up)
	@$(VENV)/bin/python -m compileall -q isao

run: install  ## Serve ISAO on SQLite with a demo company, a fresh API key and the provider sandboxes
	$(VENV)/bin/isao serve --demo --sandboxes

test: install lint typecheck chromium  ## Lint, type-check, then the whole suite on SQLite and PostgreSQL
	VENV=$(VENV) scripts/test.sh

lint: install
	$(VENV)/bin/ruff check isao tests bench
	$(VENV)/bin/ruff format --check isao tests bench

fmt: install
	$(VENV)/bin/ruff format isao tests bench
	$(VENV)/bin/ruff check --fix isao tests bench

typecheck: install
	$(VENV)/bin/mypy isao tests bench

chromium:  ## Debian's Chromium, which the browser tests drive
	scripts/chromium.sh

screenshots: install chromium  ## Run the browser tests and keep their screenshots in docs/screenshots
	ISAO_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q tests/browser

test-sqlite: install chromium
	VENV=$(VENV) scripts/test.sh sqlite

test-postgres: install
	VENV=$(VENV) scripts/test.sh postgres

bench: install  ## API throughput; results go to docs/benchmarks.md
	$(VENV)/bin/python bench/api.py

clean:
	rm -rf $(VENV) .isao .pytest_cache .mypy_cache .ruff_cache
