"""How the gateway shows the annual report: labels in nl/en/fr for every figure, numbers the
reader's way, and the CSV layout."""
from __future__ import annotations

import csv
import io

import pytest

from kernel.contract import ORG_TYPES, ORG_TYPES_RECOGNISED
from services.gateway.core.i18n import translator
from services.gateway.reporting import report_view
from services.reporting import domain, report


def full_report() -> dict:
    """A report whose documents hold every organisation type, so every figure has a row."""
    counters = {f"{metric}{t}": 1 for t in ORG_TYPES for metric in (
        "participants_org:", "participations_org:", "distinct:persons_org:", "distinct:orgs_org:",
        "dd_participants_org:", "distinct:dd_orgs_org:")}
    counters.update({f"{breakdown}:{key}.{measure}": 1 for breakdown, key in (
        ("by_goal", "none"), ("by_theme", "bestuur"), ("by_kind", "vorming"))
        for measure in ("activities", "dagdelen", "participants")})
    counters["requests_delivered_goal:none"] = 1
    counters.update({f"distinct:rorgs:{t}": 1 for t in ORG_TYPES_RECOGNISED})
    counters.update({"participants": 1234567, "respondents": 3, "satisfaction_sum": 21, "promoters": 1,
                     "detractors": 1, "passives": 1, "activities": 3, "dagdelen": 7})
    directory = {"recognised_orgs": 8, **{f"recognised_orgs:{t}": 2 for t in ORG_TYPES_RECOGNISED}}
    return report.build(2026, [domain.annual_document(2025, {}, directory),
                               domain.annual_document(2026, counters, directory)], domain.Thresholds())


@pytest.mark.parametrize("language", ["nl", "en", "fr"])
def test_every_figure_has_a_label_in_every_language(language):
    t = translator(language)
    built = full_report()
    labels = [report_view.label(f["figure"], t) for f in built["figures"]]
    assert not [label for label in labels if "." in label or "{" in label]  # no path, no placeholder
    for section in report.SECTIONS:
        assert t.has(f"kpi_section.{section}")


def test_numbers_are_written_the_readers_way():
    assert report_view.format_value(1234567, "count", "nl") == "1.234.567"
    assert report_view.format_value(1234567, "count", "en") == "1,234,567"
    assert report_view.format_value(1234567, "count", "fr") == "1\u202f234\u202f567"
    assert report_view.format_value(70.0, "pct", "nl") == "70,0\u00a0%"
    assert report_view.format_value(70.0, "pct", "en") == "70.0\u00a0%"
    assert report_view.format_value(2.35, "decimal", "fr") == "2,4"
    assert report_view.format_value(-12, "score", "nl") == "-12"
    assert report_view.format_value(None, "pct", "nl") == "–"
    target = {"rule": "at_least", "threshold": 70.0}
    assert report_view.target_text(target, "pct", "nl") == "≥\u00a070\u00a0%"
    assert report_view.target_text({"rule": "above", "threshold": 0.0}, "score", "en") == ">\u00a00"
    assert report_view.target_text({"rule": "at_least", "threshold": 72.5}, "pct", "fr") == "≥\u00a072,5\u00a0%"


def test_the_table_marks_each_year_of_a_target_row():
    t = translator("nl")
    sections = report_view.table(full_report(), t, "nl")
    assert [s["section"] for s in sections] == ["open_offer", "demand_driven", "totals"]
    rows = {row["figure"]: row for section in sections for row in section["rows"]}
    satisfaction = rows["open_offer.satisfaction_pct"]
    assert satisfaction["target"] == "≥\u00a070\u00a0%"
    assert [(c["text"], c["status"], c["status_text"], c["mark"]) for c in satisfaction["cells"]] == [
        ("–", "not_measured", "niet gemeten", "–"), ("70,0\u00a0%", "met", "gehaald", "✓")]
    assert rows["open_offer.nps.score"]["cells"][1]["status"] == "missed"  # 1 promoter, 1 detractor: 0
    assert rows["open_offer.participants"]["cells"][1] == {
        "text": "1.234.567", "measured": True, "status": None, "status_text": "", "mark": ""}
    assert rows["open_offer.activities_by_format.offline"]["sub"] and not rows["open_offer.activities"]["sub"]


def test_the_csv_has_stable_ids_and_codes_and_labels_in_the_readers_language():
    text = report_view.to_csv(full_report(), translator("fr"))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["figure", "section", "label", "2025", "2026", "target", "status_2025", "status_2026"]
    by_figure = {row[0]: row for row in rows[1:]}
    assert by_figure["open_offer.satisfaction_pct"] == [
        "open_offer.satisfaction_pct", "Offre ouverte", "Satisfaction", "", "70.0", ">= 70", "not_measured", "met"]
    assert by_figure["open_offer.participants"][3:] == ["0", "1234567", "", "", ""]
    assert by_figure["open_offer.participants_by_org_type.individu"][2] == "Participant·es : particuliers"
    assert by_figure["totals.recognised_reach.pct"][5:] == [">= 70", "missed", "missed"]


def test_a_goal_with_dots_has_its_row_value_and_label():
    counters = {"by_goal:SD1.OD4.activities": 2, "by_goal:SD1.OD4.participants": 9,
                "requests_delivered_goal:SD2.OD1": 3, "activities": 2}
    built = report.build(2026, [domain.annual_document(2026, counters, {})], domain.Thresholds())
    rows = {f["figure"]: f["values"] for f in built["figures"]}
    assert rows["open_offer.by_goal.SD1.OD4.activities"] == [2]
    assert rows["open_offer.by_goal.SD1.OD4.participants"] == [9]
    assert rows["demand_driven.requests_delivered_by_goal.SD2.OD1"] == [3]
    t = translator("nl")
    assert report_view.label("open_offer.by_goal.SD1.OD4.participants", t) == "Doelstelling SD1.OD4: deelnemers"
    assert report_view.label("open_offer.by_goal.none.dagdelen", t) == "Doelstelling (geen): dagdelen"
    assert report_view.label("demand_driven.requests_delivered_by_goal.SD2.OD1", translator("fr")) \
        == "Demandes réalisées, objectif SD2.OD1"


def test_the_definitions_printed_are_those_fixed_with_the_year():
    policy = ("vereniging", "beweging", "landelijke_vormingsinstelling", "volkshogeschool", "civiel_scw")
    built = report.build(2023, [domain.annual_document(2023, {}, {})], domain.Thresholds(), (), policy)
    assert built["definitions"]["primary_org_types"] == list(policy)
    printed = report_view.definitions(built, translator("fr"))
    assert printed[1] == ("Groupe cible primaire : associations, mouvements, institutions nationales de formation, "
                          "universités populaires, initiatives citoyennes. Toutes les autres organisations et "
                          "personnes forment le groupe cible secondaire.")
    assert "Europe/Brussels" in printed[0]
    default = report.build(2026, [domain.annual_document(2026, {}, {})], domain.Thresholds())
    assert default["definitions"]["primary_org_types"] == list(ORG_TYPES_RECOGNISED)
