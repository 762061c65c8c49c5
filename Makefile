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

# After a change of pyproject.toml's dependencies: install its ranges without the old pins
# (which may now conflict), keeping what still satisfies them, and pin what the venv then holds;
# then `make test`, and commit both files once it is green.
constraints:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	{ sed -n '/^#/p' constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	touch $(STAMP)

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
