"""The reporting database as migrated equals what models.py declares (SQLite and PostgreSQL),
and the migrations go down and up again; 0004 drops the memberships and distinct counts nobody
reads from aggregates written before it."""
import json

from alembic import command
from sqlalchemy import create_engine, insert, select

from kernel.migrate import alembic_config
from services.reporting.models import kpi_counters, kpi_members, metadata, unit_contributions
from tests.helpers import migrated_schema


def test_migrated_schema_matches_the_models(database_backend, platform_config):
    url = platform_config["DATABASES"]["reporting"]
    differences, revision, columns = migrated_schema(url, metadata)
    assert differences == []
    assert revision == "0006"
    assert {"kpi_counters", "kpi_members", "unit_contributions", "threshold_state", "attendance_facts"} <= set(columns)
    command.downgrade(alembic_config("reporting", url), "0002")
    assert "token" not in migrated_schema(url, metadata)[2]["unit_contributions"]
    command.downgrade(alembic_config("reporting", url), "0001")
    _, revision, columns = migrated_schema(url, metadata)
    assert revision == "0001" and "kpi_counters" not in columns and "processed_events" in columns
    command.upgrade(alembic_config("reporting", url), "head")
    assert migrated_schema(url, metadata)[0] == []


def test_0004_drops_what_nobody_reads_and_keeps_the_rest(database_backend, platform_config):
    """Aggregates as written before 0004: every set in the month and distinct counts per day."""
    url = platform_config["DATABASES"]["reporting"]
    command.downgrade(alembic_config("reporting", url), "0003")
    old_members = [("year:2025", "persons", "p1"), ("month:2025-03", "persons", "p1"),
                   ("month:2025-03", "orgs", "o1"), ("month:2025-03", "rorgs:vereniging", "o1"),
                   ("day:2025-03-04", "persons", "p1"), ("day:2025-03-04", "orgs", "o1")]
    old_counters = [("year:2025", "distinct:persons", 1), ("year:2025", "participants", 1),
                    ("month:2025-03", "distinct:persons", 1), ("month:2025-03", "distinct:orgs", 1),
                    ("month:2025-03", "distinct:rorgs:vereniging", 1), ("month:2025-03", "participants", 1),
                    ("day:2025-03-04", "distinct:persons", 1), ("day:2025-03-04", "participants", 1)]
    payload = {"c": [[scope, metric, value] for scope, metric, value in old_counters if "distinct" not in metric],
               "m": [list(member) for member in old_members]}
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(kpi_members), [dict(scope=s, set_name=n, member=m, refcount=1)
                                                 for s, n, m in old_members])
        connection.execute(insert(kpi_counters), [dict(scope=s, metric=m, value=v) for s, m, v in old_counters])
        connection.execute(insert(unit_contributions).values(unit="activity:a1", payload=json.dumps(payload),
                                                             token="before"))
    command.upgrade(alembic_config("reporting", url), "head")
    with engine.connect() as connection:
        members = set(connection.execute(select(kpi_members.c.scope, kpi_members.c.set_name,
                                                kpi_members.c.member)).all())
        counters = set(connection.execute(select(kpi_counters.c.scope, kpi_counters.c.metric)).all())
        stored, token = connection.execute(select(unit_contributions.c.payload, unit_contributions.c.token)).one()
    engine.dispose()
    kept = set(old_members) - {("month:2025-03", "persons", "p1"), ("month:2025-03", "rorgs:vereniging", "o1")}
    assert members == kept
    assert counters == {("year:2025", "distinct:persons"), ("year:2025", "participants"),
                        ("month:2025-03", "distinct:orgs"), ("month:2025-03", "participants"),
                        ("day:2025-03-04", "participants")}
    assert {tuple(member) for member in json.loads(stored)["m"]} == kept
    assert json.loads(stored)["c"] == payload["c"] and token != "before"
