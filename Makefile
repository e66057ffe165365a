# Two commands for a fresh clone: `make run` (set up, serve the dashboard, build the demo
# catalog and the default run in the background if missing) and `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
PORT ?= 8501

.PHONY: run test setup catalog browser

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt changed since the last install.
$(INSTALLED): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
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
