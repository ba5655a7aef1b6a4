"""psycopg2 under eventlet: a query waiting for PostgreSQL lets the service's other green threads
run, instead of stopping the whole process until the server answers. eventlet.monkey_patch()
(nameko run; the root conftest) installs psycopg2's wait callback when psycopg2 is importable.
(How fast: benchmarks/responsiveness_bench.py.)"""
from __future__ import annotations

import eventlet
from sqlalchemy import text

from kernel.db import make_engine

QUERIES = 4
# Waits in the server until QUERIES sessions run it at once (or `cap` seconds passed). The first
# to see them all takes an advisory lock (held until its connection closes) that tells the others
# so; returns QUERIES then, else the most it saw together. Only green threads that do not block
# each other get there.
WAIT_FOR_PEERS = """
CREATE FUNCTION pg_temp.wait_for_peers(wanted int, cap float) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  seen int := 0;
  most int := 0;
  deadline timestamptz := clock_timestamp() + make_interval(secs => cap);
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();  -- pg_stat_activity is otherwise read once per transaction
    SELECT count(*) INTO seen FROM pg_stat_activity
     WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_temp.wait_for_peers%';
    most := greatest(most, seen);
    IF seen >= wanted THEN
      PERFORM pg_advisory_lock_shared(17);  -- shared: two sessions may both see them all
      RETURN wanted;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                WHERE l.locktype = 'advisory' AND l.objid = 17 AND l.granted AND d.datname = current_database()) THEN
      RETURN wanted;
    END IF;
    EXIT WHEN clock_timestamp() > deadline;
    PERFORM pg_sleep(0.02);
  END LOOP;
  RETURN most;
END $$
"""


def test_queries_waiting_on_postgresql_let_other_green_threads_run(postgres_database):
    engine = make_engine(postgres_database())
    seen = []

    def wait_in_the_database():
        with engine.connect() as connection:
            connection.execute(text(WAIT_FOR_PEERS))
            seen.append(connection.scalar(text(f"SELECT pg_temp.wait_for_peers({QUERIES}, 20)")))

    try:
        threads = [eventlet.spawn(wait_in_the_database) for _ in range(QUERIES)]
        for thread in threads:
            thread.wait()
    finally:
        engine.dispose()
    assert engine.dialect.driver == "psycopg2"
    # all four waited in the server at once: while one waited, the process ran the other green
    # threads that sent theirs (a blocking driver runs them one after the other, each seeing itself)
    assert seen == [QUERIES] * QUERIES
