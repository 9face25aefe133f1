# One command sets up and runs each job on a fresh machine (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= output
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
LINTED := dah_outcomes tests benchmarks tools
# the kernel every notebook declares (tests/test_notebooks.py and tools/execute_notebooks.py run it)
KERNEL := $(BIN)/python -m ipykernel install --sys-prefix --name dah-outcomes \
          --display-name "Python (dah-outcomes)" >/dev/null
LAB_STAMP := $(VENV)/.lab-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: venv demo test lint bench lab notebooks clean browser r sas7bdat-fixture

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,notebooks,formats]"
	$(KERNEL)
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## demo: generate the default cohort, reproduce the cited figures, write tables and figures
demo: venv
	$(BIN)/dah-outcomes demo --out $(OUT)

## browser: Debian's Chromium for the report's browser test (skipped where it cannot install)
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium not installed: the browser test will be skipped"; }

## test: lint, types, then the whole suite (doctests, docstrings, notebooks included)
test: venv browser lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

## lint: ruff (rules and formatting) and mypy on the package
lint: venv
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

## r: Debian's R and its survival package, the reference the Cox benchmarks time and compare
## against (CRAN is not needed; skipped where it cannot install)
r:
	@{ command -v Rscript >/dev/null 2>&1 && Rscript -e 'library(survival)' >/dev/null 2>&1; } || \
	  { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	    (apt-get update -qq && apt-get install -y -qq r-base-core r-cran-survival >/dev/null) \
	    || echo "R not installed: the benchmarks will leave R out"; }

## bench: every benchmark in benchmarks/ (R beside us where it is installed)
bench: venv r
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run_all.py

## sas7bdat-fixture: rewrite the .sas7bdat import fixture with ReadStat's writer (needs gcc, zlib, PyPI)
sas7bdat-fixture: venv
	$(BIN)/python tests/io/fixtures/make_sas7bdat.py

## lab: JupyterLab on the notebooks, installing only what they need (the notebooks extra)
$(LAB_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	$(KERNEL)
	rm -f $(VENV)/.lab-* && touch $@

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab notebooks/

## notebooks: execute every notebook in place, two at a time, and store its outputs (the
## outputs tests/test_notebooks.py compares a fresh run with); then commit notebooks/
notebooks: venv
	$(KERNEL)
	$(BIN)/python -m tools.execute_notebooks --jobs 2

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache
