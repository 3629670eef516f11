# Two commands do all the set-up on a fresh machine (Python 3.11+ with venv):
#   make serve   install into .venv and start the service on http://127.0.0.1:8000
#   make test    install into .venv and run every check CI runs (ruff, mypy, pytest with the real model)
#
# torch is installed first, pinned, from TORCH_PIP_ARGS: plain PyPI's torch on Linux is a multi-gigabyte CUDA
# build. Where PyPI would give you that, use PyTorch's CPU index:
#   make serve TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu torch==2.13.0"

PYTHON ?= python3
VENV ?= .venv
TORCH_PIP_ARGS ?= torch==2.13.0
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

# The container harness (build, run, smoke, SIGTERM, restart); CI's .ci/run names it. Empty: none here.
CONTAINER_CHECK ?=

.PHONY: install serve test check lint typecheck pytest test-fast container-check browser clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH_PIP_ARGS)
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

serve: install
	$(BIN)/semsearch serve

test: check container-check

# Everything but the container: lint, types, every test (the real model and real servers included).
check: install lint typecheck pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install browser
	$(BIN)/pytest

# The search page's test drives Debian's chromium with Playwright (Playwright's own browser download does not
# work here): install it from apt if it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the search page test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Builds the Dockerfile unmodified with podman, runs it on a volume, smoke-tests it over HTTP, stops it with
# SIGTERM, starts it again on the same volume and checks the data survived. Fails (never skips) if it cannot.
container-check: install
	@test -n "$(CONTAINER_CHECK)" && test -f "$(CONTAINER_CHECK)" || { \
		echo "container-check: no container harness (CONTAINER_CHECK='$(CONTAINER_CHECK)'); set CONTAINER_CHECK to" \
			"its path, or run 'make check' for everything but the container" >&2; exit 1; }
	bash "$(CONTAINER_CHECK)" --smoke "$(BIN)/python tests/container/smoke.py smoke" \
		--after-restart "$(BIN)/python tests/container/smoke.py after-restart"

# The inner loop: unit tests only (fake embedder, no model, no server).
test-fast: install
	$(BIN)/pytest -m "not integration"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
