"""The registration database as migrated equals what models.py declares (SQLite and PostgreSQL)."""
import subprocess
import sys
from datetime import datetime, timezone

from sqlalchemy import create_engine, inspect

from kernel.config import ROOT
from services.registration.models import metadata
from tests.helpers import migrated_schema

HEAD = "0004"


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    # platform_config has already run `upgrade("registration", url)` on a fresh database
    differences, revision, columns = migrated_schema(platform_config["DATABASES"]["registration"], metadata)
    assert differences == []
    assert revision == HEAD
    assert {"organisations", "activities", "persons", "registrations", "outbox", "processed_events"} <= set(columns)


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


def test_seat_counters_are_counted_from_the_existing_registrations(database_backend, platform_config):
    """0002 adds the activity's seat counters and fills them from the registrations already there;
    it goes down and up again."""
    from alembic import command
    from sqlalchemy import insert, select

    from kernel.migrate import alembic_config
    from services.registration.models import activities, persons, registrations

    url = platform_config["DATABASES"]["registration"]
    command.downgrade(alembic_config("registration", url), "0001")
    engine = create_engine(url)
    now = datetime.now(timezone.utc)
    statuses = {"a1": ["confirmed", "confirmed", "waitlisted", "cancelled", "waitlisted", "waitlisted"],
                "a2": ["cancelled"], "a3": []}
    try:
        with engine.begin() as connection:
            for activity_id in statuses:
                connection.execute(insert(activities).values(
                    activity_id=activity_id, title="t", description="", kind="vorming", theme="t", format="offline",
                    starts_at=now, ends_at=now, days=1, dagdelen=2, capacity=2, language="nl", price_eur=0,
                    invitation_only=False, status="scheduled", next_waitlist_seq=1, created_at=now, updated_at=now))
            for n, (activity_id, status) in enumerate((a, s) for a, listed in statuses.items() for s in listed):
                connection.execute(insert(persons).values(
                    person_id=f"p{n}", identity_key=f"email:p{n}@example.org", name="P", email=None,
                    created_at=now, updated_at=now))
                connection.execute(insert(registrations).values(
                    registration_id=f"r{n}", activity_id=activity_id, person_id=f"p{n}", org_type="individu",
                    recognised=False, target_group="secondary", language="nl", needs={}, status=status,
                    waitlist_seq=n + 1 if status == "waitlisted" else None, cancel_token_hash=f"h{n}",
                    created_at=now, updated_at=now))
        command.upgrade(alembic_config("registration", url), "head")
        with engine.connect() as connection:
            counters = {row.activity_id: tuple(row[1:]) for row in connection.execute(select(
                activities.c.activity_id, activities.c.confirmed_count, activities.c.waitlisted_count,
                activities.c.next_waitlist_seq))}
        # a1's waitlisted registrations hold numbers 3, 5 and 6: the next one is 7
        assert counters == {"a1": (2, 3, 7), "a2": (0, 0, 1), "a3": (0, 0, 1)}
        assert migrated_schema(url, metadata)[:2] == ([], HEAD)
    finally:
        engine.dispose()
