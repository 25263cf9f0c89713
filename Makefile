# Two commands: `make serve` runs bazgasht on its embedded default, `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
PORT ?= 8000
# Test processes (pytest-xdist), each with its own databases and Redis db: one more than the
# cores, since a test often waits on a subprocess, the browser or loopback HTTP (measured on 2
# cores: 2 processes 2:46, 3 processes 2:30, 4 processes 2:41), at most 12.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); n=$$((n + 1)); [ $$n -gt 12 ] && n=12; echo $$n)

.PHONY: serve test bench plugin

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

# Everything, test tools included (pytest, Playwright, Schemathesis): `make test`, `make bench`.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# What serving needs, nothing more.
$(VENV)/.installed-serve: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e .
	touch $@

serve: $(VENV)/.installed-serve
	$(VENV)/bin/bazgasht serve --port $(PORT)

test: $(VENV)/.installed
	$(VENV)/bin/pytest -n $(JOBS)

# The companion WordPress plugin's installable zip: dist/bazgasht-<version>.zip.
plugin: $(VENV)/.installed-serve
	$(VENV)/bin/bazgasht plugin-zip --out dist

# Needs PostgreSQL, Redis and wrk (apt-get install wrk); several minutes. Each script exits 1
# when its target is missed, so run them all and report.
bench: $(VENV)/.installed
	-$(VENV)/bin/python bench/ingest.py
	-$(VENV)/bin/python bench/tick.py
	-$(VENV)/bin/python bench/send.py
	-$(VENV)/bin/python bench/redirect.py
	-$(VENV)/bin/python bench/reports.py
	-$(VENV)/bin/python bench/dashboard.py
