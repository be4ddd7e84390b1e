# ODR — `make run` starts the app with demo data, `make test` runs the tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
# One test process per core (pytest-xdist); `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= auto
APP_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
TEST_PACKAGES := chromium poppler-utils

# Every dependency, runtime and dev, pinned with its hashes; `make lock` writes it again.
LOCK := requirements.lock
LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.6.2

.PHONY: run serve test screenshots lifecycle bench lint format translations translations-update system-packages test-packages venv worker lock audit

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check || { echo "$(LOCK) lacks what pyproject.toml asks for: run make lock"; exit 1; }
	touch $@

venv: $(VENV)/.installed

# Pins from pyproject.toml, resolved on the package index alone (no local wheel folders), in a
# venv of their own so that a lock that no longer installs can still be written again. Extras stay
# in the pins (`fonttools[woff]==...`): pip 23 in hash mode takes a dependency asked for with an
# extra as unpinned, and picks the index's newest release instead of the locked one.
lock:
	test -x $(LOCK_VENV)/bin/python || python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet $(PIP_TOOLS)
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(LOCK_VENV)/bin/pip-compile --quiet \
	  --generate-hashes --allow-unsafe --extra dev \
	  --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

# Known vulnerabilities in the pins; skipped, saying why, where no vulnerability database answers.
audit: venv
	VENV=$(VENV) LOCK=$(LOCK) .ci/audit

# Debian packages, installed only when missing.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

system-packages:
	$(call apt_install,$(APP_PACKAGES))

test-packages: system-packages
	$(call apt_install,$(TEST_PACKAGES))

translations: venv
	$(VENV)/bin/pybabel compile -d locales -f --statistics 2>&1 | grep -v '^compiling' || true

translations-update: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o locales/messages.pot .
	$(VENV)/bin/pybabel update -i locales/messages.pot -d locales --no-fuzzy-matching --ignore-obsolete

run: system-packages venv translations
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) odr seed-demo
	@echo "ODR on http://127.0.0.1:5000, a worker beside it, e-mail printed here; Ctrl-C stops all."
	@trap 'kill 0' EXIT INT TERM; \
	$(VENV)/bin/aiosmtpd -n -l 127.0.0.1:1025 & \
	$(FLASK) odr worker & \
	$(FLASK) run --host 127.0.0.1 --port 5000

# The production shape on this machine (odr/serve.py): gunicorn on 127.0.0.1:8000 (ODR_PORT),
# a Huey worker, PostgreSQL, Redis and moto's S3 server, each started if it is not running.
serve: system-packages venv translations
	$(PY) -m odr.serve

worker: venv
	$(FLASK) odr worker

test: test-packages venv translations
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The lifecycle page, written from workflows/ (a test fails when it is out of date).
lifecycle: venv
	$(FLASK) odr workflows draw --output docs/lifecycle.md

# The pictures in docs/screenshots/, taken from the app as it runs (README, "What it looks like").
screenshots: test-packages venv translations
	$(PY) docs/screenshots/take.py

# Benchmarks (minutes, not part of the tests); they rewrite their sections of docs/benchmarks.md.
bench: system-packages venv translations
	$(PY) -m bench.sweep --write
	$(PY) -m bench.caseload --write
	$(PY) -m bench.documents --write
	$(PY) -m bench.pdf_inspection --write
	$(PY) -m bench.serve --write
	$(PY) -m bench.lodging --write
	$(PY) -m bench.hosts --write
	$(PY) -m bench.memory --write

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

