"""The annual report without a broker: the yearly targets marked met / missed / not measured
(the same rules as the threshold events), and the key-figure table composed from annual documents."""
from __future__ import annotations

import pytest

from services.reporting import domain, report

DEFAULT = domain.Thresholds()


def document(year, satisfaction=None, nps=None, reach=None, **counters):
    """An annual document with the three target figures set directly."""
    doc = domain.annual_document(year, counters, {})
    doc["open_offer"]["satisfaction_pct"] = satisfaction
    doc["open_offer"]["nps"]["score"] = nps
    doc["totals"]["recognised_reach"]["pct"] = reach
    return doc


def statuses(doc, thresholds=DEFAULT):
    return {t["kpi"]: t["status"] for t in domain.year_targets(doc, thresholds)}


@pytest.mark.parametrize(("satisfaction", "status"), [
    (70.0, "met"), (70.1, "met"), (100.0, "met"), (69.9, "missed"), (0.0, "missed"), (None, "not_measured"),
])
def test_satisfaction_target_is_at_least_70_pct(satisfaction, status):
    assert statuses(document(2026, satisfaction=satisfaction))["satisfaction_pct"] == status


@pytest.mark.parametrize(("score", "status"), [
    (1, "met"), (100, "met"), (0, "missed"), (-1, "missed"), (None, "not_measured"),
])
def test_nps_target_is_above_0(score, status):
    assert statuses(document(2026, nps=score))["nps"] == status


@pytest.mark.parametrize(("reach", "status"), [
    (70.0, "met"), (69.9, "missed"), (None, "not_measured"),
])
def test_recognised_reach_target_is_at_least_70_pct(reach, status):
    assert statuses(document(2026, reach=reach))["recognised_reach_pct"] == status


def test_targets_come_from_the_configuration_and_agree_with_the_threshold_events():
    thresholds = domain.Thresholds.from_config({"REPORTING": {
        "SATISFACTION_TARGET_PCT": 80, "NPS_TARGET": 20, "RECOGNISED_REACH_TARGET_PCT": 50}})
    doc = document(2026, satisfaction=75.0, nps=20, reach=50.0)
    assert statuses(doc, thresholds) == {"satisfaction_pct": "missed", "nps": "missed", "recognised_reach_pct": "met"}
    assert [t["threshold"] for t in domain.year_targets(doc, thresholds)] == [80.0, 20.0, 50.0]
    # a target is missed exactly when the year's threshold check is breached
    for check, target in zip(domain.year_checks("year:2026", doc, thresholds), domain.year_targets(doc, thresholds),
                             strict=True):
        assert check.kpi == target["kpi"] and check.breached == (target["status"] == "missed")


def test_the_report_has_a_row_per_figure_with_values_aligned_to_the_years():
    first = domain.annual_document(2025, {
        "activities": 2, "activities:online": 2, "dagdelen": 5, "participants": 3, "participants_org:individu": 3,
        "respondents": 4, "satisfaction_sum": 28, "promoters": 2, "passives": 1, "detractors": 1,
    }, {"recognised_orgs": 2, "recognised_orgs:beweging": 2})
    second = domain.annual_document(2026, {
        "participants": 1, "participants_org:vereniging": 1, "distinct:rorgs:beweging": 1, "distinct:all_rorgs": 1,
    }, {"recognised_orgs": 2, "recognised_orgs:beweging": 2})
    built = report.build(2026, [first, second], DEFAULT)
    assert built["year"] == 2026 and built["years"] == [2025, 2026] and built["documents"] == [first, second]
    rows = {f["figure"]: f for f in built["figures"]}
    paths = [f["figure"] for f in built["figures"]]
    assert paths[:3] == ["open_offer.activities", "open_offer.activities_by_format.offline",
                         "open_offer.activities_by_format.online"]
    assert "year" not in paths and len(paths) == len(set(paths))
    # organisation types of either year, in the contract's order; 0 where a year has none
    assert [p for p in paths if ".participants_by_org_type." in p] == [
        "open_offer.participants_by_org_type.vereniging", "open_offer.participants_by_org_type.individu"]
    assert rows["open_offer.participants_by_org_type.individu"]["values"] == [3, 0]
    assert rows["open_offer.recognised_reach.by_org_type.beweging.reached"]["values"] == [0, 1]
    assert rows["open_offer.avg_dagdelen_per_activity"] == {
        "figure": "open_offer.avg_dagdelen_per_activity", "section": "open_offer", "kind": "decimal",
        "values": [2.5, None], "imported_values": [], "target": None}
    assert rows["open_offer.satisfaction_pct"]["kind"] == "pct"
    assert rows["open_offer.satisfaction_pct"]["target"] == {
        "kpi": "satisfaction_pct", "rule": "at_least", "threshold": 70.0, "status": ["met", "not_measured"]}
    assert rows["open_offer.nps.score"]["kind"] == "score"
    assert rows["open_offer.nps.score"]["values"] == [25, None]
    assert rows["totals.recognised_reach.pct"]["values"] == [0.0, 50.0]
    assert rows["totals.recognised_reach.pct"]["target"]["status"] == ["missed", "missed"]
    assert [t["kpi"] for t in built["targets"]] == ["satisfaction_pct", "nps", "recognised_reach_pct"]
    assert built["targets"][1] == {"kpi": "nps", "figure": "open_offer.nps.score", "rule": "above",
                                   "threshold": 0.0, "values": [25, None], "status": ["met", "not_measured"]}
    with pytest.raises(ValueError):
        report.build(2027, [first, second], DEFAULT)


def test_years_shown_default_to_the_earlier_years_with_figures_or_exactly_the_number_asked():
    assert report.years_shown(2026, None, {2021, 2023, 2024}) == [2023, 2024, 2026]  # 2021: over four years back
    assert report.years_shown(2026, None, set()) == [2026]
    assert report.years_shown(2026, 2, set()) == [2024, 2025, 2026]
    assert report.years_shown(2026, 0, {2025}) == [2026]
