"""The notifications database as migrated equals what models.py declares (SQLite and PostgreSQL),
and the last migrations go down and up again."""
from alembic import command

from kernel.migrate import alembic_config
from services.notifications.models import metadata
from tests.helpers import migrated_schema

HEAD = "0004"


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    url = platform_config["DATABASES"]["notifications"]
    differences, revision, _ = migrated_schema(url, metadata)
    assert differences == []
    assert revision == HEAD
    command.downgrade(alembic_config("notifications", url), "0003")
    _, revision, columns = migrated_schema(url, metadata)
    assert revision == "0003" and "claim" not in columns["messages"]
    command.downgrade(alembic_config("notifications", url), "0002")
    _, revision, columns = migrated_schema(url, metadata)
    assert revision == "0002" and not {"times_at", "times_event_id", "move_unknown"} & columns["activity_schedule"]
    command.upgrade(alembic_config("notifications", url), "head")
    assert migrated_schema(url, metadata)[:2] == ([], HEAD)
