"""The registration database as migrated equals what models.py declares (SQLite and PostgreSQL)."""
import subprocess
import sys
from datetime import datetime, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from kernel.config import ROOT
from kernel.tables import kernel_metadata
from services.registration.models import metadata


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    # platform_config has already run `upgrade("registration", url)` on a fresh database
    engine = create_engine(platform_config["DATABASES"]["registration"])
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, [metadata, kernel_metadata]) == []
            assert context.get_current_revision() == "0001"
        tables = set(inspect(engine).get_table_names())
        assert {"organisations", "activities", "persons", "registrations", "outbox", "processed_events"} <= tables
    finally:
        engine.dispose()


def test_migrate_command(tmp_path):
    url = f"sqlite:///{tmp_path}/registration.db"
    done = subprocess.run(
        [sys.executable, "-m", "kernel.migrate", "registration"], cwd=ROOT, capture_output=True, text=True,
        env={"REGISTRATION_DB_URL": url, "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "registration: database at newest revision" in done.stdout
    engine = create_engine(url)
    try:
        assert "registrations" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_database_refuses_a_second_active_registration_of_one_person(database_backend, platform_config):
    """Behind the domain rule (and the activity lock) stands a partial unique index."""
    import pytest
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from services.registration.models import activities, persons, registrations

    engine = create_engine(platform_config["DATABASES"]["registration"])
    now = datetime.now(timezone.utc)
    activity = dict(
        activity_id="a1", title="t", description="", kind="vorming", theme="t", goal=None, format="offline",
        starts_at=now, ends_at=now, days=1, dagdelen=2, capacity=None, location=None, online_link=None,
        language="nl", price_eur=0, reduced_price_eur=None, registration_opens_at=None,
        registration_closes_at=None, invitation_only=False, invitation_code=None, status="scheduled",
        next_waitlist_seq=1, created_at=now, updated_at=now,
    )

    def registration(registration_id, status):
        return dict(
            registration_id=registration_id, activity_id="a1", person_id="p1", organisation_id=None,
            org_type="individu", recognised=False, target_group="secondary", role=None, language="nl",
            needs={}, status=status, cancel_token_hash=registration_id * 8, created_at=now, updated_at=now,
        )

    try:
        with engine.begin() as connection:
            connection.execute(insert(activities).values(**{k: v for k, v in activity.items() if k in activities.c}))
            connection.execute(
                insert(persons).values(person_id="p1", identity_key="email:p@example.org", name="P",
                                       email="p@example.org", created_at=now, updated_at=now)
            )
            connection.execute(insert(registrations).values(registration("r1", "cancelled")))
            connection.execute(insert(registrations).values(registration("r2", "confirmed")))  # after a cancel: fine
        with pytest.raises(IntegrityError):
            with engine.begin() as connection:
                connection.execute(insert(registrations).values(registration("r3", "waitlisted")))
    finally:
        engine.dispose()
