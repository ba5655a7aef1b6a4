"""How the gateway shows reporting's annual report (services/reporting/report.py): the rows of
the printable HTML table and the CSV, with labels in the reader's language.

Labels come from the gateway's catalog (services/gateway/locale); numbers are written the
reader's way in HTML with Babel (70,0 % in Dutch and French, 70.0 % in English) and plainly in CSV
(70.0), where the `figure` column and the status codes (met / missed / not_measured) stay the same
in every language.
"""
from __future__ import annotations

import csv
import io

from kernel.contract import ORG_TYPES
from services.gateway.core.i18n import translator

RULE_SIGNS = {"at_least": "≥", "above": ">"}
CSV_RULE_SIGNS = {"at_least": ">=", "above": ">"}
STATUS_MARKS = {"met": "✓", "missed": "✗", "not_measured": "–"}
DASH = "–"


# Figures keyed by a value found in the events (a goal, theme or kind; a goal holds dots):
# the key is written `*` and passed as {value}; a breakdown's measure follows the key.
_KEYED_MEASURED = ("by_goal", "by_theme", "by_kind")
_KEYED = ("requests_delivered_by_goal",)


def label(figure: str, t) -> str:
    """The figure's label: `kpi.<path without section>`, an organisation type written `*`."""
    parts = figure.split(".")[1:]
    if parts[0] in _KEYED_MEASURED and len(parts) >= 3:
        return _keyed_label(t, f"kpi.{parts[0]}.*.{parts[-1]}", ".".join(parts[1:-1]), figure)
    if parts[0] in _KEYED and len(parts) >= 2:
        return _keyed_label(t, f"kpi.{parts[0]}.*", ".".join(parts[1:]), figure)
    org_type = next((part for part in parts if part in ORG_TYPES), None)
    key = "kpi." + ".".join("*" if part in ORG_TYPES else part for part in parts)
    if t(key) == key:  # a figure with no label yet (added to the document later): its path
        return figure
    if org_type is None:
        return t(key)
    return t(key, org_type=t(f"org_type.{org_type}"))


def _keyed_label(t, name: str, key: str, figure: str) -> str:
    if t(name) == name:
        return figure
    return t(name, value=t("kpi_key.none") if key == "none" else key)


def definitions(report: dict, t) -> list[str]:
    """The report's definitions (reporting's report.definitions), one sentence each, in the reader's language."""
    used = report["definitions"]
    types = ", ".join(t(f"org_type.{org_type}") for org_type in used["primary_org_types"])
    return [t("rp_def_period", time_zone=used["time_zone"]), t("rp_def_primary", types=types),
            t("rp_def_participant"), t("rp_def_participation"), t("rp_def_organisation")]


def _number(value, digits: int, lang: str) -> str:
    return translator(lang).decimal(value, digits)


def format_value(value, kind: str, lang: str) -> str:
    """A figure for people: None as a dash, percentages with one decimal and a % sign."""
    if value is None:
        return DASH
    if kind == "pct":
        return _number(value, 1, lang) + "\u00a0%"
    if kind == "decimal":
        return _number(value, 1, lang)
    return _number(value, 0, lang)


def _threshold(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def target_text(target: dict | None, kind: str, lang: str) -> str:
    if not target:
        return ""
    threshold = target["threshold"]
    shown = _number(threshold, 0 if float(threshold).is_integer() else 1, lang)
    return f"{RULE_SIGNS[target['rule']]}\u00a0{shown}" + ("\u00a0%" if kind == "pct" else "")


def table(report: dict, t, lang: str) -> list[dict]:
    """The HTML table's sections: [{"section", "title", "rows": [{"label", "cells", "target", ...}]}]."""
    sections: list[dict] = []
    for figure in report["figures"]:
        if not sections or sections[-1]["section"] != figure["section"]:
            sections.append({"section": figure["section"], "title": t(f"kpi_section.{figure['section']}"),
                             "rows": []})
        target = figure["target"]
        cells = [{"text": format_value(value, figure["kind"], lang), "measured": value is not None, "status": None,
                  "status_text": "", "mark": "", "imported": True} for value in figure.get("imported_values", ())]
        for index, value in enumerate(figure["values"]):
            status = target["status"][index] if target else None
            cells.append({
                "text": format_value(value, figure["kind"], lang),
                "measured": value is not None,
                "status": status,
                "status_text": t(f"kpi_status.{status}") if status else "",
                "mark": STATUS_MARKS.get(status, ""),
            })
        sections[-1]["rows"].append({
            "figure": figure["figure"],
            "label": label(figure["figure"], t),
            "sub": figure["figure"].count(".") > 1 and target is None,
            "cells": cells,
            "target": target_text(target, figure["kind"], lang),
        })
    return sections


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return value


def to_csv(report: dict, t) -> str:
    """One row per figure, one column per year, then the target and one status column per year.
    UTF-8 with a byte-order mark, so that spreadsheets read the accents right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    years = report["years"]
    imported = [f"imported_{entry['period']}" for entry in report.get("imported", ())]
    writer.writerow(["figure", "section", "label", *imported, *[str(year) for year in years], "target",
                     *[f"status_{year}" for year in years]])
    for figure in report["figures"]:
        target = figure["target"]
        writer.writerow([
            figure["figure"],
            t(f"kpi_section.{figure['section']}"),
            label(figure["figure"], t),
            *[_csv_value(value) for value in figure.get("imported_values", ())],
            *[_csv_value(value) for value in figure["values"]],
            f"{CSV_RULE_SIGNS[target['rule']]} {_threshold(target['threshold'])}" if target else "",
            *(target["status"] if target else ["" for _ in years]),
        ])
    return "\ufeff" + out.getvalue()
