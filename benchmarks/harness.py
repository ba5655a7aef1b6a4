"""What every benchmark needs: a throw-away RabbitMQ vhost, fresh databases,
and the platform's configuration pointing at them."""
from __future__ import annotations

import copy
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager

import requests

from kernel.config import SERVICES, load_config
from kernel.migrate import upgrade

MANAGEMENT = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")


@contextmanager
def sandbox(backend: str = "sqlite"):
    """A config dict with its own vhost and migrated databases; everything removed afterwards."""
    vhost = f"bench_{uuid.uuid4().hex[:8]}"
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"}, auth=AUTH, timeout=10,
    ).raise_for_status()
    directory = tempfile.mkdtemp(prefix="bench-")
    created_pg = []
    config = copy.deepcopy(load_config())
    config["AMQP_URI"] = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    config["METRICS"]["PORTS"] = {}
    if backend == "postgresql":
        from sqlalchemy import create_engine, text

        admin = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in SERVICES:
                database = f"bench_{name}_{uuid.uuid4().hex[:6]}"
                connection.execute(text(f'CREATE DATABASE "{database}"'))
                created_pg.append(database)
        config["DATABASES"] = {
            name: f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
            for name, db in zip(SERVICES, created_pg, strict=True)
        }
    else:
        config["DATABASES"] = {name: f"sqlite:///{directory}/{name}.db" for name in SERVICES}
    for name in SERVICES:
        upgrade(name, config["DATABASES"][name])
    try:
        yield config
    finally:
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
        if created_pg:
            with admin.connect() as connection:
                for database in created_pg:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


def wait_until(predicate, timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark did not finish in time")
        time.sleep(interval)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def print_table(rows: list[tuple[str, str, str]]) -> None:
    """(measurement, figure, target) rows as a table on stdout."""
    width = max(len(name) for name, _, _ in rows)
    print(f"\n{'measurement':<{width}}  {'figure':<50} target")
    for name, figure, target in rows:
        print(f"{name:<{width}}  {figure:<50} {target}")
