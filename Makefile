# The two commands of the README: `make run` and `make test`.
.DEFAULT_GOAL := help
.PHONY: help run test lint migrate topology bootstrap bench

PY := .venv/bin/python

help:
	@echo "make run      set up this machine (venv, RabbitMQ), migrate, start every service on 127.0.0.1:8000"
	@echo "make test     the same set-up (plus Chromium, PostgreSQL), then ruff and the whole test suite"
	@echo "make lint     ruff check . and the import rule"
	@echo "make migrate  apply every service's database migrations"
	@echo "make bench    every performance measurement, with its target beside it"

run:
	@bash scripts/bootstrap.sh
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

lint:
	@bash scripts/bootstrap.sh --test
	@.venv/bin/ruff check .
	@$(PY) -m pytest -q tests/unit/test_import_rule.py

migrate:
	@bash scripts/bootstrap.sh
	@$(PY) -m kernel.migrate

topology:
	@bash scripts/bootstrap.sh
	@$(PY) -m kernel.topology

bootstrap:
	@bash scripts/bootstrap.sh

bench:
	@bash scripts/bootstrap.sh --test
	@.venv/bin/python -m benchmarks
