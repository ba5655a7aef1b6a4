"""The live dashboard's document, plain Python over reporting's aggregates.

`reporting.dashboard(year, since=None)` answers with:

    {"year": 2026, "version": "3f2a...", "changed": true,
     "annual": <the annual document, exactly annual_kpis(year): the year to date>,
     "targets": [{"kpi", "figure", "rule", "threshold", "value", "status"}],   # domain.YEAR_TARGETS
     "months": [{"month": "2026-01", "activities", "cancelled_activities", "dagdelen",
                 "participants", "participations", "organisations_reached", "evaluations",
                 "satisfaction_pct", "nps", "requests_received", "requests_delivered",
                 "demand_dagdelen", "demand_participants"}, ... 12 rows],
     "activities": [<activity_kpis document> + {"theme", "goal", "starts_on", "alert", "alerts"}],
     "alert_rule": {"min_respondents", "satisfaction_below_pct", "nps_below"}}

It composes what the other reads compute (domain.annual_document, domain.kpi_document per
month scope, domain.activity_document, domain.year_targets, domain.activity_checks with the
configured domain.Thresholds): no figure and no threshold of its own.

`version` is a digest of the document itself, so it changes exactly when a figure, a target
status or an alert the dashboard shows changes: after any batch reporting ingests that moves
one of them, and after a rebuild that replaced the aggregates. A caller that passes the
version it has as `since` gets only {"year", "version", "changed": false} while it is
current. Reading it costs what the document costs: key-range reads of the year, month,
directory, register and activity scopes and the year's activity facts, whatever the number of events.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, select

from kernel.config import CENTRE_TIMEZONE
from kernel.db import in_chunks
from services.reporting import domain, store
from services.reporting.models import activity_facts, kpi_counters

MONTHS = tuple(range(1, 13))


@dataclass
class Snapshot:
    """The rows one dashboard is built from."""

    year: int
    year_counters: dict[str, int] = field(default_factory=dict)
    directory: dict[str, int] = field(default_factory=dict)
    register: dict[str, int] = field(default_factory=dict)  # at the end of the year (store.register)
    months: dict[str, dict[str, int]] = field(default_factory=dict)  # "2026-03" -> counters
    activities: list[dict] = field(default_factory=list)  # activity_facts rows (known ones), by start
    activity_counters: dict[str, dict[str, int]] = field(default_factory=dict)  # activity id -> counters


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January of `year`, 1 January of the next) in the centre's time zone, as aware datetimes."""
    return datetime(year, 1, 1, tzinfo=CENTRE_TIMEZONE), datetime(year + 1, 1, 1, tzinfo=CENTRE_TIMEZONE)


def _counters(session, condition) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for scope, metric, value in session.execute(
        select(kpi_counters.c.scope, kpi_counters.c.metric, kpi_counters.c.value).where(condition)
    ).all():
        out[scope][metric] = int(value)
    return out


def read(session, year: int) -> Snapshot:
    """The year's, the directory's, its months' and its activities' rows (primary-key ranges)."""
    snapshot = Snapshot(year)
    fixed = _counters(session, kpi_counters.c.scope.in_([f"year:{year}", domain.DIRECTORY]))
    snapshot.year_counters = fixed.get(f"year:{year}", {})
    snapshot.directory = fixed.get(domain.DIRECTORY, {})
    snapshot.register = store.register(session, year)
    months = _counters(session, and_(kpi_counters.c.scope >= f"month:{year}-01",
                                     kpi_counters.c.scope <= f"month:{year}-12"))
    snapshot.months = {scope.split(":", 1)[1]: counters for scope, counters in months.items()}
    start, end = year_bounds(year)
    rows = session.execute(
        select(activity_facts).where(activity_facts.c.starts_at >= start, activity_facts.c.starts_at < end)
        .order_by(activity_facts.c.starts_at, activity_facts.c.activity_id)
    ).all()
    snapshot.activities = [dict(row._mapping) for row in rows]
    ids = [row["activity_id"] for row in snapshot.activities]
    for chunk in in_chunks(ids):
        scopes = [f"activity:{activity_id}" for activity_id in chunk]
        for scope, counters in _counters(session, kpi_counters.c.scope.in_(scopes)).items():
            snapshot.activity_counters[scope.split(":", 1)[1]] = counters
    return snapshot


def month_row(month: str, counters: dict[str, int], directory: dict[str, int]) -> dict:
    """One month's figures (activities by their start, requests by their received / delivered month)."""
    figures = domain.kpi_document(counters, directory)
    open_offer, demand = figures["open_offer"], figures["demand_driven"]
    return {
        "month": month,
        "activities": open_offer["activities"],
        "cancelled_activities": open_offer["cancelled_activities"],
        "dagdelen": open_offer["dagdelen"],
        "participants": open_offer["participants"],
        "participations": open_offer["participations"],
        "organisations_reached": open_offer["organisations_reached"],
        "evaluations": open_offer["evaluations"],
        "satisfaction_pct": open_offer["satisfaction_pct"],
        "nps": open_offer["nps"]["score"],
        "requests_received": demand["requests_received"],
        "requests_delivered": demand["requests_delivered"],
        "demand_dagdelen": demand["dagdelen"],
        "demand_participants": demand["participants"],
    }


def activity_row(facts: dict, counters: dict[str, int], thresholds: domain.Thresholds) -> dict:
    """activity_kpis' document of one activity, with its theme, local start date and alerts
    (domain.activity_checks: the per-activity thresholds the kpi.threshold_* events use)."""
    activity_id = facts["activity_id"]
    fields = {
        "status": facts["status"], "kind": facts["kind"], "format": facts["format"],
        "starts_at": facts["starts_at"].isoformat(), "capacity": facts["capacity"], "dagdelen": facts["dagdelen"],
    }
    row = domain.activity_document(fields, activity_id, counters)
    alerts = [check.kpi for check in domain.activity_checks(f"activity:{activity_id}", counters, thresholds)
              if check.breached]
    row.update(theme=facts["theme"], goal=facts["goal"], starts_on=domain.local_date(facts["starts_at"]).isoformat(),
               alert=bool(alerts), alerts=alerts)
    return row


def build(snapshot: Snapshot, thresholds: domain.Thresholds) -> dict:
    """The dashboard document (without its version)."""
    year = snapshot.year
    annual = domain.annual_document(year, snapshot.year_counters, snapshot.register)
    months = [f"{year}-{month:02d}" for month in MONTHS]
    return {
        "year": year,
        "annual": annual,
        "targets": domain.year_targets(annual, thresholds),
        "months": [month_row(month, snapshot.months.get(month, {}), snapshot.directory) for month in months],
        "activities": [
            activity_row(facts, snapshot.activity_counters.get(facts["activity_id"], {}), thresholds)
            for facts in snapshot.activities
        ],
        "alert_rule": {
            "min_respondents": thresholds.activity_min_respondents,
            "satisfaction_below_pct": thresholds.activity_satisfaction_alert_pct,
            "nps_below": thresholds.activity_nps_alert,
        },
    }


def version_of(document: dict) -> str:
    """A digest of the document: equal documents, equal versions."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def answer(snapshot: Snapshot, thresholds: domain.Thresholds, since: str | None = None) -> dict:
    """The document with its version, or only the version when `since` is still current."""
    document = build(snapshot, thresholds)
    version = version_of(document)
    if since is not None and since == version:
        return {"year": snapshot.year, "version": version, "changed": False}
    return {"year": snapshot.year, "version": version, "changed": True,
            **{key: value for key, value in document.items() if key != "year"}}

