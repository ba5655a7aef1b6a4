"""Prior years: the centre's figures from before the platform (the 2011-2015 averages, and each
year since 2016), imported from a CSV or JSON file and kept apart from the live aggregates
(table `prior_figures`); and the export of a live year in the same CSV, so that a year exported
can come back as a prior year with the same figures.

CSV, UTF-8, header `period,figure,value`, one line per figure: the period `2016` or `2011-2015`,
the figure's dotted path in the annual document (`open_offer.participants`,
`open_offer.by_goal.SD1.OD4.activities`), the value a number or empty (nothing measured).
JSON: `[{"period": "2016", "figures": {"open_offer.participants": 1234, ...}}, ...]`.
A file with any line that does not fit the document's fields is refused whole, and every such
line is listed.

    python -m ops reporting import-prior FILE
    python -m ops reporting export-year YEAR [--output FILE]
"""
from __future__ import annotations

import argparse
import copy
import csv
import io
import json
import math
import re
import sys
from pathlib import Path

from sqlalchemy import delete, select

from kernel.contract import ORG_TYPES
from kernel.db import ServiceDatabase
from kernel.tables import utcnow
from services.reporting import domain, store
from services.reporting.models import prior_figures

PERIOD = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
HEADER = ["period", "figure", "value"]
BREAKDOWN_MEASURES = ("activities", "dagdelen", "participants")
# The maps of the document whose keys are values found in events: what a key may be, and the
# measures under each key (None: the key holds the number itself).
KEYED_MAPS = {
    "open_offer.participants_by_org_type": (ORG_TYPES, None),
    "open_offer.unique_participants_by_org_type": (ORG_TYPES, None),
    "open_offer.participations_by_org_type": (ORG_TYPES, None),
    "open_offer.organisations_reached_by_org_type": (ORG_TYPES, None),
    "open_offer.recognised_reach.by_org_type": (ORG_TYPES, ("reached", "total")),
    "open_offer.by_goal": (None, BREAKDOWN_MEASURES),
    "open_offer.by_theme": (None, BREAKDOWN_MEASURES),
    "open_offer.by_kind": (None, BREAKDOWN_MEASURES),
    "demand_driven.participants_by_org_type": (ORG_TYPES, None),
    "demand_driven.organisations_reached_by_org_type": (ORG_TYPES, None),
    "demand_driven.requests_delivered_by_goal": (None, None),
}


class Refused(Exception):
    """The file does not fit: nothing was imported. `problems` lists every line that did not."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} line(s) could not be read")
        self.problems = problems


def _template() -> dict:
    document = domain.annual_document(0, {}, {})
    document.pop("year")
    return document


def flatten(document: dict, prefix: str = "") -> dict:
    """{dotted path: value} of every figure of a document (its `year` left out)."""
    out = {}
    for key, value in document.items():
        if not prefix and key == "year":
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def _fixed_paths() -> set[str]:
    return set(flatten(_template()))


def locate(path: str) -> list[str] | None:
    """The keys leading to the figure at `path` in the document, or None when the document has
    no such figure. A key of a keyed map may hold dots (a goal such as SD1.OD4)."""
    if path in _fixed_paths():
        return path.split(".")
    for prefix, (keys, measures) in KEYED_MAPS.items():
        if not path.startswith(prefix + "."):
            continue
        rest = path[len(prefix) + 1:]
        measure = None
        if measures is not None:
            rest, _, measure = rest.rpartition(".")
            if measure not in measures:
                return None
        if not rest or (keys is not None and rest not in keys):
            return None
        return prefix.split(".") + [rest] + ([measure] if measure else [])
    return None


def unflatten(figures: dict) -> dict:
    """The document of `figures` ({path: value}): a figure the file did not give is null
    (not known), a keyed map it did not give is empty."""
    document = copy.deepcopy(_template())
    for path in flatten(document):
        _put(document, path.split("."), None)
    for path, value in figures.items():
        _put(document, locate(path), value)
    return document


def _put(document: dict, keys: list[str], value) -> None:
    for key in keys[:-1]:
        document = document.setdefault(key, {})
    document[keys[-1]] = value


def _number(text):
    """A CSV cell or JSON value as a figure: int, float or None; ValueError otherwise."""
    if text is None or text == "":
        return None
    if isinstance(text, bool):
        raise ValueError("not a number")
    if isinstance(text, int | float):
        value = text
    elif re.fullmatch(r"-?\d+", text.strip()):
        value = int(text)
    else:
        value = float(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _check_period(period) -> str:
    match = PERIOD.match(str(period).strip()) if period is not None else None
    if not match or (match.group(2) and int(match.group(2)) < int(match.group(1))):
        raise ValueError(f"period {period!r} is neither a year nor a range of years")
    return str(period).strip()


def _entries(text: str, json_file: bool):
    """(where, period, figure, value) of every line of the file, as written."""
    if json_file:
        try:
            periods = json.loads(text)
        except ValueError as error:
            raise Refused([f"not JSON: {error}"]) from None
        if not isinstance(periods, list):
            raise Refused(["the file must hold a list of periods"])
        for number, entry in enumerate(periods, start=1):
            if not isinstance(entry, dict) or not isinstance(entry.get("figures"), dict):
                yield f"period {number}", None, None, None
                continue
            for figure, value in entry["figures"].items():
                yield f"period {number} ({entry.get('period')}), {figure}", entry.get("period"), figure, value
        return
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(rows, None)
    if header != HEADER:
        raise Refused([f"line 1: the header must be {','.join(HEADER)}, not {','.join(header or [])}"])
    for number, row in enumerate(rows, start=2):
        if len(row) != 3:
            yield f"line {number}: {','.join(row)}", None, None, None
            continue
        yield f"line {number}: {','.join(row)}", *row


def parse(text: str, json_file: bool = False) -> dict[str, dict]:
    """{period: {figure: value}} of a whole file; Refused listing every line that does not fit."""
    periods: dict[str, dict] = {}
    problems = []
    for where, period, figure, value in _entries(text, json_file):
        try:
            if figure is None:
                raise ValueError("not a period, a figure and a value")
            period = _check_period(period)
            if locate(figure) is None:
                raise ValueError(f"the document has no figure {figure!r}")
            if figure in periods.get(period, {}):
                raise ValueError(f"{figure} given twice for {period}")
            periods.setdefault(period, {})[figure] = _number(value)
        except ValueError as error:
            problems.append(f"{where}: {error}")
    if problems:
        raise Refused(problems)
    if not periods:
        raise Refused(["no figures in the file"])
    return periods


def to_csv(year: int, document: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for figure, value in flatten(document).items():
        writer.writerow([str(year), figure, "" if value is None else value])
    return out.getvalue()


# ------------------------------------------------------------------------------------- storage


def save(session, periods: dict[str, dict]) -> None:
    """Replace the stored figures of the file's periods (the other periods stay)."""
    session.execute(delete(prior_figures).where(prior_figures.c.period.in_(list(periods))))
    now = utcnow()
    session.execute(prior_figures.insert(), [
        {"period": period, "document": json.dumps(figures, sort_keys=True), "imported_at": now}
        for period, figures in sorted(periods.items())])


def end_year(period: str) -> int:
    match = PERIOD.match(period)
    return int(match.group(2) or match.group(1))


def documents_before(session, year: int, limit: int) -> list[tuple[str, dict]]:
    """(period, document) of the imported periods that end before `year`, the latest `limit`, oldest first."""
    rows = session.execute(select(prior_figures.c.period, prior_figures.c.document)).all()
    kept = sorted((row for row in rows if end_year(row.period) < year), key=lambda row: (end_year(row.period),
                                                                                          row.period))
    return [(row.period, unflatten(json.loads(row.document))) for row in kept[-limit:]] if limit else []


# ------------------------------------------------------------------------------------- command


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    actions = parser.add_subparsers(dest="action", required=True)
    load = actions.add_parser("import-prior", help="load prior years' figures from a CSV or JSON file")
    load.add_argument("file")
    export = actions.add_parser("export-year", help="a live year's figures as CSV (import-prior reads it back)")
    export.add_argument("year", type=int)
    export.add_argument("--output", help="file to write (default: standard output)")
    return parser


def run(config: dict, args, out=None, err=None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    database = ServiceDatabase(config["DATABASES"]["reporting"], producer="reporting")
    try:
        if args.action == "export-year":
            with database.read() as session:
                text = to_csv(args.year, store.annual(session, args.year))
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
            else:
                out.write(text)
            return 0
        path = Path(args.file)
        try:
            periods = parse(path.read_text(encoding="utf-8-sig"), json_file=path.suffix.lower() == ".json")
        except Refused as refused:
            print(f"refused, nothing imported: {refused}", file=err)
            for problem in refused.problems:
                print(f"  {problem}", file=err)
            return 1
        with database.unit_of_work() as uow:
            save(uow.session, periods)
        print(f"imported {', '.join(sorted(periods))}: "
              f"{sum(len(figures) for figures in periods.values())} figures", file=out)
        return 0
    finally:
        database.dispose()
