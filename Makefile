# Two commands for a fresh clone: `make run` (set up, serve the dashboard, build the demo
# catalog, its embeddings and the default run in the background if missing) and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
PORT ?= 8501

.PHONY: run test setup catalog browser

$(PY):
	$(PYTHON) -m venv $(VENV)

# musicnn's wheel carries the pretrained checkpoints Hitlens runs; its metadata pins
# numpy<1.17 (it predates numpy 2), so it is installed on its own without dependencies.
# Hitlens reads its checkpoints and tag lists, never its TensorFlow 1 code.
MUSICNN := musicnn==0.1.0

# Reinstall only when requirements.txt (or the musicnn pin) changed since the last install.
$(INSTALLED): requirements.txt Makefile | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps $(MUSICNN)
	cp requirements.txt $(INSTALLED)

setup: $(INSTALLED)

# The same set-up in the foreground, with progress bars in the terminal.
catalog: setup
	$(PY) -m core setup

# The dashboard starts at once; a missing demo catalog, its spectrograms or the default run
# are built by a background job whose progress every page shows.
run: setup
	$(PY) -m core setup --detach
	$(PY) -m streamlit run app.py --server.headless true --server.address localhost \
		--server.port $(PORT) --browser.gatherUsageStats false

# The browser test drives Debian's Chromium (Playwright cannot download browsers here);
# the emoji font makes page icons render in screenshots.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; }

test: setup browser
	$(PY) -m pytest
