# tinyhelen — every target sets itself up: the first call creates .venv and installs the package.
#
#   make reproduce   the main job on the embedded sample (CPU, minutes)
#   make cpu         the CPU profile: TinyHelen's claims at llama-2K-1M (needs the 10M train split; ~2-3 h on 2 cores)
#   make test        notebooks (nbdev_test) + pytest: what CI runs
#   make lab         JupyterLab on nbs/ with the package installed in editable mode
#   make docs        the docs site, built offline into docs/_build/html
#
# Torch: TORCH_SPEC picks the wheel. The default takes PyPI's build (CUDA on Linux x86-64, or the
# CPU wheel cached on the lab machines). CPU-only elsewhere:
#   make test TORCH_INDEX="--index-url https://download.pytorch.org/whl/cpu"

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
JOBS ?= 2

.PHONY: help install reproduce cpu test test-nbs test-py test-slow export check-export lab docs docs-exec clean-nbs clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

$(STAMP): settings.ini setup.py requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@start=$$(date +%s); \
	$(BIN)/python -m pip install -q --upgrade pip && \
	$(BIN)/python -m pip install -q $(TORCH_INDEX) "$(TORCH_SPEC)" && \
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e ".[dev]" && \
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null && \
	echo "install: $$(( $$(date +%s) - start )) s" && touch $@

install: $(STAMP)  ## create .venv and install tinyhelen with its dependencies

reproduce: $(STAMP)  ## the main job: data report + every experiment at smoke size (CPU) -> figures/smoke/RESULTS.md, runs/
	$(BIN)/tinyhelen data stats --out figures
	$(BIN)/tinyhelen sweep run sweeps/smoke.yaml; status=$$?; \
	$(BIN)/tinyhelen sweep summary sweeps/smoke.yaml --out figures/smoke && exit $$status

cpu: $(STAMP)  ## the CPU profile (TINYHELEN_DATA=DIR with the 10M train split): sweeps/cpu.yaml -> figures/cpu/, nbs/results/cpu.ipynb
	@test -n "$$TINYHELEN_DATA" || { echo "make cpu: needs the full data (the 10M train split). Get it with"\
	  "'.venv/bin/tinyhelen data download --data-root DIR', then run: TINYHELEN_DATA=DIR make cpu" >&2; exit 2; }
	$(BIN)/tinyhelen sweep run sweeps/cpu.yaml
	$(BIN)/python -m papermill nbs/results/cpu.ipynb nbs/results/cpu.ipynb --cwd nbs/results --log-level ERROR

export: $(STAMP)  ## notebooks -> tinyhelen/ (nbdev_export)
	$(BIN)/nbdev_export

check-export: $(STAMP)  ## fail if tinyhelen/ differs from what nbs/ export
	@sums() { find tinyhelen -name '*.py' -not -path '*/__pycache__/*' | sort | xargs sha1sum; }; \
	before=$$(sums); $(BIN)/nbdev_export && after=$$(sums); \
	[ "$$before" = "$$after" ] || { echo "tinyhelen/ was out of sync with nbs/ (now re-exported): review and commit it"; diff <(echo "$$before") <(echo "$$after"); exit 1; }

test-nbs: $(STAMP)  ## run every notebook's test cells
	$(BIN)/nbdev_test --n_workers $(JOBS) --do_print

test-py: $(STAMP)  ## pytest (tests/)
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS) tests

test: check-export test-nbs test-py  ## everything CI runs

test-slow: $(STAMP)  ## also the notebook cells flagged slow
	$(BIN)/nbdev_test --n_workers $(JOBS) --flags slow --do_print
	$(BIN)/python -m pytest -n $(JOBS) --runslow tests

lab: $(STAMP)  ## JupyterLab on nbs/ (works as root and offline)
	$(BIN)/jupyter lab --notebook-dir nbs --no-browser --ip 127.0.0.1 $(if $(filter 0,$(shell id -u)),--allow-root,)

docs: $(STAMP)  ## build the docs site offline into docs/_build/html (runs the module notebooks; open index.html)
	$(BIN)/python docs/build.py

docs-exec: $(STAMP)  ## the same, executing the experiment notebooks too (slow: they train models)
	$(BIN)/python docs/build.py --execute all

clean-nbs: $(STAMP)  ## strip outputs/metadata from notebooks before committing
	$(BIN)/nbdev_clean

clean:  ## remove the virtualenv and build outputs
	rm -rf $(VENV) build dist *.egg-info _proc docs/_build

gpu-check: $(STAMP)  ## on one GPU (≤10 min): our loop vs HF Trainer tokens/s and MFU, a short 03 and 08 -> bench/GPU_RESULTS.md
	$(BIN)/python bench/gpu_check.py
