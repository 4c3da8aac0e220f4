# The README's commands. `make help` lists them.
# Everything runs in a virtual environment (.venv): Debian's own python3 refuses `pip install`
# outside one (PEP 668, externally-managed-environment). PY is the Python that builds it.
PY ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
# Made once the project and its dev tools are installed; pyproject.toml (or this file) changing
# redoes it.
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup engine venv demo demo-exec test lint screenshots bench

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

engine: ## install and start the Docker engine and the tools tests need (Debian, root)
	PY=$(PY) scripts/setup-engine.sh

$(VPY):
	@# A venv made without ensurepip (Debian's python3 without python3-venv) has no pip and
	@# would be taken as made; remove it so that the next run tries again.
	$(PY) -m venv $(VENV) || { rm -rf $(VENV); echo "make: $(PY) -m venv failed; on Debian: apt-get install python3-venv" >&2; exit 1; }

# compat: a plain path in a .pth file. The default editable mode installs an import finder
# that every start of cdebug-tui pays for (12 ms of `cdebug-tui exec`'s time to a prompt).
$(INSTALLED): pyproject.toml Makefile | $(VPY)
	$(VPY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $@

venv: $(INSTALLED) ## make .venv and install cdebug-tui with its dev tools into it

setup: engine venv ## engine, then the venv

demo: setup ## open the app on a shell-less demo target (made when none runs)
	$(VENV)/bin/cdebug-tui demo

demo-exec: setup ## the same without the TUI: cdebug-tui exec -it on the demo target
	$(VENV)/bin/cdebug-tui demo --exec

test: setup ## run every test against the real engine (PYTEST_ARGS=tests/unit for a part)
	$(VPY) -m pytest -q $(PYTEST_ARGS)

lint: venv ## ruff format, ruff check, mypy
	$(VPY) -m ruff format --check .
	$(VPY) -m ruff check .
	$(VPY) -m mypy

screenshots: setup ## regenerate screenshots/ from the real app on demo containers
	$(VPY) scripts/screenshots.py
	$(VPY) scripts/screenshot_logs.py
	$(VPY) scripts/screenshot_internals.py

bench: setup ## run the benchmarks
	$(VPY) benchmarks/time_to_shell.py
	$(VPY) benchmarks/faults.py
	$(VPY) benchmarks/terminal.py
	$(VPY) benchmarks/tui.py
	$(VPY) benchmarks/load.py
	$(VPY) benchmarks/logs.py
	$(VPY) benchmarks/explorer.py
