"""How the gateway shows reporting's live dashboard (services/reporting/dashboard.py): labels,
numbers for people and the geometry of the monthly bar charts (inline SVG, no library).

static/dashboard.js repeats `show`, `bars` and `breakdown_rows` to update the page in place: keep
the two in step (the end-to-end tests compare a page updated in place with a fresh render).
"""
from __future__ import annotations

import json
import math
from datetime import date

from kernel.contract import ORG_TYPES, TARGET_GROUPS
from services.gateway.core.i18n import translator
from services.gateway.reporting.report_view import DASH, RULE_SIGNS, STATUS_MARKS

LANGUAGE = "en"  # the dashboard page is written in English (its template and script)
_ENGLISH = translator(LANGUAGE)

NBSP = "\u00a0"
STATUS_WORDS = {"met": "met", "missed": "missed", "not_measured": "not measured"}
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
ACTIVITY_STATUS = {"scheduled": "scheduled", "completed": "completed", "cancelled": "cancelled"}

TARGETS = {  # kpi -> (label, kind)
    "satisfaction_pct": ("Satisfaction (open offer)", "pct"),
    "nps": ("Net Promoter Score (open offer)", "score"),
    "recognised_reach_pct": ("Recognised organisations reached (both tracks)", "pct"),
}
ALERT_REASONS = {
    "activity_satisfaction_pct": "satisfaction below {satisfaction}{nbsp}%",
    "activity_nps": "NPS below {nps}",
}

# (path in the JSON answer, label, kind) of the year-to-date figures
FIGURES = (
    ("annual.open_offer.activities", "Activities held (completed)", "count"),
    ("annual.open_offer.cancelled_activities", "Activities cancelled", "count"),
    ("annual.open_offer.dagdelen", "Dagdelen (half-days), open offer", "count"),
    ("annual.open_offer.participants", "Participants, open offer", "count"),
    ("annual.open_offer.unique_participants", "Unique participants", "count"),
    ("annual.open_offer.participations", "Participations (person-days)", "count"),
    ("annual.open_offer.organisations_reached", "Organisations reached, open offer", "count"),
    ("annual.open_offer.coordinators_pct", "Coordinators among participants", "pct"),
    ("annual.open_offer.evaluations", "Evaluations answered", "count"),
    ("annual.demand_driven.requests_received", "Requests received (demand-driven)", "count"),
    ("annual.demand_driven.requests_delivered", "Requests delivered", "count"),
    ("annual.demand_driven.dagdelen", "Dagdelen, demand-driven", "count"),
    ("annual.demand_driven.participants", "Participants, demand-driven", "count"),
    ("annual.totals.activities", "Activities, both tracks (held + requests delivered)", "count"),
    ("annual.totals.participants", "Participants, both tracks", "count"),
    ("annual.totals.organisations_reached_tracks_added", "Organisations reached, the tracks added up", "count"),
    ("annual.totals.recognised_reach.reached", "Recognised organisations reached", "count"),
    ("annual.totals.recognised_reach.total", "Recognised organisations registered", "count"),
)

# (key in a month row, label, kind)
MONTH_COLUMNS = (
    ("activities", "Activities held", "count"),
    ("cancelled_activities", "Cancelled", "count"),
    ("dagdelen", "Dagdelen", "count"),
    ("participants", "Participants", "count"),
    ("participations", "Participations", "count"),
    ("evaluations", "Evaluations answered", "count"),
    ("satisfaction_pct", "Satisfaction", "pct"),
    ("nps", "NPS", "score"),
    ("requests_received", "Requests received", "count"),
    ("requests_delivered", "Requests delivered", "count"),
)

# (key in a month row, chart title, kind)
CHARTS = (
    ("participants", "Participants per month", "count"),
    ("activities", "Activities held per month", "count"),
    ("dagdelen", "Dagdelen per month", "count"),
    ("satisfaction_pct", "Satisfaction per month", "pct"),
)

# The 1.1 breakdowns, one table each: (id, caption, section of `annual`, what the rows are, columns).
# A column is (map in the section, measure inside each entry or None, heading). Rows are the keys
# of the maps (values found in events: a goal such as "SD1.OD4" holds dots), so the script walks
# them as object keys and never as a dotted path.
BREAKDOWNS = (
    ("oo-goal", "dash_bd_by_goal", "open_offer", "goal", (
        ("by_goal", "activities", "dash_col_activities"), ("by_goal", "dagdelen", "dash_col_dagdelen"),
        ("by_goal", "participants", "dash_col_participants"))),
    ("oo-theme", "dash_bd_by_theme", "open_offer", "theme", (
        ("by_theme", "activities", "dash_col_activities"), ("by_theme", "dagdelen", "dash_col_dagdelen"),
        ("by_theme", "participants", "dash_col_participants"))),
    ("oo-kind", "dash_bd_by_kind", "open_offer", "kind", (
        ("by_kind", "activities", "dash_col_activities"), ("by_kind", "dagdelen", "dash_col_dagdelen"),
        ("by_kind", "participants", "dash_col_participants"))),
    ("oo-org-type", "dash_bd_oo_org_type", "open_offer", "org_type", (
        ("unique_participants_by_org_type", None, "dash_col_unique_participants"),
        ("participations_by_org_type", None, "dash_col_participations"),
        ("organisations_reached_by_org_type", None, "dash_col_organisations_reached"))),
    ("oo-target-group", "dash_bd_oo_target_group", "open_offer", "target_group", (
        ("participations_by_target_group", None, "dash_col_participations"),)),
    ("dd-target-group", "dash_bd_dd_target_group", "demand_driven", "target_group", (
        ("dagdelen_by_target_group", None, "dash_col_dagdelen"),
        ("participations_by_target_group", None, "dash_col_participations"))),
    ("dd-org-type", "dash_bd_dd_org_type", "demand_driven", "org_type", (
        ("participants_by_org_type", None, "dash_col_participants"),
        ("organisations_reached_by_org_type", None, "dash_col_organisations_reached"))),
    ("dd-goal", "dash_bd_dd_goal", "demand_driven", "goal", (
        ("requests_delivered_by_goal", None, "dash_col_requests_delivered"),)),
)

# the charts' drawing area (SVG user units)
WIDTH, HEIGHT = 600, 220
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 8, 8, 22, 26
PLOT = HEIGHT - PAD_TOP - PAD_BOTTOM
SLOT = (WIDTH - PAD_LEFT - PAD_RIGHT) / 12
BAR = SLOT * 0.64


def _tenth(value: float) -> float:
    return math.floor(value * 10 + 0.5) / 10


def _threshold(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def show(value, kind: str) -> str:
    """A figure for people: a dash for nothing measured, counts with thousands separators,
    percentages with one decimal."""
    if value is None:
        return DASH
    if kind == "pct":
        return f"{_ENGLISH.decimal(value, 1)}{NBSP}%"
    return _ENGLISH.decimal(int(value))


def get(document: dict, path: str):
    """The figure at a dotted path of fixed keys (FIGURES, targets, months); breakdown keys hold dots:
    see breakdowns."""
    value = document
    for key in path.split("."):
        value = value[int(key)] if isinstance(value, list) else value.get(key) if isinstance(value, dict) else None
    return value


def chart_top(values: list, kind: str) -> float:
    """The value at the top of the drawing area: 100 for percentages, else the largest value (at least 1)."""
    if kind == "pct":
        return 100.0
    return float(max([v for v in values if v is not None] + [1]))


def bars(values: list, kind: str) -> list[dict]:
    """One bar per month: x, y, width, height, and where its value and month labels go."""
    top = chart_top(values, kind)
    out = []
    for index, value in enumerate(values):
        height = _tenth(max(float(value or 0), 0.0) / top * PLOT)
        x = _tenth(PAD_LEFT + index * SLOT + (SLOT - BAR) / 2)
        y = _tenth(PAD_TOP + PLOT - height)
        out.append({
            "x": x, "y": y, "width": _tenth(BAR), "height": height,
            "label_x": _tenth(x + BAR / 2), "label_y": _tenth(y - 5), "text": show(value, kind).replace(NBSP, ""),
            "month": MONTH_NAMES[index][:3],
        })
    return out


def target_y(threshold: float) -> float:
    return _tenth(PAD_TOP + PLOT - threshold / 100 * PLOT)


def charts(document: dict) -> list[dict]:
    satisfaction = next((target for target in document["targets"] if target["kpi"] == "satisfaction_pct"), None)
    out = []
    for key, title, kind in CHARTS:
        values = [row[key] for row in document["months"]]
        chart = {"key": key, "title": title, "kind": kind, "bars": bars(values, kind), "target": None}
        if kind == "pct" and satisfaction is not None:
            chart["target"] = {"y": target_y(satisfaction["threshold"]),
                               "text": f"target {_threshold(satisfaction['threshold'])}%"}
        out.append(chart)
    return out


def target_rule(target: dict) -> str:
    kind = TARGETS.get(target["kpi"], ("", "count"))[1]
    unit = f"{NBSP}%" if kind == "pct" else ""
    return f"{RULE_SIGNS.get(target['rule'], target['rule'])} {_threshold(target['threshold'])}{unit}"


def status_text(status: str) -> str:
    return f"{STATUS_MARKS.get(status, '')} {STATUS_WORDS.get(status, status)}".strip()


def alert_reasons(row: dict, rule: dict) -> str:
    values = {"satisfaction": _threshold(rule["satisfaction_below_pct"]), "nps": _threshold(rule["nps_below"]),
              "nbsp": NBSP}
    return "; ".join(ALERT_REASONS.get(kpi, kpi).format(**values) for kpi in row.get("alerts") or ())


def local_day(iso_date: str | None) -> str:
    """2026-05-05 as 05/05/2026 (British English's short date, as the script writes it)."""
    if not iso_date:
        return ""
    return _ENGLISH.date(date.fromisoformat(iso_date), "short")


def generated_at(moment) -> str:
    """The time the figures are from, 13:05:09 (as the script writes it when it updates them)."""
    return _ENGLISH.time(moment, "medium")


def row_labels(rows: str, t) -> dict[str, str]:
    """Words for the row keys a breakdown knows in advance; any other key (a goal, theme or kind) shows as it is."""
    if rows == "org_type":
        return {org_type: t(f"org_type.{org_type}") for org_type in ORG_TYPES}
    if rows == "target_group":
        return {group: t(f"target_group.{group}") for group in TARGET_GROUPS}
    return {"none": t("kpi_key.none")}


def breakdown_rows(annual: dict, section: str, columns: tuple) -> list[tuple[str, list]]:
    """(key, one count per column) for every key in the columns' maps, sorted; a key missing from one map counts 0."""
    maps = [((annual.get(section) or {}).get(field) or {}, measure) for field, measure, _ in columns]
    keys = sorted(set().union(*(entries for entries, _ in maps)))

    def count(entries: dict, measure: str | None, key: str) -> int:
        entry = entries.get(key)
        return ((entry or {}).get(measure) if measure else entry) or 0

    return [(key, [count(entries, measure, key) for entries, measure in maps]) for key in keys]


def breakdowns(document: dict, t) -> list[dict]:
    """The breakdown tables, each with what the script needs to rebuild it (`spec`, `labels`: JSON in
    data attributes)."""
    out = []
    for table_id, caption, section, rows, columns in BREAKDOWNS:
        labels = row_labels(rows, t)
        out.append({
            "id": table_id, "caption": t(caption), "row_heading": t(f"dash_col_{rows}"),
            "headings": [t(heading) for _, _, heading in columns],
            "rows": [(labels.get(key, key), values) for key, values in
                     breakdown_rows(document["annual"], section, columns)],
            "spec": json.dumps({"section": section, "columns": [[field, measure] for field, measure, _ in columns]}),
            "labels": json.dumps(labels, ensure_ascii=False),
        })
    return out


def context(document: dict) -> dict:
    """What the template needs besides the document."""
    t = _ENGLISH
    return {
        "figures": FIGURES, "month_columns": MONTH_COLUMNS, "month_names": MONTH_NAMES,
        "charts": charts(document), "breakdowns": breakdowns(document, t),
        "breakdown_texts": {"heading": t("dash_breakdowns"),
                            "intro": t("dash_breakdowns_intro", none=t("kpi_key.none")),
                            "empty": t("dash_bd_empty")},
        "targets_shown": TARGETS, "show": show, "get": get,
        "target_rule": target_rule, "status_text": status_text, "alert_reasons": alert_reasons,
        "local_day": local_day, "activity_status": ACTIVITY_STATUS, "threshold": _threshold,
        "alerts": [row for row in document["activities"] if row.get("alert")],
        "chart_size": {"width": WIDTH, "height": HEIGHT, "baseline": PAD_TOP + PLOT},
    }
