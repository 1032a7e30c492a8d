# Two entry points for a fresh machine: `make run` (the main job) and `make test`.
# Each creates .venv when missing and installs nntk into it first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out

.PHONY: run test setup clean

$(BIN)/nntk: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU wheel of 2.13.0 lies on disk on our machines,
	# and an unpinned torch requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/nntk

setup: $(BIN)/nntk

run: setup
	$(BIN)/nntk run examples/paper.nntk --out $(OUT)/paper
	@echo "results.json and the figures are in $(OUT)/paper/"

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf $(OUT) .pytest_cache
