"""The evaluation database as migrated equals what models.py declares (SQLite and PostgreSQL)."""
from sqlalchemy import create_engine, inspect

from services.evaluation.models import metadata
from tests.helpers import migrated_schema


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    url = platform_config["DATABASES"]["evaluation"]
    differences, revision, columns = migrated_schema(url, metadata)
    assert differences == []
    assert revision == "0002"
    assert {"evaluation_activities", "evaluation_attendance", "evaluation_erased_persons", "evaluations",
            "outbox", "processed_events"} <= set(columns)
    engine = create_engine(url)
    try:
        unique = {tuple(c["column_names"]) for c in inspect(engine).get_unique_constraints("evaluations")}
        assert ("registration_id", "stage") in unique  # one answer per registration (and stage)
    finally:
        engine.dispose()
