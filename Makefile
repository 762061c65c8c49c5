# Thin targets; the logic lives in Python (the koubei CLI, bench/).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean es-start es-stop constraints

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Pin what the venv holds now (after a dependency change and a green `make test`).
constraints: setup
	{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

demo: setup
	$(VENV)/bin/koubei demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy koubei bench

bench: setup
	$(PY) -m bench

es-start: setup
	$(VENV)/bin/koubei es start

es-stop: setup
	$(VENV)/bin/koubei es stop

clean:
	rm -rf var build *.egg-info .pytest_cache .mypy_cache .ruff_cache
