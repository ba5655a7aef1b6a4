"""How the gateway shows reporting's live dashboard (services/reporting/dashboard.py): labels,
numbers for people and the geometry of the monthly bar charts (inline SVG, no library), in the
viewer's language (`t`, a translator: every word from the pages' catalogs).

static/dashboard.js repeats `show`, `bars` and `breakdown_rows` to update the page in place: keep
the two in step (the end-to-end tests compare a page updated in place with a fresh render). The
script takes its words and the language's number separators from the page (`script_words`).
"""
from __future__ import annotations

import json
import math
from datetime import date

from babel import dates, numbers

from kernel.contract import ORG_TYPES, TARGET_GROUPS
from services.gateway.reporting.report_view import DASH, RULE_SIGNS, STATUS_MARKS

NBSP = "\u00a0"
ACTIVITY_STATUSES = ("scheduled", "completed", "cancelled")  # each with its word, dashboard_status_<status>

TARGETS = {  # kpi -> (label, kind)
    "satisfaction_pct": ("dashboard_target_satisfaction_pct", "pct"),
    "nps": ("dashboard_target_nps", "score"),
    "recognised_reach_pct": ("dashboard_target_recognised_reach_pct", "pct"),
}
ALERT_REASONS = {
    "activity_satisfaction_pct": "dashboard_reason_satisfaction",
    "activity_nps": "dashboard_reason_nps",
}

# (path in the JSON answer, label, kind) of the year-to-date figures
FIGURES = (
    ("annual.open_offer.activities", "dashboard_fig_oo_activities", "count"),
    ("annual.open_offer.cancelled_activities", "dashboard_fig_oo_cancelled", "count"),
    ("annual.open_offer.dagdelen", "dashboard_fig_oo_dagdelen", "count"),
    ("annual.open_offer.participants", "dashboard_fig_oo_participants", "count"),
    ("annual.open_offer.unique_participants", "dashboard_fig_oo_unique_participants", "count"),
    ("annual.open_offer.participations", "dashboard_fig_oo_participations", "count"),
    ("annual.open_offer.organisations_reached", "dashboard_fig_oo_organisations_reached", "count"),
    ("annual.open_offer.coordinators_pct", "dashboard_fig_oo_coordinators_pct", "pct"),
    ("annual.open_offer.evaluations", "dashboard_fig_oo_evaluations", "count"),
    ("annual.demand_driven.requests_received", "dashboard_fig_dd_requests_received", "count"),
    ("annual.demand_driven.requests_delivered", "dashboard_fig_dd_requests_delivered", "count"),
    ("annual.demand_driven.dagdelen", "dashboard_fig_dd_dagdelen", "count"),
    ("annual.demand_driven.participants", "dashboard_fig_dd_participants", "count"),
    ("annual.totals.activities", "dashboard_fig_totals_activities", "count"),
    ("annual.totals.participants", "dashboard_fig_totals_participants", "count"),
    ("annual.totals.organisations_reached_tracks_added", "dashboard_fig_totals_organisations_tracks_added", "count"),
    ("annual.totals.recognised_reach.reached", "dashboard_fig_totals_recognised_reached", "count"),
    ("annual.totals.recognised_reach.total", "dashboard_fig_totals_recognised_total", "count"),
)

# (key in a month row, label, kind)
MONTH_COLUMNS = (
    ("activities", "dashboard_month_activities", "count"),
    ("cancelled_activities", "dashboard_month_cancelled", "count"),
    ("dagdelen", "dashboard_month_dagdelen", "count"),
    ("participants", "dashboard_month_participants", "count"),
    ("participations", "dashboard_month_participations", "count"),
    ("evaluations", "dashboard_month_evaluations", "count"),
    ("satisfaction_pct", "dashboard_month_satisfaction", "pct"),
    ("nps", "dashboard_month_nps", "score"),
    ("requests_received", "dashboard_month_requests_received", "count"),
    ("requests_delivered", "dashboard_month_requests_delivered", "count"),
)

# (key in a month row, chart title, kind)
CHARTS = (
    ("participants", "dashboard_chart_participants", "count"),
    ("activities", "dashboard_chart_activities", "count"),
    ("dagdelen", "dashboard_chart_dagdelen", "count"),
    ("satisfaction_pct", "dashboard_chart_satisfaction", "pct"),
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


def show(value, kind: str, t) -> str:
    """A figure for people: a dash for nothing measured, counts with the language's thousands
    separators, percentages with one decimal."""
    if value is None:
        return DASH
    if kind == "pct":
        return f"{t.decimal(value, 1)}{NBSP}%"
    return t.decimal(int(value))


def month_names(t, width: str = "wide") -> list[str]:
    """January to December in the viewer's language ("abbreviated": Jan, jan., janv.)."""
    names = dates.get_month_names(width, locale=t.locale)
    return [names[month] for month in range(1, 13)]


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


def bars(values: list, kind: str, t) -> list[dict]:
    """One bar per month: x, y, width, height, and where its value and month labels go."""
    top = chart_top(values, kind)
    months = month_names(t, "abbreviated")
    out = []
    for index, value in enumerate(values):
        height = _tenth(max(float(value or 0), 0.0) / top * PLOT)
        x = _tenth(PAD_LEFT + index * SLOT + (SLOT - BAR) / 2)
        y = _tenth(PAD_TOP + PLOT - height)
        out.append({
            "x": x, "y": y, "width": _tenth(BAR), "height": height,
            "label_x": _tenth(x + BAR / 2), "label_y": _tenth(y - 5), "text": show(value, kind, t).replace(NBSP, ""),
            "month": months[index],
        })
    return out


def target_y(threshold: float) -> float:
    return _tenth(PAD_TOP + PLOT - threshold / 100 * PLOT)


def charts(document: dict, t) -> list[dict]:
    satisfaction = next((target for target in document["targets"] if target["kpi"] == "satisfaction_pct"), None)
    out = []
    for key, title, kind in CHARTS:
        values = [row[key] for row in document["months"]]
        chart = {"key": key, "title": t(title), "kind": kind, "bars": bars(values, kind, t), "target": None}
        if kind == "pct" and satisfaction is not None:
            chart["target"] = {"y": target_y(satisfaction["threshold"]),
                               "text": t("dashboard_chart_target", value=_threshold(satisfaction["threshold"]))}
        out.append(chart)
    return out


def target_rule(target: dict) -> str:
    kind = TARGETS.get(target["kpi"], ("", "count"))[1]
    unit = f"{NBSP}%" if kind == "pct" else ""
    return f"{RULE_SIGNS.get(target['rule'], target['rule'])} {_threshold(target['threshold'])}{unit}"


def status_words(t) -> dict[str, str]:
    return {status: t(f"kpi_status.{status}") for status in STATUS_MARKS}


def status_text(status: str, t) -> str:
    return f"{STATUS_MARKS.get(status, '')} {status_words(t).get(status, status)}".strip()


def alert_reasons(row: dict, rule: dict, t) -> str:
    values = {"satisfaction": _threshold(rule["satisfaction_below_pct"]), "nps": _threshold(rule["nps_below"])}
    alerts = row.get("alerts") or ()
    return "; ".join(t(ALERT_REASONS[kpi], **values) if kpi in ALERT_REASONS else kpi for kpi in alerts)


def local_day(iso_date: str | None, t) -> str:
    """2026-05-05 as the language writes a day in figures (05/05/2026, 05-05-2026), as the script does."""
    if not iso_date:
        return ""
    day = date.fromisoformat(iso_date)
    return t("dashboard_day", day=f"{day.day:02d}", month=f"{day.month:02d}", year=f"{day.year:04d}")


def generated_at(moment, t) -> str:
    """The time the figures are from, 13:05:09 (as the script writes it when it updates them)."""
    return t.time(moment, "medium")


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


def script_words(document: dict, t) -> str:
    """What static/dashboard.js writes, in the viewer's language (JSON for a data attribute): the
    words, the number separators and the patterns with their {placeholders} left for the script."""
    keep = {name: "{" + name + "}" for name in ("n", "time", "satisfaction", "nps")}
    return json.dumps({
        "group": numbers.get_group_symbol(t.locale), "decimal": numbers.get_decimal_symbol(t.locale),
        "status": status_words(t), "activity_status": {s: t(f"dashboard_status_{s}") for s in ACTIVITY_STATUSES},
        "reasons": {kpi: t(key, **keep) for kpi, key in ALERT_REASONS.items()},
        "day": t("dashboard_day", day="{day}", month="{month}", year="{year}"),
        "flag": t("dashboard_flag"), "no": t("dashboard_no"),
        "no_activities": t("dashboard_no_activities", year=document["year"]),
        "alert_count_one": t.ngettext("dashboard_alert_count", 1, n="{n}"),
        "alert_count_other": t.ngettext("dashboard_alert_count", 2, n="{n}"), "no_alert": t("dashboard_no_alert"),
        "updated": t("dashboard_updated", time="{time}"), "signed_out": t("dashboard_signed_out"),
        "live_again": t("dashboard_live_again", time="{time}"), "failed": t("dashboard_refresh_failed"),
    }, ensure_ascii=False)


def context(document: dict, t) -> dict:
    """What the template needs besides the document, in the viewer's language (`t`)."""
    return {
        "figures": [(path, t(label), kind) for path, label, kind in FIGURES],
        "month_columns": [(key, t(label), kind) for key, label, kind in MONTH_COLUMNS],
        "month_names": month_names(t), "charts": charts(document, t), "breakdowns": breakdowns(document, t),
        "breakdown_texts": {"heading": t("dash_breakdowns"),
                            "intro": t("dash_breakdowns_intro", none=t("kpi_key.none")),
                            "empty": t("dash_bd_empty")},
        "targets_shown": {kpi: (t(label), kind) for kpi, (label, kind) in TARGETS.items()},
        "show": lambda value, kind: show(value, kind, t), "get": get, "target_rule": target_rule,
        "status_text": lambda status: status_text(status, t),
        "alert_reasons": lambda row, rule: alert_reasons(row, rule, t),
        "local_day": lambda iso_date: local_day(iso_date, t),
        "activity_status": {s: t(f"dashboard_status_{s}") for s in ACTIVITY_STATUSES}, "threshold": _threshold,
        "alerts": [row for row in document["activities"] if row.get("alert")],
        "chart_size": {"width": WIDTH, "height": HEIGHT, "baseline": PAD_TOP + PLOT},
        "script_words": script_words(document, t),
    }
