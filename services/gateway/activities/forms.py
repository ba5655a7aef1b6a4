"""The activity form of the staff pages: its inputs (named after the JSON API's fields), the values
an activity or a posted form gives them, the `create_activity`/`update_activity` payload they
become, and field errors in the viewer's language.

Times are typed as the centre's local time (datetime-local inputs, Europe/Brussels) and sent as
aware ISO timestamps. The registration service stays the authority on validity: the checks here
catch the obvious so the page answers in the viewer's language, and the service's details are
shown beside the inputs they name.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from kernel.config import CENTRE_TIMEZONE
from kernel.contract import FORMATS
from kernel.i18n import local
from kernel.rules import LANGUAGES
from services.gateway.core.forms import FormErrors, checked, flatten_details, text
from services.registration.api import KINDS

TIMES = ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at")
WHOLE_NUMBERS = ("days", "dagdelen", "capacity", "min_participants")
AMOUNTS = ("price_eur", "reduced_price_eur")
REQUIRED = ("title", "kind", "theme", "format", "starts_at", "ends_at", "days", "dagdelen")
OPTIONAL_TEXTS = ("goal", "location", "online_link")
# the inputs in page order (also the error summary's order)
FIELDS = ("title", "kind", "theme", "goal", "description", "format", "starts_at", "ends_at", "days", "dagdelen",
          "capacity", "min_participants", "location", "online_link", "language", "price_eur", "reduced_price_eur",
          "registration_opens_at", "registration_closes_at", "invitation_only")
FIELD_LABELS = {name: f"activities_field_{name}" for name in FIELDS}
HIDDEN = ("repeat_of",)  # carried by the form, not typed: the activity a herneming repeats
# the postponement form on an activity's page: new dates and why
POSTPONE_FIELDS = ("new_starts_at", "new_ends_at", "postpone_reason")
POSTPONE_LABELS = {"new_starts_at": "activities_field_starts_at", "new_ends_at": "activities_field_ends_at",
                   "postpone_reason": "activities_postpone_reason"}
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what a datetime-local input holds


class ActivityFormErrors(FormErrors):
    FIELD_ORDER = FIELDS


class PostponeErrors(FormErrors):
    FIELD_ORDER = POSTPONE_FIELDS


def values_from_form(form: Mapping) -> dict:
    """What was typed, trimmed, to fill the form again."""
    values = {name: text(form, name) for name in (*FIELDS, *HIDDEN) if name != "invitation_only"}
    values["invitation_only"] = checked(form, "invitation_only")
    return values


def values_from_activity(activity: Mapping) -> dict:
    """An activity's fields as the form shows them (times in local time)."""
    values = {name: "" if activity.get(name) is None else str(activity[name]) for name in (*FIELDS, *HIDDEN)}
    for name in TIMES:
        values[name] = local_input(activity.get(name))
    for name in AMOUNTS:
        if activity.get(name) is not None:
            values[name] = f"{Decimal(str(activity[name])):.2f}"
    values["invitation_only"] = bool(activity.get("invitation_only"))
    return values


def blank_values() -> dict:
    return {**{name: "" for name in (*FIELDS, *HIDDEN)}, "format": "offline", "language": "nl", "days": "1",
            "price_eur": "0.00", "invitation_only": False}


def local_input(value) -> str:
    """An ISO timestamp as a datetime-local input's value, in the centre's time."""
    if not value:
        return ""
    try:
        return local(datetime.fromisoformat(str(value))).strftime(LOCAL_INPUT_FORMAT)
    except ValueError:
        return ""


def _parse_local(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=CENTRE_TIMEZONE)


def check(values: Mapping, t) -> tuple[ActivityFormErrors, dict]:
    """The form's errors and, when there are none, the payload for the registration service."""
    errors = ActivityFormErrors()
    payload: dict = {"title": values["title"], "description": values["description"], "theme": values["theme"],
                     "invitation_only": bool(values["invitation_only"])}
    for name in REQUIRED:
        if not values.get(name):
            errors.add(name, t("activities_err_required"))
    for name, choices in (("kind", KINDS), ("format", FORMATS), ("language", LANGUAGES)):
        if values.get(name) and values[name] not in choices:
            errors.add(name, t("activities_err_choice"))
        payload[name] = values.get(name) or None
    payload["language"] = values.get("language") or "nl"
    for name in (*OPTIONAL_TEXTS, *HIDDEN):
        payload[name] = values.get(name) or None
    for name in TIMES:
        payload[name] = None
        if values.get(name):
            try:
                payload[name] = _parse_local(values[name])
            except ValueError:
                errors.add(name, t("activities_err_time"))
    for name in WHOLE_NUMBERS:
        payload[name] = None
        if values.get(name):
            try:
                payload[name] = int(values[name])
            except ValueError:
                errors.add(name, t("activities_err_whole_number"))
                continue
            if payload[name] < (0 if name == "capacity" else 1):
                errors.add(name, t("activities_err_too_small"))
    minimum, capacity = payload["min_participants"], payload["capacity"]
    if minimum is not None and capacity is not None and minimum > capacity and "capacity" not in errors.messages:
        errors.add("min_participants", t("activities_err_minimum_above_capacity"))
    for name in AMOUNTS:
        payload[name] = None
        if values.get(name):
            try:
                amount = Decimal(values[name].replace(",", "."))
            except InvalidOperation:
                errors.add(name, t("activities_err_amount"))
                continue
            if not amount.is_finite() or amount < 0:
                errors.add(name, t("activities_err_amount"))
            else:
                payload[name] = f"{amount:.2f}"
    payload["price_eur"] = payload["price_eur"] or "0.00"
    starts, ends = payload["starts_at"], payload["ends_at"]
    if starts and ends and ends < starts:
        errors.add("ends_at", t("activities_err_ends_before_start"))
    if payload["format"] == "online" and not payload["online_link"]:
        errors.add("online_link", t("activities_err_online_link"))
    for name in TIMES:
        if payload[name] is not None:
            payload[name] = payload[name].isoformat()
    return errors, payload


def errors_from_details(details, t) -> tuple[ActivityFormErrors, list[str]]:
    """The service's ValidationFailed details beside the inputs they name (its words after a line in
    the viewer's language); what names no input, as messages for the summary."""
    errors = ActivityFormErrors()
    general: list[str] = []
    for name, messages in flatten_details(details).items():
        if name in FIELDS:
            errors.add(name, f"{t('activities_err_refused')} {' '.join(messages)}")
        else:
            general.extend(messages)
    return errors, general


def postpone_values(activity: Mapping) -> dict:
    """The postponement form as first shown: the current dates to change, no reason yet."""
    return {"new_starts_at": local_input(activity.get("starts_at")),
            "new_ends_at": local_input(activity.get("ends_at")), "postpone_reason": ""}


def postpone_values_from_form(form: Mapping) -> dict:
    return {name: text(form, name) for name in POSTPONE_FIELDS}


def check_postpone(values: Mapping, t) -> tuple[PostponeErrors, dict]:
    """The postponement form's errors and, when there are none, the `postpone_activity` payload."""
    errors = PostponeErrors()
    moments = {}
    for name in ("new_starts_at", "new_ends_at"):
        if not values.get(name):
            errors.add(name, t("activities_err_required"))
            continue
        try:
            moments[name] = _parse_local(values[name])
        except ValueError:
            errors.add(name, t("activities_err_time"))
    if not values.get("postpone_reason"):
        errors.add("postpone_reason", t("activities_err_reason_required"))
    if len(moments) == 2 and moments["new_ends_at"] < moments["new_starts_at"]:
        errors.add("new_ends_at", t("activities_err_ends_before_start"))
    if errors:
        return errors, {}
    return errors, {"starts_at": moments["new_starts_at"].isoformat(), "ends_at": moments["new_ends_at"].isoformat(),
                    "reason": values["postpone_reason"]}


def postpone_errors_from_details(details, t) -> tuple[PostponeErrors, list[str]]:
    """The service's refusal of a postponement beside the inputs it names."""
    errors = PostponeErrors()
    names = {"starts_at": "new_starts_at", "ends_at": "new_ends_at", "reason": "postpone_reason"}
    for name, messages in flatten_details(details).items():
        errors.add(names.get(name, "new_starts_at"), f"{t('activities_err_refused')} {' '.join(messages)}")
    return errors, []
