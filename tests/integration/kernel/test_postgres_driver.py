"""psycopg2 under eventlet: a query waiting for PostgreSQL lets the service's other green threads
run, instead of stopping the whole process until the server answers. eventlet.monkey_patch()
(nameko run; the root conftest) installs psycopg2's wait callback when psycopg2 is importable."""
from __future__ import annotations

import time

import eventlet
from sqlalchemy import text

from kernel.db import make_engine


def test_queries_waiting_on_postgresql_let_other_green_threads_run(postgres_database):
    engine = make_engine(postgres_database())
    ticks = []

    def wait_in_the_database():
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(0.5)"))

    def tick():
        for _ in range(10):
            ticks.append(time.monotonic())
            eventlet.sleep(0.05)

    try:
        began = time.monotonic()
        threads = [eventlet.spawn(wait_in_the_database) for _ in range(4)] + [eventlet.spawn(tick)]
        for thread in threads:
            thread.wait()
        elapsed = time.monotonic() - began
    finally:
        engine.dispose()
    assert engine.dialect.driver == "psycopg2"
    # side by side: ~0.5 s; one after the other (a blocking driver): 2 s and more
    assert elapsed < 1.5, f"four 0.5 s queries took {elapsed:.2f} s"
    # the ticker kept its pace while the queries waited
    assert len(ticks) == 10 and ticks[-1] - ticks[0] < 1.0
