"""The notifications database as migrated equals what models.py declares (SQLite and PostgreSQL),
and the last migrations go down and up again."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from kernel.migrate import alembic_config
from kernel.tables import kernel_metadata
from services.notifications.models import metadata

HEAD = "0004"


def _compare(url):
    """(differences from the models, revision, {table: column names})."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            columns = {table: {c["name"] for c in inspect(engine).get_columns(table)}
                       for table in ("activity_schedule", "messages")}
            return compare_metadata(context, [metadata, kernel_metadata]), context.get_current_revision(), columns
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    url = platform_config["DATABASES"]["notifications"]
    differences, revision, _ = _compare(url)
    assert differences == []
    assert revision == HEAD
    command.downgrade(alembic_config("notifications", url), "0003")
    _, revision, columns = _compare(url)
    assert revision == "0003" and "claim" not in columns["messages"]
    command.downgrade(alembic_config("notifications", url), "0002")
    _, revision, columns = _compare(url)
    assert revision == "0002" and not {"times_at", "times_event_id", "move_unknown"} & columns["activity_schedule"]
    command.upgrade(alembic_config("notifications", url), "head")
    assert _compare(url)[:2] == ([], HEAD)
