"""The live dashboard's numbers and bar charts (static/dashboard.js repeats them; the end-to-end
test compares the page it updates with a fresh render)."""
from __future__ import annotations

import json

from services.gateway.core.i18n import translator
from services.gateway.reporting import dashboard_view as view

ENGLISH = translator("en")


def test_figures_for_people():
    assert view.show(None, "pct", ENGLISH) == "–" and view.show(None, "count", ENGLISH) == "–"
    assert view.show(70.0, "pct", ENGLISH) == "70.0\u00a0%"
    assert view.show(1234, "count", ENGLISH) == "1,234"
    assert view.show(-67, "score", ENGLISH) == "-67"


def test_figures_words_and_days_in_dutch_and_french():
    dutch, french = translator("nl"), translator("fr")
    assert view.show(1234, "count", dutch) == "1.234" and view.show(70.0, "pct", dutch) == "70,0\u00a0%"
    assert view.show(1234, "count", french) == "1\u202f234" and view.show(62.5, "pct", french) == "62,5\u00a0%"
    assert view.local_day("2026-05-05", dutch) == "05-05-2026" and view.local_day("2026-05-05", french) == "05/05/2026"
    assert view.status_text("missed", dutch) == "✗ niet gehaald"
    assert [bar["month"] for bar in view.bars([0] * 12, "count", french)[:2]] == ["janv.", "févr."]
    words = json.loads(view.script_words({"year": 2026}, dutch))
    assert (words["group"], words["decimal"]) == (".", ",")
    assert words["alert_count_other"] == "{n} activiteiten met een alarm:" and words["updated"].endswith("{time}.")
    assert words["reasons"]["activity_nps"] == "NPS onder {nps}"


def test_bars_scale_to_the_largest_month_and_percentages_to_100():
    values = [0, 2, None, 4] + [0] * 8
    bars = view.bars(values, "count", ENGLISH)
    assert len(bars) == 12
    assert bars[3]["height"] == view.PLOT and bars[1]["height"] == view.PLOT / 2 and bars[2]["height"] == 0
    assert bars[3]["y"] == view.PAD_TOP and bars[0]["y"] == view.PAD_TOP + view.PLOT
    assert [bar["text"] for bar in bars[:4]] == ["0", "2", "–", "4"]
    assert [bar["month"] for bar in bars[:2]] == ["Jan", "Feb"]
    assert bars[1]["x"] < bars[2]["x"] and bars[11]["x"] + bars[11]["width"] <= view.WIDTH
    pct = view.bars([50.0] + [None] * 11, "pct", ENGLISH)
    assert pct[0]["height"] == view.PLOT / 2 and pct[0]["text"] == "50.0%"
    assert view.bars([0] * 12, "count", ENGLISH)[0]["height"] == 0  # nothing yet: no division by zero


def test_alert_reasons_and_targets_in_words():
    rule = {"min_respondents": 5, "satisfaction_below_pct": 60.0, "nps_below": 0.0}
    row = {"alerts": ["activity_satisfaction_pct", "activity_nps"]}
    assert view.alert_reasons(row, rule, ENGLISH) == "satisfaction below 60\u00a0%; NPS below 0"
    assert view.target_rule({"kpi": "satisfaction_pct", "rule": "at_least", "threshold": 70.0}) == "≥ 70\u00a0%"
    assert view.target_rule({"kpi": "nps", "rule": "above", "threshold": 0.0}) == "> 0"
    assert view.status_text("missed", ENGLISH) == "✗ missed"
    assert view.status_text("not_measured", ENGLISH) == "– not measured"


def test_breakdown_rows_keep_dotted_keys_and_count_missing_keys_as_zero():
    annual = {"demand_driven": {"dagdelen_by_target_group": {"primary": 4},
                                "participations_by_target_group": {"primary": 9, "secondary": 2}},
              "open_offer": {"by_goal": {"SD2.OD1": {"activities": 1, "dagdelen": 2, "participants": 5},
                                         "SD1.OD4": {"activities": 3, "dagdelen": 7, "participants": 40}}}}
    columns = (("dagdelen_by_target_group", None, "h"), ("participations_by_target_group", None, "h"))
    assert view.breakdown_rows(annual, "demand_driven", columns) == [
        ("primary", [4, 9]), ("secondary", [0, 2])]
    measured = (("by_goal", "participants", "h"), ("by_goal", "activities", "h"))
    assert view.breakdown_rows(annual, "open_offer", measured) == [
        ("SD1.OD4", [40, 3]), ("SD2.OD1", [5, 1])]
    assert view.breakdown_rows({"open_offer": {}}, "open_offer", measured) == []


def test_breakdown_tables_name_org_types_and_target_groups_in_words():
    annual = {"open_offer": {"unique_participants_by_org_type": {"vereniging": 2}, "by_goal": {"none": {
        "activities": 1, "dagdelen": 1, "participants": 1}}}, "demand_driven": {}}
    tables = {table["id"]: table for table in view.breakdowns({"annual": annual}, translator("en"))}
    assert tables["oo-org-type"]["rows"] == [("associations", [2, 0, 0])]
    assert tables["oo-goal"]["rows"] == [("(none)", [1, 1, 1])]
    assert tables["dd-goal"]["rows"] == []
    assert json.loads(tables["oo-goal"]["spec"])["columns"][0] == ["by_goal", "activities"]
    assert json.loads(tables["dd-target-group"]["labels"]) == {"primary": "primary target group",
                                                              "secondary": "secondary target group"}
