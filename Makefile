# Tongxin: `make run` serves the portal with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
# Pin a Django series for a run, e.g. DJANGO="Django>=6.1,<6.2" (used by CI on Python 3.13).
DJANGO ?=
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
# The address people open: every absolute link (QR codes, messages and emails,
# calendar feeds) starts with it. `make run HOST=192.168.1.20:8080` gives
# http://192.168.1.20:8080; a HOST that binds every interface needs it spelled out:
# make run HOST=0.0.0.0:8080 PUBLIC_BASE_URL=http://192.168.1.20:8080
PUBLIC_BASE_URL ?= http://$(HOST)

.PHONY: run test install lint demo-seed messages clean loadtest loadtest-faults

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' $(if $(DJANGO),'$(DJANGO)')
	touch $@

install: $(VENV)/.installed

run: export PUBLIC_BASE_URL := $(PUBLIC_BASE_URL)
run: install
	@case "$$PUBLIC_BASE_URL" in http://0.0.0.0*|http://0:*|http://\[::\]*) \
	  echo "HOST=$(HOST) listens on every interface: add PUBLIC_BASE_URL=http://<this machine's address>:<port>" >&2; exit 2;; esac
	@echo "Links and QR codes point to $$PUBLIC_BASE_URL"
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	# The background worker publishes scheduled pages and sends reminders on time.
	$(BIN)/python manage.py db_worker --backend scheduled --interval 5 & \
	trap 'kill $$!' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

demo-seed: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo --scale seed

# Load test (loadtest/run.py): gunicorn with production settings on a seed-scale
# PostgreSQL database (built on the first run, several minutes), wrk on single URLs,
# then Locust journeys; results in bench/results/loadtest.txt. Pass LOADTEST_TIME,
# LOADTEST_USERS, LOADTEST_DATABASE_URL, … on the command line or in the environment.
loadtest: install
	$(BIN)/pip install -q -e '.[dev,load]'
	$(BIN)/python loadtest/run.py

# Fault test (loadtest/faults.py): two gunicorn instances and 2 + 2 db_workers on one
# database and one Redis under the Locust journeys for FAULTS_TIME seconds (300), while
# workers, a whole instance, Redis and PostgreSQL are killed or restarted; then
# loadtest/check.py checks the invariants. Runs on a PostgreSQL cluster (15/faults, port
# 5433) and a Redis (6380) of its own, made when missing and stopped at the end; needs
# root, and the seed database of `make loadtest` to copy. Results in
# bench/results/loadtest_faults.txt; about 10 minutes.
loadtest-faults: install
	$(BIN)/pip install -q -e '.[dev,load]'
	$(BIN)/python loadtest/faults.py

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore='.venv*' --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore='.venv*'

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
