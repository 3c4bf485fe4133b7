# Everything a newcomer needs: `make demo` runs the main job, `make test` runs the tests.
# Both create the virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint format bench clean langgraph-setup langgraph-dev

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable ".[dev]"
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/nurture demo

test: setup lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Each script prints its figures against a floor measured in the same run; the PostgreSQL parts
# use NURTURE_BENCH_DATABASE_URL or NURTURE_TEST_DATABASE_URL and skip, saying why, without them.
bench: setup
	$(BIN)/python benchmarks/cli.py
	$(BIN)/python benchmarks/decide.py
	$(BIN)/python benchmarks/retrieval.py
	$(BIN)/python benchmarks/drafting.py
	$(BIN)/python benchmarks/api.py
	$(BIN)/python benchmarks/playbook_watch.py
	$(BIN)/python benchmarks/scale.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/preview.py

clean:
	rm -rf $(VENV) .nurture .pytest_cache .ruff_cache .mypy_cache .hypothesis

# LangGraph Server (langgraph dev) in a venv of its own: see the langgraph-server extra.
LANGGRAPH_VENV ?= .venv-langgraph

$(LANGGRAPH_VENV)/bin/langgraph: pyproject.toml
	$(PYTHON) -m venv $(LANGGRAPH_VENV)
	$(LANGGRAPH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LANGGRAPH_VENV)/bin/python -m pip install --quiet --editable ".[langgraph-server]"

langgraph-setup: $(LANGGRAPH_VENV)/bin/langgraph

# Loopback only: callers need a project API key (agent/server_auth.py, the "auth" entry in
# langgraph.json), sent in clear over plain HTTP; only marketer and admin keys may answer drafts.
langgraph-dev: langgraph-setup
	$(LANGGRAPH_VENV)/bin/langgraph dev --no-browser --host 127.0.0.1 --port 2024
