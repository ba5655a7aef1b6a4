"""The requests database as migrated equals what models.py declares (SQLite and PostgreSQL)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from kernel.tables import kernel_metadata
from services.requests.models import metadata


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    engine = create_engine(platform_config["DATABASES"]["requests"])
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, [metadata, kernel_metadata]) == []
            assert context.get_current_revision() == "0003"
        tables = set(inspect(engine).get_table_names())
        assert {"staff_members", "requests", "request_notes", "request_deliveries", "outbox",
                "processed_events"} <= tables
    finally:
        engine.dispose()
