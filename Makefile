# Every target installs what it needs, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test clean

setup: $(STAMP)

# Reinstalls only when the project's install files change.
$(STAMP): pyproject.toml requirements/constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[test]'
	touch $(STAMP)

demo: setup
	$(BIN)/summarizer run examples/articles -o build/demo --show

test: setup
	$(BIN)/python -m pytest -ra

clean:
	rm -rf build .pytest_cache
