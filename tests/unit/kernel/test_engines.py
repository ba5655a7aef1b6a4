"""A service's engines keep a connection open for each of its workers (opening one per use costs
PostgreSQL a server process each time)."""
from __future__ import annotations

from kernel.db import SPARE_CONNECTIONS, ServiceDatabase, make_engine


def test_an_engine_keeps_as_many_connections_as_asked(tmp_path):
    for url in (f"sqlite:///{tmp_path / 'x.db'}", "postgresql+psycopg2://nobody@127.0.0.1:1/none"):
        engine = make_engine(url, connections=53)  # no connection is opened until one is used
        assert engine.pool.size() == 53 and engine.pool._max_overflow == SPARE_CONNECTIONS
        engine.dispose()


def test_a_service_database_sizes_its_writer_and_its_readers(tmp_path):
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'x.db'}", producer="test", connections=53)
    assert database.engine.pool.size() == database.read_engine.pool.size() == 53
    database.dispose()


def test_an_in_memory_database_keeps_its_one_connection():
    assert make_engine("sqlite://", connections=53).pool.__class__.__name__ == "SingletonThreadPool"
