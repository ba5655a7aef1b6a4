"""reporting: drop the set memberships and distinct counts nobody reads

A month keeps only its organisations reached (the dashboard's month rows); a day keeps its
members (a rolling window counts them) but no distinct counts of its own. The stored
contributions lose the same memberships, so that the next recomputation of a unit subtracts
only what is still there. A data migration: going down needs a rebuild
(`python -m services.reporting.rebuild`) to put the months' other sets back.

Revision ID: 0004
Revises: 0003
"""
import json
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 500


def _kept(member) -> bool:
    scope, set_name, _ = member
    return not scope.startswith("month:") or set_name == "orgs"


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(sa.text("DELETE FROM kpi_members WHERE scope LIKE 'month:%' AND set_name <> 'orgs'"))
    connection.execute(sa.text(
        "DELETE FROM kpi_counters WHERE metric LIKE 'distinct:%' "
        "AND (scope LIKE 'day:%' OR (scope LIKE 'month:%' AND metric <> 'distinct:orgs'))"))
    token = uuid.uuid4().hex  # a worker's cached copy of a rewritten unit is not used again
    units = connection.execute(sa.text("SELECT unit FROM unit_contributions ORDER BY unit")).scalars().all()
    for start in range(0, len(units), BATCH):
        rows = connection.execute(sa.text("SELECT unit, payload FROM unit_contributions WHERE unit IN :units")
                                  .bindparams(sa.bindparam("units", expanding=True)),
                                  {"units": units[start:start + BATCH]}).all()
        changed = []
        for unit, payload in rows:
            contribution = json.loads(payload)
            members = contribution.get("m", [])
            kept = [member for member in members if _kept(member)]
            if len(kept) != len(members):
                contribution["m"] = kept
                changed.append({"unit": unit, "payload": json.dumps(contribution, separators=(",", ":")),
                                "token": token})
        if changed:
            connection.execute(sa.text("UPDATE unit_contributions SET payload = :payload, token = :token "
                                       "WHERE unit = :unit"), changed)


def downgrade() -> None:
    pass  # the dropped memberships come back with a rebuild (see above)
