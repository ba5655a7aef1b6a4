"""The reporting database as migrated equals what models.py declares (SQLite and PostgreSQL),
and the migration goes down and up again."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from kernel.migrate import alembic_config
from kernel.tables import kernel_metadata
from services.reporting.models import metadata


def _compare(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, [metadata, kernel_metadata]), context.get_current_revision(), \
                set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _columns(url, table):
    engine = create_engine(url)
    try:
        return inspect(engine).get_columns(table)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    url = platform_config["DATABASES"]["reporting"]
    differences, revision, tables = _compare(url)
    assert differences == []
    assert revision == "0003"
    assert {"kpi_counters", "kpi_members", "unit_contributions", "threshold_state", "attendance_facts"} <= tables
    command.downgrade(alembic_config("reporting", url), "0002")
    assert "token" not in {c["name"] for c in _columns(url, "unit_contributions")}
    command.downgrade(alembic_config("reporting", url), "0001")
    _, revision, tables = _compare(url)
    assert revision == "0001" and "kpi_counters" not in tables and "processed_events" in tables
    command.upgrade(alembic_config("reporting", url), "head")
    assert _compare(url)[0] == []
