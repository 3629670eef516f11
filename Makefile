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

.PHONY: install serve test check lint typecheck pytest test-fast container-check browser clean

# `make serve` installs what the service needs; `make install` (and so `make test`) adds the tests' tools and
# every extra (Ray, OpenVINO, OCR, the RAG frameworks), which serving does not need (README: the sizes).
install: $(VENV)/.installed

$(VENV)/.service: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "semsearch needs Python 3.11 or newer, and $(PYTHON) is " + sys.version.split()[0] + ": name another with make $(MAKECMDGOALS) PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH_PIP_ARGS)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed: $(VENV)/.service
	$(BIN)/pip install --quiet -e '.[dev,ray,openvino,ocr]'
	touch $@

serve: $(VENV)/.service
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

# The search page's test drives Chromium: Playwright's own (`.venv/bin/playwright install chromium`) or the
# system's. Without either, installs one (Playwright's download; as root, apt-get install chromium), else
# says what to install, before the tests run.
browser: install
	@$(BIN)/python -m tests.integration.browser --install

# Builds the Dockerfile unmodified with docker or podman (CONTAINER_ENGINE picks one; CONTAINER_BUILD_ARGS adds
# build arguments), runs it on a new volume, smoke-tests it over HTTP, stops it with SIGTERM, starts a new
# container on the same volume and checks the data survived. Fails (never skips) without an engine.
container-check: install
	$(BIN)/pytest -m container tests/container

# The inner loop: unit tests only (fake embedder, no model, no server).
test-fast: install
	$(BIN)/pytest -m "not integration and not container"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
