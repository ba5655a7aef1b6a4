"""The live dashboard's document without a broker: composed from the same aggregates and rules as
the other reads (annual document, month scopes, activity documents, year targets, activity alerts),
and a version that changes exactly when something shown changes."""
from __future__ import annotations

from datetime import UTC, datetime

from services.reporting import dashboard, domain
from services.reporting.dashboard import Snapshot

DEFAULT = domain.Thresholds()


def facts(activity_id: str, starts_at: datetime, **fields) -> dict:
    row = {"activity_id": activity_id, "status": "completed", "kind": "vorming", "theme": "samenwerking",
           "goal": "SD1.OD4", "format": "offline", "starts_at": starts_at, "capacity": 10, "dagdelen": 2}
    row.update(fields)
    return row


def answers(respondents: int, satisfaction: int, promoters: int, detractors: int) -> dict:
    return {"respondents": respondents, "satisfaction_sum": satisfaction * respondents, "promoters": promoters,
            "detractors": detractors, "passives": respondents - promoters - detractors,
            "evaluations_requested": respondents}


def snapshot() -> Snapshot:
    return Snapshot(
        year=2026,
        year_counters={"activities": 2, "activities:offline": 2, "participants": 11, "participants:primary": 11,
                       "dagdelen": 4, "distinct:rorgs": 1, "distinct:all_rorgs": 1, **answers(11, 5, 1, 9)},
        directory={"recognised_orgs": 2, "recognised_orgs:vereniging": 2},
        register={"recognised_orgs": 3, "recognised_orgs:vereniging": 3},  # at the end of 2026, not as it stands
        months={"2026-03": {"activities": 1, "participants": 6, "dagdelen": 2, **answers(6, 4, 0, 6)},
                "2026-11": {"activities": 1, "participants": 5, "dagdelen": 2, **answers(5, 6, 1, 3)}},
        activities=[facts("low", datetime(2026, 3, 2, 8, tzinfo=UTC)),
                    facts("few", datetime(2026, 11, 30, 23, 30, tzinfo=UTC))],  # 1 December in Brussels
        activity_counters={"low": {"registrations_confirmed": 6, "participants": 6, **answers(6, 4, 0, 6)},
                           "few": {"registrations_confirmed": 4, "participants": 4, **answers(4, 2, 0, 4)}},
    )


def test_the_year_is_the_annual_document_with_its_targets():
    document = dashboard.build(snapshot(), DEFAULT)
    annual = domain.annual_document(2026, snapshot().year_counters, snapshot().register)
    assert document["annual"] == annual
    assert document["annual"]["totals"]["recognised_reach"]["total"] == 3
    assert document["targets"] == domain.year_targets(annual, DEFAULT)
    assert [(t["kpi"], t["status"]) for t in document["targets"]] == [
        ("satisfaction_pct", "missed"), ("nps", "missed"), ("recognised_reach_pct", "missed")]


def test_twelve_months_from_the_month_scopes():
    months = dashboard.build(snapshot(), DEFAULT)["months"]
    assert [row["month"] for row in months] == [f"2026-{m:02d}" for m in range(1, 13)]
    assert months[2] == {
        "month": "2026-03", "activities": 1, "cancelled_activities": 0, "dagdelen": 2, "participants": 6,
        "participations": 0, "organisations_reached": 0, "evaluations": 6, "satisfaction_pct": 40.0, "nps": -100,
        "requests_received": 0, "requests_delivered": 0, "demand_dagdelen": 0, "demand_participants": 0}
    assert months[0]["participants"] == 0 and months[0]["satisfaction_pct"] is None and months[0]["nps"] is None


def test_activities_carry_their_figures_and_alerts_from_five_answers():
    rows = {row["activity_id"]: row for row in dashboard.build(snapshot(), DEFAULT)["activities"]}
    low, few = rows["low"], rows["few"]
    assert {k: v for k, v in low.items() if k not in ("theme", "goal", "starts_on", "alert", "alerts")} == \
        domain.activity_document({"status": "completed", "kind": "vorming", "format": "offline",
                                  "starts_at": "2026-03-02T08:00:00+00:00", "capacity": 10, "dagdelen": 2},
                                 "low", snapshot().activity_counters["low"])
    assert low["alert"] is True and low["alerts"] == ["activity_satisfaction_pct", "activity_nps"]
    assert few["satisfaction_pct"] == 20.0 and few["alert"] is False and few["alerts"] == []  # 4 answers
    assert few["starts_on"] == "2026-12-01"  # the centre's date
    stricter = domain.Thresholds(activity_min_respondents=4)
    assert {row["activity_id"]: row["alert"] for row in dashboard.build(snapshot(), stricter)["activities"]} == {
        "low": True, "few": True}


def test_the_version_changes_with_what_is_shown_and_since_answers_unchanged():
    first = dashboard.answer(snapshot(), DEFAULT)
    assert first["changed"] is True and first["version"] == dashboard.answer(snapshot(), DEFAULT)["version"]
    assert dashboard.answer(snapshot(), DEFAULT, since=first["version"]) == {
        "year": 2026, "version": first["version"], "changed": False}
    assert dashboard.answer(snapshot(), DEFAULT, since="older")["changed"] is True
    moved = snapshot()
    moved.activity_counters["few"]["registrations_waitlisted"] = 1  # a figure of the activity table only
    assert dashboard.answer(moved, DEFAULT)["version"] != first["version"]
    assert dashboard.answer(snapshot(), domain.Thresholds(activity_satisfaction_alert_pct=30))["version"] != \
        first["version"]
