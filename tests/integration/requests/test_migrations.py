"""The requests database as migrated equals what models.py declares (SQLite and PostgreSQL)."""

from services.requests.models import metadata
from tests.helpers import migrated_schema


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    differences, revision, columns = migrated_schema(platform_config["DATABASES"]["requests"], metadata)
    assert differences == []
    assert revision == "0003"
    assert {"staff_members", "requests", "request_notes", "request_deliveries", "outbox",
            "processed_events"} <= set(columns)
