# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# The CPU wheel of this exact version is the one we test against; an unpinned torch pulls a CUDA build.
TORCH  := torch==2.13.0

.PHONY: run test test-fast bench lint docs docs-serve clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-run
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[all,dev,docs]" "$(TORCH)"
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium unavailable: browser tests will skip"; }
	touch $@

run: $(VENV)/.installed-run
	$(PY) -m warpnet train --data digits --out runs/digits

test: $(VENV)/.installed-test
	$(PY) -m pytest -q -p no:cacheprovider

test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -q -m "not slow and not browser"

bench: $(VENV)/.installed-test
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/step_alternatives.py
	$(PY) benchmarks/optimizers.py
	$(PY) benchmarks/features.py
	$(PY) benchmarks/estimators.py
	@if [ -d ../shared/data/cifar10 ]; then $(PY) benchmarks/cifar10.py; fi
	$(PY) benchmarks/playground.py

# The documentation site, into site/: warnings (a broken link, a public name without a docstring)
# are errors.  It works offline: no fonts or scripts from a CDN.
docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --clean

docs-serve: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs serve

# ruff, then mypy with the settings of [tool.mypy] in pyproject.toml (tests/test_static_checks.py
# runs the same two inside `make test`).
lint: $(VENV)/.installed-test
	$(PY) -m ruff check src tests benchmarks examples
	$(PY) -m mypy

clean:
	rm -rf $(VENV) runs build dist site *.egg-info src/*.egg-info
