"""The accounts database as migrated equals what models.py declares (SQLite and PostgreSQL)."""

from services.accounts.models import metadata
from tests.helpers import migrated_schema


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    differences, revision, columns = migrated_schema(platform_config["DATABASES"]["accounts"], metadata)
    assert differences == []
    assert revision == "0002"
    assert {"accounts", "sessions", "api_tokens", "audit_log", "outbox", "processed_events"} <= set(columns)
