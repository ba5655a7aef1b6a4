"""The evaluation database as migrated equals what models.py declares (SQLite and PostgreSQL)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from kernel.tables import kernel_metadata
from services.evaluation.models import metadata


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    engine = create_engine(platform_config["DATABASES"]["evaluation"])
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, [metadata, kernel_metadata]) == []
            assert context.get_current_revision() == "0002"
        inspector = inspect(engine)
        assert {"evaluation_activities", "evaluation_attendance", "evaluation_erased_persons", "evaluations",
                "outbox", "processed_events"} <= set(inspector.get_table_names())
        unique = {tuple(c["column_names"]) for c in inspector.get_unique_constraints("evaluations")}
        assert ("registration_id", "stage") in unique  # one answer per registration (and stage)
    finally:
        engine.dispose()
