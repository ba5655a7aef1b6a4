"""The annual report in plain Python: the key-figure table (*kengetallen*) of a year with
previous years beside it, one row per figure, and the yearly targets marked met or missed.

It only composes annual documents (domain.annual_document, DESIGN.md's shape, unchanged)
and the yearly targets (domain.YEAR_TARGETS with the configured domain.Thresholds); it
computes no figure of its own. Labels and layout are the gateway's (HTML and CSV).

    {"year": 2026, "years": [2024, 2025, 2026],          # oldest first, the year itself last
     "documents": [<annual document>, ...],               # aligned with `years`
     "targets": [{"kpi", "figure", "rule", "threshold", "values": [...], "status": [...]}],
     "figures": [{"figure": "open_offer.activities", "section": "open_offer", "kind": "count",
                  "values": [...], "target": null | {"kpi", "rule", "threshold", "status": [...]}}],
     "imported": [{"period": "2011-2015", "document": {...}}, ...],  # prior periods, each figure's
                                                         # "imported_values" aligned with them
     "definitions": {"period": "calendar_year", "time_zone": "Europe/Brussels",
                     "primary_org_types": [...], "participant": "attended_registration", ...}}

`status` is "met", "missed" or "not_measured" (the figure is null: nothing measured).
"""
from __future__ import annotations

from kernel.config import CENTRE_TIMEZONE
from kernel.contract import ORG_TYPES, ORG_TYPES_RECOGNISED
from services.reporting import domain

SECTIONS = ("open_offer", "demand_driven", "totals")
DEFAULT_PREVIOUS_YEARS = 4  # by default: those of the 4 years before that have any figure
MAX_PREVIOUS_YEARS = 9


def _rank(key: str) -> tuple[int, str]:
    return (ORG_TYPES.index(key), key) if key in ORG_TYPES else (len(ORG_TYPES), key)


def _shape(document: dict) -> dict:
    """The keys of a document as a tree (leaves None), in the document's order."""
    return {key: _shape(value) if isinstance(value, dict) else None for key, value in document.items()}


def _merge(tree: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict):
            _merge(tree.setdefault(key, {}), value)
        else:
            tree.setdefault(key, None)


def _paths(tree: dict, template: dict | None, prefix: tuple = ()) -> list[str]:
    """Dotted leaf paths; the keys of a part that is empty in the template (participants
    per organisation type, reach per recognised type) in the contract's type order."""
    keys = list(tree)
    if template == {}:
        keys.sort(key=_rank)
    out = []
    for key in keys:
        child = tree[key]
        path = prefix + (key,)
        if isinstance(child, dict):
            out += _paths(child, (template or {}).get(key) if template is not None else None, path)
        else:
            out.append(".".join(path))
    return out


def figure_paths(documents: list[dict]) -> list[str]:
    """Every figure of the documents, in the document's order (the union over the years:
    an organisation type reached in one year only still gets its row)."""
    template = _shape(domain.annual_document(0, {}, {}))
    template.pop("year")
    tree = _shape(template)
    for document in documents:
        _merge(tree, {key: value for key, value in document.items() if key != "year"})
    return _paths(tree, template)


def value_at(document: dict, path: str):
    """The figure at `path`; 0 when the document has no such key (a type not reached that year).
    A key may itself hold dots (a goal such as SD1.OD4): the longest key present is taken."""
    return _value_at(document, path.split("."))


def _value_at(value, parts: list[str]):
    if not parts:
        return value
    if not isinstance(value, dict):
        return 0
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in value:
            return _value_at(value[key], parts[end:])
    return 0


def kind_of(path: str) -> str:
    name = path.rsplit(".", 1)[-1]
    if name == "pct" or name.endswith("_pct"):
        return "pct"
    if name.startswith("avg_"):
        return "decimal"
    if path.endswith("nps.score"):
        return "score"
    return "count"


def definitions(primary_org_types=None) -> dict:
    """What the figures count, as codes (the gateway words them): a year is a calendar year in the
    centre's time zone; the primary group the types fixed with the year's figures (None: the
    recognised types, as the events' `target_group` carries them); a participant an attended
    registration, a participation a person-day, an organisation reached a distinct organisation
    among participants (DESIGN.md)."""
    return {
        "period": "calendar_year",
        "time_zone": CENTRE_TIMEZONE.key,
        "primary_org_types": list(primary_org_types or ORG_TYPES_RECOGNISED),
        "participant": "attended_registration",
        "participation": "person_day",
        "organisation_reached": "distinct_organisation_of_participants",
    }


def build(year: int, documents: list[dict], thresholds: domain.Thresholds,
          imported: list[tuple[str, dict]] = (), primary_org_types=None) -> dict:
    """The report of `year` from the annual documents of the years shown (oldest first, `year` last),
    with the `imported` prior periods ((period, document), oldest first) in columns before them."""
    years = [document["year"] for document in documents]
    if not years or years[-1] != year:
        raise ValueError("the documents must end with the report's year")
    per_year = [domain.year_targets(document, thresholds) for document in documents]
    targets = []
    for index, target in enumerate(domain.YEAR_TARGETS):
        evaluated = [evaluation[index] for evaluation in per_year]
        targets.append({
            "kpi": target.kpi, "figure": target.figure, "rule": target.rule,
            "threshold": target.threshold(thresholds),
            "values": [e["value"] for e in evaluated], "status": [e["status"] for e in evaluated],
        })
    by_figure = {target["figure"]: target for target in targets}
    figures = []
    for path in figure_paths(documents + [document for _, document in imported]):
        target = by_figure.get(path)
        figures.append({
            "figure": path,
            "section": path.split(".", 1)[0],
            "kind": kind_of(path),
            "values": [value_at(document, path) for document in documents],
            "imported_values": [value_at(document, path) for _, document in imported],
            "target": None if target is None else {
                "kpi": target["kpi"], "rule": target["rule"], "threshold": target["threshold"],
                "status": target["status"],
            },
        })
    return {"year": year, "years": years, "documents": documents, "targets": targets, "figures": figures,
            "imported": [{"period": period, "document": document} for period, document in imported],
            "definitions": definitions(primary_org_types)}


def years_shown(year: int, previous_years: int | None, years_with_data: set[int]) -> list[int]:
    """The years of the report, oldest first. previous_years None: those of the
    DEFAULT_PREVIOUS_YEARS years before `year` that have any figure; a number: exactly
    that many years before it, with or without figures."""
    if previous_years is None:
        earlier = [y for y in range(year - DEFAULT_PREVIOUS_YEARS, year) if y in years_with_data]
    else:
        earlier = list(range(year - previous_years, year))
    return earlier + [year]
