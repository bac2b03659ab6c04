# The two commands of the README: `make train` and `make test`. Each sets itself up: it creates a
# virtual environment in .venv and installs the project into it (editable) the first time, and
# again whenever pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: train test bench demo info clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "fastperceptron needs Python >= 3.10: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,plot]'
	@touch $(STAMP)

## train: 10,000 perceptrons on the tutorial's data with the best backend here
train: $(STAMP)
	$(BIN)/fastperceptron train

## test: the whole test suite (also what CI runs, through .ci/run)
test: $(STAMP)
	$(BIN)/python -m pytest

## bench: the pytest-benchmark cases (bench/), then the side-by-side table
bench: $(STAMP)
	$(BIN)/python -m pytest bench --benchmark-only --benchmark-columns=min,median,max,rounds

demo: $(STAMP)
	$(BIN)/fastperceptron demo

info: $(STAMP)
	$(BIN)/fastperceptron info

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .benchmarks
