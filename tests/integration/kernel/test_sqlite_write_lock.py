"""SQLite writers of several processes (two reporting workers on one file): a writer waiting for
another connection's write lock lets its own process run on, takes the lock once it is free, and
gives up with "database is locked" after SQLITE_BUSY_SECONDS. (How soon: benchmarks/responsiveness_bench.py.)"""
from __future__ import annotations

import sqlite3
import time

import eventlet
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from kernel import db as kernel_db
from kernel.db import ServiceDatabase


@pytest.fixture
def database(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    service_db = ServiceDatabase(url, producer="test")
    with service_db.unit_of_work() as uow:
        uow.session.execute(text("CREATE TABLE notes (body TEXT)"))
    holder = sqlite3.connect(tmp_path / "shared.db", isolation_level=None, check_same_thread=False)
    yield service_db, holder
    holder.close()
    service_db.dispose()


def write(service_db: ServiceDatabase) -> float:
    with service_db.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO notes VALUES ('x')"))
    return time.monotonic()


def test_a_writer_waits_for_another_connections_lock_without_stopping_its_process(database):
    service_db, holder = database
    holder.execute("BEGIN IMMEDIATE")  # another process's writer, in the middle of its transaction
    ticks = []

    def tick():
        for _ in range(20):
            ticks.append(time.monotonic())
            eventlet.sleep(0.02)

    released_at = []

    def release():
        released_at.append(time.monotonic())
        holder.execute("COMMIT")

    eventlet.spawn_after(0.5, release)
    ticker = eventlet.spawn(tick)
    began = time.monotonic()
    written_at = eventlet.spawn(write, service_db).wait()
    ticker.wait()
    assert written_at >= released_at[0]  # it did wait for the lock, and took it once free
    # the process ran on meanwhile: a writer blocking the process would leave the ticker one tick at most
    assert len([t for t in ticks if began <= t <= released_at[0]]) >= 3
    assert holder.execute("SELECT count(*) FROM notes").fetchone() == (1,)


def test_a_writer_gives_up_when_the_lock_stays_taken(database, monkeypatch):
    service_db, holder = database
    monkeypatch.setattr(kernel_db, "SQLITE_BUSY_SECONDS", 0.3)
    holder.execute("BEGIN IMMEDIATE")
    began = time.monotonic()
    with pytest.raises(OperationalError, match="locked"):
        write(service_db)
    assert 0.25 <= time.monotonic() - began < 15  # after its own 0.3 s, not the kernel's default 30 s
    holder.execute("ROLLBACK")
    write(service_db)  # the connection is usable again, with its busy timeout back
    assert holder.execute("SELECT count(*) FROM notes").fetchone() == (1,)
