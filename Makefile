# The two commands of the README: `make train` and `make test`. Each sets itself up: it creates a
# virtual environment in .venv and installs the project into it (editable) the first time, and
# again whenever pyproject.toml changes: `train` only what training needs (numpy, Numba, tqdm,
# threadpoolctl), `test` the test and plot extras on top.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORE   := $(VENV)/.installed-core
EXTRAS := $(VENV)/.installed-test
# setuptools' editable install prints a banner ("be careful with folders ... of your package"), a
# UserWarning; the wheel's own build is checked for real packaging warnings in tests/test_packaging.py
INSTALL := PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install --quiet

.PHONY: train test mutants bench demo info clean

$(CORE): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "fastperceptron needs Python >= 3.10: run make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(INSTALL) -e .
	@touch $(CORE)

$(EXTRAS): $(CORE)
	$(INSTALL) -e '.[test,plot]'
	@touch $(EXTRAS)

## train: 10,000 perceptrons on the tutorial's data with the best backend here
train: $(CORE)
	$(BIN)/fastperceptron train

## test: the whole test suite and the README's examples (also what CI runs, through .ci/run), on
## every core (pytest-xdist; a file's tests stay together: the README's blocks run in order)
test: $(EXTRAS)
	$(BIN)/python -m pytest -n auto --dist loadfile

## mutants: mutation testing of the plain layers with mutmut ([tool.mutmut] in pyproject.toml): each
## small wrong change to the numpy reference, the groups layout, the solvers and the argument checks
## must fail a test; then bench/MUTANTS.md lists every mutant no test killed, with why (`mutmut show NAME`).
## mutmut forks a worker per mutant from a process that has run the tests, and GNU OpenMP kills a
## forked child that uses it (SIGTERM): Numba's fork-safe workqueue threading layer instead.
mutants: $(EXTRAS)
	$(INSTALL) -e '.[test,plot,mutation]'
	NUMBA_THREADING_LAYER=workqueue $(BIN)/mutmut run
	$(BIN)/python bench/mutants_report.py

## bench: the pytest-benchmark cases (bench/), then the side-by-side table
bench: $(EXTRAS)
	$(BIN)/python -m pytest bench --benchmark-only --benchmark-columns=min,median,max,rounds

demo: $(CORE)
	$(BIN)/fastperceptron demo

info: $(CORE)
	$(BIN)/fastperceptron info

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .benchmarks mutants
