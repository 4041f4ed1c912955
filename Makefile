# Tongxin: `make run` serves the portal with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
# Pin a Django series for a run, e.g. DJANGO="Django>=6.1,<6.2" (used by CI on Python 3.13).
DJANGO ?=
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: run test install lint demo-seed messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]' $(if $(DJANGO),'$(DJANGO)')
	touch $@

install: $(VENV)/.installed

run: install
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
	$(BIN)/python manage.py makemigrations --check --dry-run

demo-seed: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo --scale seed

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore='.venv*' --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore='.venv*'

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm
