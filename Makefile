# Two commands: `make serve` runs bazgasht on its embedded default, `make test` runs every test.
VENV ?= .venv
PYTHON ?= python3
PORT ?= 8000
# Test processes (pytest-xdist), each with its own databases and Redis db: one more than the
# cores, since a test often waits on a subprocess, the browser or loopback HTTP (measured on 2
# cores: 2 processes 2:46, 3 processes 2:30, 4 processes 2:41), at most 12.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); n=$$((n + 1)); [ $$n -gt 12 ] && n=12; echo $$n)

.PHONY: serve test bench plugin lock audit
# Exact versions with their hashes (pip-compile): CI and every checkout install the same set.
LOCK_FLAGS = -q --generate-hashes --strip-extras --allow-unsafe --no-emit-find-links \
	--no-emit-index-url --no-emit-trusted-host

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

# Everything, test tools included (pytest, Playwright, Schemathesis): `make test`, `make bench`.
# The locked set first (every file checked against its hash), then bazgasht itself on top.
$(VENV)/.installed: pyproject.toml requirements-dev.lock | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

# What serving needs, nothing more.
$(VENV)/.installed-serve: pyproject.toml requirements.lock | $(VENV)/bin/python
	$(VENV)/bin/pip install -q --require-hashes -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

# After changing the dependencies in pyproject.toml: the same versions where they still fit.
# `make lock UPGRADE=--upgrade` moves everything to the newest allowed (then run `make test`).
lock: $(VENV)/.installed
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) $(UPGRADE) -o requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile $(LOCK_FLAGS) $(UPGRADE) --extra dev -o requirements-dev.lock pyproject.toml

# Known vulnerabilities (the PyPA advisory database, through PyPI's JSON API) in every locked
# version. --strict: a package that could not be looked up fails too, never a silent pass.
audit: $(VENV)/.installed
	$(VENV)/bin/pip-audit -r requirements-dev.lock --no-deps --disable-pip --strict \
		--vulnerability-service pypi --progress-spinner off

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
	-$(VENV)/bin/python bench/enroll.py
	-$(VENV)/bin/python bench/broadcast.py
	-$(VENV)/bin/python bench/tick.py
	-$(VENV)/bin/python bench/send.py
	-$(VENV)/bin/python bench/drain.py
	-$(VENV)/bin/python bench/drain.py --faults
	-$(VENV)/bin/python bench/redirect.py
	-$(VENV)/bin/python bench/reports.py
	-$(VENV)/bin/python bench/dashboard.py
	-$(VENV)/bin/python bench/segments.py
