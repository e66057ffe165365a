# Two commands for a fresh clone: `make run` (set up, serve the dashboard, build the demo
# catalog, its embeddings and the default run in the background if missing) and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
PORT ?= 8501

.PHONY: run test test-fast setup catalog browser lock gpu fmt lint

$(PY):
	$(PYTHON) -m venv $(VENV)

# musicnn's wheel carries the pretrained checkpoints Hitlens runs; its metadata pins
# numpy<1.17 (it predates numpy 2), so it is installed on its own without dependencies.
# Hitlens reads its checkpoints and tag lists, never its TensorFlow 1 code.
MUSICNN := musicnn==0.1.0

# Reinstall only when requirements.txt, pyproject.toml (or the musicnn pin) changed since the
# last install. Hitlens itself goes in editable and without dependencies (requirements.txt
# has them all), which puts the `hitlens` command on the virtualenv's PATH. Then librosa's
# numba kernels are compiled into its on-disk cache by one process, before any two processes
# could fill that cache at once (core/audio/warmup.py says why that matters).
$(INSTALLED): requirements.txt pyproject.toml Makefile | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps $(MUSICNN)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m core.audio.warmup
	cp requirements.txt $(INSTALLED)

setup: $(INSTALLED)

# requirements.txt is the lock of pyproject.toml's dependencies, all extras (test, bench)
# included, pinned exactly. After editing pyproject.toml, `make lock` regenerates it with
# pip-tools: pins that still satisfy the ranges are kept (no --upgrade), and index and
# find-links options stay out of the file. pip-tools is installed on first use; it is a tool
# for this target only, not a dependency of Hitlens.
PIP_TOOLS := pip-tools==7.6.2

lock: | $(PY)
	@test -x $(VENV)/bin/pip-compile || $(PY) -m pip install --quiet $(PIP_TOOLS)
	$(VENV)/bin/pip-compile --all-extras --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file=requirements.txt pyproject.toml
	$(VENV)/bin/pip-compile --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file=requirements-gpu.txt requirements-gpu.in

# On a machine with an NVIDIA GPU (and its driver): TensorFlow's CUDA build in place of the CPU
# one, the same version, with every CUDA library pinned (requirements-gpu.txt, from
# requirements-gpu.in). Training then runs on the GPU, and `train` names it; scoring stays on
# LiteRT on the CPU. Run it again after any `make setup` that reinstalled requirements.txt.
gpu: setup
	$(PY) -m pip uninstall --quiet --yes tensorflow-cpu
	$(PY) -m pip install --quiet -r requirements-gpu.txt

# The same set-up in the foreground, with progress bars in the terminal.
catalog: setup
	$(PY) -m core setup

# The dashboard starts within seconds; a missing demo catalog, its spectrograms or the default
# run are built by a background job whose progress every page shows. ui.server is
# `streamlit run app.py` after compiling librosa's beat tracker, which the first explanation
# would otherwise wait for.
run: setup
	$(PY) -m core setup --detach
	$(PY) -m ui.server --server.headless true --server.address localhost \
		--server.port $(PORT) --browser.gatherUsageStats false

# The browser test drives Debian's Chromium (Playwright cannot download browsers here);
# the emoji font makes page icons render in screenshots.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; }

# Formats the tree and applies ruff's safe fixes.
fmt: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# What `make test` checks before the tests: ruff's rules, the formatting, mypy's types.
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: setup browser lint
	$(PY) -m pytest

# The inner loop: the tests that need no demo catalog, trained run or browser (pytest.ini's
# markers), after the same lint. CI runs everything (`make test`).
test-fast: setup lint
	$(PY) -m pytest -m "not slow and not browser"
