"""The organisation form (name, type, recognised) and the CSV import: reading the file, comparing
it with the directory (matched by name, case-insensitive) and signing the plan the preview shows, so
the confirm writes exactly what was shown without any server-side staging.

The registration service stays the authority on validity; these checks answer in the viewer's
language without a round trip.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
from dataclasses import dataclass, field

from kernel.contract import ORG_TYPES
from services.gateway.core.forms import FormErrors, checked, flatten_details, text

NAME_MAX = 200  # the registration service's limit (OrganisationInputSchema)
FIELD_ORDER = ("name", "org_type", "recognised")
FIELD_LABELS = {"name": "organisations_field_name", "org_type": "organisations_field_type",
                "recognised": "organisations_field_recognised"}
# the words a CSV's "recognised" column may hold, in the centre's three languages
YES = frozenset({"ja", "j", "yes", "y", "oui", "o", "true", "waar", "vrai", "1", "x"})
NO = frozenset({"nee", "n", "no", "non", "false", "onwaar", "faux", "0", ""})
CSV_COLUMNS = ("name", "type", "recognised")
MAX_IMPORT_BYTES = 1024 * 1024  # a directory of thousands of organisations fits with room to spare
# the preview's signed rows are at most about three times the file (short lines grow most in JSON and base64)
MAX_PLAN_BYTES = 3 * MAX_IMPORT_BYTES
PLAN_PURPOSE = b"organisations-import:"


class OrganisationErrors(FormErrors):
    FIELD_ORDER = FIELD_ORDER


def form_values(form) -> dict:
    return {"name": text(form, "name"), "org_type": text(form, "org_type"), "recognised": checked(form, "recognised")}


def check(values: dict, t) -> OrganisationErrors:
    errors = OrganisationErrors()
    if not values["name"]:
        errors.add("name", t("organisations_err_name_required"))
    elif len(values["name"]) > NAME_MAX:
        errors.add("name", t("organisations_err_name_too_long", max=NAME_MAX))
    if values["org_type"] not in ORG_TYPES:
        errors.add("org_type", t("organisations_err_type"))
    return errors


def errors_from_details(details, t) -> tuple[OrganisationErrors, list[str]]:
    """The service's ValidationFailed details on the form's fields; the rest as general errors."""
    errors, general = OrganisationErrors(), []
    for name, messages in flatten_details(details).items():
        if name in FIELD_ORDER:
            errors.add(name, t("organisations_err_invalid", detail=" ".join(messages)))
        else:
            general.extend(messages)
    return errors, general


def matches(organisation: dict, query: str, org_type: str, recognised: str) -> bool:
    """Whether an organisation passes the list's search (name contains) and filters."""
    if query and query.casefold() not in str(organisation.get("name") or "").casefold():
        return False
    if org_type and organisation.get("org_type") != org_type:
        return False
    if recognised in ("yes", "no") and bool(organisation.get("recognised")) != (recognised == "yes"):
        return False
    return True


# --- the CSV import ------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What an import will do: rows to create and to update (with what they change), the rows that
    already match the directory, and the lines that could not be read (line number, reason)."""

    create: list[dict] = field(default_factory=list)
    update: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)
    unreadable: list[tuple[int, str]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.create) + len(self.update)


def read_csv(raw: bytes, t) -> tuple[list[dict], list[tuple[int, str]]]:
    """The rows of an import file (name, type, recognised; a header line, comma or semicolon
    separated, UTF-8 or Windows-1252 as spreadsheets save it) and the lines it could not read."""
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("cp1252", errors="replace")
    lines = content.splitlines()
    if not lines:
        return [], [(1, t("organisations_import_err_empty"))]
    dialect = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(content), delimiter=dialect)
    header = [cell.strip().casefold() for cell in next(reader, [])]
    if [h for h in header if h] != list(CSV_COLUMNS):
        return [], [(1, t("organisations_import_err_header", columns=", ".join(CSV_COLUMNS)))]
    rows, unreadable, seen = [], [], {}
    for cells in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(CSV_COLUMNS):
            unreadable.append((number, t("organisations_import_err_columns", count=len(CSV_COLUMNS))))
            continue
        name, org_type, recognised = (cell.strip() for cell in cells)
        org_type = re.sub(r"[\s-]+", "_", org_type.casefold())  # "landelijke vormingsinstelling" too
        if not name:
            unreadable.append((number, t("organisations_err_name_required")))
        elif len(name) > NAME_MAX:
            unreadable.append((number, t("organisations_err_name_too_long", max=NAME_MAX)))
        elif org_type not in ORG_TYPES:
            unreadable.append((number, t("organisations_import_err_type", value=org_type or "–")))
        elif recognised.casefold() not in YES | NO:
            unreadable.append((number, t("organisations_import_err_recognised", value=recognised)))
        elif name.casefold() in seen:
            unreadable.append((number, t("organisations_import_err_repeated", line=seen[name.casefold()])))
        else:
            seen[name.casefold()] = number
            rows.append({"line": number, "name": name, "org_type": org_type,
                         "recognised": recognised.casefold() in YES})
    return rows, unreadable


def plan_import(rows: list[dict], directory: list[dict], unreadable=()) -> Plan:
    """Compare the rows with the directory by name (case-insensitive): new names are created, known
    ones updated where their type or recognition differs, or a participant named them and staff have
    not yet confirmed them."""
    by_name = {str(o.get("name") or "").casefold(): o for o in directory}
    plan = Plan(unreadable=list(unreadable))
    for row in rows:
        known = by_name.get(row["name"].casefold())
        if known is None:
            plan.create.append(row)
        elif (known.get("org_type"), bool(known.get("recognised"))) != (row["org_type"], row["recognised"]) \
                or known.get("confirmed", True) is False:
            plan.update.append({**row, "organisation_id": known["organisation_id"], "was": known})
        else:
            plan.unchanged.append({**row, "organisation_id": known["organisation_id"]})
    return plan


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def sign_rows(key: bytes, rows: list[dict]) -> str:
    """The preview's rows as a hidden field's value: compact JSON and its HMAC under the gateway's key."""
    compact = [[row["line"], row["name"], row["org_type"], row["recognised"]] for row in rows]
    body = _b64(json.dumps(compact, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{body}.{_b64(hmac.new(key, PLAN_PURPOSE + body.encode('ascii'), hashlib.sha256).digest())}"


def signed_rows(key: bytes, value: str) -> list[dict] | None:
    """The rows a preview signed, or None when the field was altered or is not ours."""
    body, _, signature = (value or "").partition(".")
    expected = _b64(hmac.new(key, PLAN_PURPOSE + body.encode("ascii", "replace"), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(expected, signature):
        return None
    try:
        compact = json.loads(base64.urlsafe_b64decode(body.encode("ascii")))
    except ValueError:
        return None
    return [{"line": line, "name": name, "org_type": org_type, "recognised": recognised}
            for line, name, org_type, recognised in compact]
