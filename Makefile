# Two commands for a fresh clone: `make run` (set up, build the demo catalog and train the
# default run if missing, serve the dashboard) and `make test` (set up, run the tests).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed-requirements
PORT ?= 8501

.PHONY: run test setup catalog

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when requirements.txt changed since the last install.
$(INSTALLED): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	cp requirements.txt $(INSTALLED)

setup: $(INSTALLED)

catalog: setup
	$(PY) -m core demo --if-missing
	$(PY) -m core features
	$(PY) -m core train --if-missing

run: catalog
	$(PY) -m streamlit run app.py --server.headless true --server.address localhost \
		--server.port $(PORT) --browser.gatherUsageStats false

test: setup
	$(PY) -m pytest
