# The README's commands. `make help` lists them.
PY ?= python3
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup engine demo demo-exec test lint screenshots bench

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

engine: ## install and start the Docker engine and the tools tests need (Debian, root)
	scripts/setup-engine.sh

setup: engine ## engine, then install cdebug-tui with its dev tools
	$(PY) -m pip install -q -e '.[dev]'

demo: setup ## open the app on a shell-less demo target (made when none runs)
	cdebug-tui demo

demo-exec: setup ## the same without the TUI: cdebug-tui exec -it on the demo target
	cdebug-tui demo --exec

test: setup ## run every test against the real engine
	$(PY) -m pytest -q

lint: ## ruff format, ruff check, mypy
	ruff format --check .
	ruff check .
	mypy

screenshots: setup ## regenerate screenshots/ from the real app on demo containers
	$(PY) scripts/screenshots.py

bench: setup ## run the benchmarks
	$(PY) benchmarks/time_to_shell.py
	$(PY) benchmarks/faults.py
	$(PY) benchmarks/terminal.py
	$(PY) benchmarks/tui.py
	$(PY) benchmarks/load.py
	$(PY) benchmarks/explorer.py
