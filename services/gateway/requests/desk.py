"""The request desk (vraaggestuurde werking) as staff pages, on the requests service's RPCs:

- /staff/requests: the queues (new, mine, overdue, all) with a search box, one page at a time, no
  contact details; "record a request" taken by phone at /staff/requests/new;
- /staff/requests/<id>: the request with its contact details, history, notes, the suggested colleagues
  and every lifecycle action the request's state allows, each a form posting to its own path, answered
  with a redirect (303) back to the request's page, or the page again with the service's reason;
- /staff/requests/colleagues: the desk's colleagues (expertise themes, open load), added and changed.

The service decides what is allowed and valid; the pages only turn its answers into words.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from urllib.parse import urlencode

from werkzeug.utils import redirect

from kernel.config import CENTRE_TIMEZONE
from kernel.contract import DECLINE_REASONS
from kernel.errors import Conflict, NotFound, ValidationFailed
from services.gateway.core import audit, forms
from services.gateway.core.auth import require, viewer_of
from services.gateway.core.pages import StaffPage
from services.gateway.core.security import http
from services.gateway.requests.intake import ORG_TYPE_CHOICES, organisation_fields
from services.requests.api import DELIVERY_FORMS, NOTE_STATUSES, TRANSITIONS

log = logging.getLogger(__name__)

QUEUES = ("new", "mine", "overdue", "all")
PAGE_SIZE = 25
# the confirmation a redirect back to a page shows (?done=...)
CONFIRMATIONS = ("recorded", "explore", "accept", "decline", "deliver", "close", "note", "colleague_added",
                 "colleague_saved")
# each action's form: its inputs, in page order (ids on the page are "<action>_<input>")
ACTION_FIELDS = {
    "explore": ("staff_id", "notes"),
    "accept": ("assignee", "notes"),
    "decline": ("reason", "referred_to", "notes", "staff_id"),
    "deliver": ("date", "form", "dagdelen", "participants", "participations", "description"),
    "note": ("text",),
    "close": (),
}
REQUIRED = {"accept": ("assignee",), "decline": ("reason",),
            "deliver": ("date", "form", "dagdelen", "participants", "participations"), "note": ("text",)}
COUNT_FIELDS = ("dagdelen", "participants", "participations")
RECORD_FIELDS = ("name", "email", "phone", "language", "organisation", "organisation_name", "question", "theme",
                 "goal", "preferred_timing")
COLLEAGUE_FIELDS = ("name", "email", "themes", "active")


# the service's field messages these pages know how to say in the viewer's language (others are shown
# after a general "check this field")
SERVICE_MESSAGES = {
    "Must be at least the number of participants.": "desk_err_participations_below",
    "Must not be in the future.": "desk_err_date_future",
    "Not a valid date.": "desk_err_date",
    "Not a valid integer.": "desk_err_whole_number",
    "Must be a whole number of at least 0.": "desk_err_whole_number",
    "Must be greater than or equal to 0 and less than or equal to 100000.": "desk_err_whole_number",
    "Unknown or inactive staff member.": "desk_err_unknown_colleague",
    "Use a goal code such as SD1.OD4.": "desk_err_goal",
    "Not a valid email address.": "err_email_invalid",
    "Not a valid phone number.": "rq_err_phone_invalid",
    **{f"Must be one of: {', '.join(choices)}.": "err_choice_invalid" for choices in (DECLINE_REASONS, DELIVERY_FORMS)},
}


class DeskFormErrors(forms.FormErrors):
    FIELD_ORDER = (*(f"{action}_{name}" for action, names in ACTION_FIELDS.items() for name in names),
                   *RECORD_FIELDS, *(f"colleague_{name}" for name in COLLEAGUE_FIELDS), "q")


def _errors_from(details, prefix: str, known, t) -> tuple[DeskFormErrors, list[str]]:
    """A service's field messages beside the form's inputs (`prefix`_<input>); the rest above the form."""
    errors, general = DeskFormErrors(), []
    for name, messages in forms.flatten_details(details).items():
        if name in known:
            for message in messages:
                known_message = SERVICE_MESSAGES.get(message)
                errors.add(f"{prefix}{name}", t(known_message) if known_message
                           else f"{t('err_field_invalid')} ({message})")
        else:
            general.extend(messages)
    if not errors and not general:
        general.append(t("err_form_invalid"))
    return errors, general


def _to_whole_number(value: str):
    """The form's text as an int when it is a whole number (else the text: the service refuses it)."""
    return int(value) if value.isdigit() else value


def form_key() -> str:
    """A new key for a form that creates something (the service's idempotency_key)."""
    return str(uuid.uuid4())


def _today() -> str:
    return datetime.now(CENTRE_TIMEZONE).date().isoformat()


class RequestDeskPages:
    """The staff pages of the request desk; mixed into RequestRoutes, which provides `requests`,
    `config`, `_themes` and `_directory`."""

    # ------------------------------------------------------------ helpers

    def _colleagues(self) -> list[dict]:
        return self.requests.list_staff()

    def _viewer_colleague(self, request, colleagues: list[dict]) -> dict | None:
        """The desk's active colleague whose email is the viewer's (None: no email, or no such colleague)."""
        email = (viewer_of(request).email or "").casefold()
        if not email:
            return None
        return next((c for c in colleagues if c["active"] and (c["email"] or "").casefold() == email), None)

    def _theme_label(self, t):
        """A theme's name in the viewer's language (a configured theme without one: as configured)."""
        return lambda theme: t(f"theme_{theme}") if t.has(f"theme_{theme}") else theme

    # ------------------------------------------------------------ the queues

    @http("GET", "/staff/requests")
    @require("staff")
    def page_desk(self, request):
        page = StaffPage(request)
        t = page.t
        queue = request.args.get("queue") or "new"
        queue = queue if queue in QUEUES else "new"
        search = forms.text(request.args, "q")
        number = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
        number = max(number, 1)
        colleagues = self._colleagues()
        names = {c["staff_id"]: c["name"] for c in colleagues}
        context = dict(title=t("desk_title"), queues=QUEUES, queue=queue, q=search, page_number=number,
                       names=names, lines=[], has_next=False, no_email=False, no_colleague=False, errors=None,
                       general_errors=[], field_labels={"q": "desk_search_label"},
                       theme_label=self._theme_label(t), done=request.args.get("done"),
                       confirmations=CONFIRMATIONS)
        filters = {"limit": PAGE_SIZE + 1, "offset": (number - 1) * PAGE_SIZE}
        if queue != "all":
            filters["queue"] = queue
        if search:
            filters["q"] = search
        if queue == "mine":
            mine = self._viewer_colleague(request, colleagues)
            if mine is None:
                email = viewer_of(request).email
                context.update(no_email=not email, no_colleague=bool(email), viewer_email=email)
                return page.render("requests/desk.html", **context)
            filters["assignee"] = mine["staff_id"]
        # the admins' CSV: this selection, every page
        context["export_query"] = urlencode({k: v for k, v in filters.items() if k in ("queue", "assignee", "q")})
        try:
            lines = self.requests.list_requests(filters)
        except ValidationFailed as exc:
            errors, general = _errors_from(exc.details, "", {"q"}, t)
            return page.render("requests/desk.html", status=400, **{**context, "errors": errors,
                                                                     "general_errors": general})
        return page.render("requests/desk.html", **{**context, "lines": lines[:PAGE_SIZE],
                                                    "has_next": len(lines) > PAGE_SIZE})

    # ------------------------------------------------------------ a request taken by phone

    @http("GET,POST", "/staff/requests/new")
    @require("staff")
    def page_desk_record(self, request):
        page = StaffPage(request)
        t = page.t
        themes = self._themes()
        organisations = self._directory()
        context = dict(title=t("desk_record_title"), themes=themes, organisations=organisations,
                       org_types=ORG_TYPE_CHOICES, theme_label=self._theme_label(t),
                       field_labels={name: f"desk_record_{name}" for name in RECORD_FIELDS}, errors=None,
                       general_errors=[])
        if request.method != "POST":
            return page.render("requests/record.html", v={name: "" for name in RECORD_FIELDS}, form_key=form_key(),
                               **context)
        values = {name: forms.text(request.form, name) for name in RECORD_FIELDS}
        context["form_key"] = forms.text(request.form, "idempotency_key") or form_key()
        errors = DeskFormErrors()
        for name in ("name", "question", "theme"):
            if not values[name]:
                errors.add(name, t("desk_err_required"))
        if values["email"] and not forms.EMAIL_SHAPE.match(values["email"]):
            errors.add("email", t("err_email_invalid"))
        if values["theme"] and values["theme"] not in themes:
            errors.add("theme", t("err_choice_invalid"))
        if errors:
            return page.render("requests/record.html", status=400, v=values, **{**context, "errors": errors})
        payload = {
            "name": values["name"], "email": values["email"] or None, "phone": values["phone"] or None,
            "language": values["language"] or page.lang, "organisation_name": values["organisation_name"] or None,
            "question": values["question"], "theme": values["theme"], "goal": values["goal"] or None,
            "preferred_timing": values["preferred_timing"] or None, "channel": "phone",
            **organisation_fields(values["organisation"]), "idempotency_key": context["form_key"],
        }
        try:
            recorded = self.requests.record_request(payload)
        except ValidationFailed as exc:
            details = {("organisation" if k in ("organisation_id", "org_type") else k): v
                       for k, v in forms.flatten_details(exc.details).items()}
            errors, general = _errors_from(details, "", set(RECORD_FIELDS), t)
            return page.render("requests/record.html", status=400, v=values,
                               **{**context, "errors": errors, "general_errors": general})
        audit.record(self, request, "request.recorded", "request", recorded["request_id"], channel="phone")
        return redirect(f"/staff/requests/{recorded['request_id']}?done=recorded", code=303)

    # ------------------------------------------------------------ the desk's colleagues

    @http("GET,POST", "/staff/requests/colleagues")
    @require("staff")
    def page_desk_colleagues(self, request):
        return self._colleague_page(request, None)

    @http("GET,POST", "/staff/requests/colleagues/<staff_id>")
    @require("staff")
    def page_desk_colleague(self, request, staff_id):
        return self._colleague_page(request, staff_id)

    def _colleague_page(self, request, staff_id: str | None):
        """The colleagues and the form to add one (staff_id None) or to change one."""
        page = StaffPage(request)
        t = page.t
        colleagues = self._colleagues()
        editing = None
        if staff_id is not None:
            editing = next((c for c in colleagues if c["staff_id"] == staff_id), None)
            if editing is None:
                return page.not_found()
        themes = self._themes()
        known = {**{theme: theme for theme in themes}, **{theme: theme for theme in (editing or {}).get("themes", ())}}
        context = dict(title=t("desk_colleagues_title"), colleagues=colleagues, editing=editing,
                       theme_choices=list(known), theme_label=self._theme_label(t), errors=None, general_errors=[],
                       field_labels={f"colleague_{name}": f"desk_colleague_{name}" for name in COLLEAGUE_FIELDS},
                       done=request.args.get("done"), confirmations=CONFIRMATIONS,
                       form_key=forms.text(request.form, "idempotency_key") or form_key())
        if request.method != "POST":
            values = ({"name": editing["name"], "email": editing["email"] or "", "themes": editing["themes"],
                       "active": editing["active"]} if editing else {"name": "", "email": "", "themes": [],
                                                                     "active": True})
            return page.render("requests/colleagues.html", v=values, **context)
        values = {"name": forms.text(request.form, "name"), "email": forms.text(request.form, "email"),
                  "themes": [theme for theme in request.form.getlist("themes") if theme in known],
                  "active": forms.checked(request.form, "active")}
        errors = DeskFormErrors()
        if not values["name"]:
            errors.add("colleague_name", t("desk_err_required"))
        if values["email"] and not forms.EMAIL_SHAPE.match(values["email"]):
            errors.add("colleague_email", t("err_email_invalid"))
        if errors:
            return page.render("requests/colleagues.html", status=400, v=values, **{**context, "errors": errors})
        payload = {"name": values["name"], "email": values["email"] or None, "themes": values["themes"]}
        try:
            if editing is None:
                saved = self.requests.create_staff({**payload, "idempotency_key": context["form_key"]})
            else:
                saved = self.requests.update_staff(staff_id, {**payload, "active": values["active"]})
        except ValidationFailed as exc:
            errors, general = _errors_from(
                {f"colleague_{k}": v for k, v in forms.flatten_details(exc.details).items()}, "",
                {f"colleague_{name}" for name in COLLEAGUE_FIELDS}, t)
            return page.render("requests/colleagues.html", status=400, v=values,
                               **{**context, "errors": errors, "general_errors": general})
        action = "request_staff.created" if editing is None else "request_staff.updated"
        audit.record(self, request, action, "request_staff", saved["staff_id"])
        done = "colleague_added" if editing is None else "colleague_saved"
        return redirect(f"/staff/requests/colleagues?done={done}", code=303)

    # ------------------------------------------------------------ one request

    @http("GET", "/staff/requests/<request_id>")
    @require("staff")
    def page_desk_request(self, request, request_id):
        return self._request_page(request, request_id)

    def _request_page(self, request, request_id, status: int = 200, action: str | None = None,
                      errors=None, general_errors=(), values=None, refused: str | None = None):
        """The request's page; after a refused action (`action`) with its reason beside its fields."""
        page = StaffPage(request)
        t = page.t
        try:
            found = self.requests.get_request(request_id)
        except NotFound:
            return page.not_found()
        colleagues = self._colleagues()
        names = {c["staff_id"]: c["name"] for c in colleagues}
        suggestions = self.requests.suggest_staff(request_id)
        me = self._viewer_colleague(request, colleagues)
        defaults = {
            "explore_staff_id": me["staff_id"] if me else "",
            "accept_assignee": suggestions[0]["staff_id"] if suggestions else "",
            "deliver_date": _today(),
            # each form's key: sent twice, the service does it once
            "deliver_idempotency_key": form_key(), "note_idempotency_key": form_key(),
            "decline_staff_id": me["staff_id"] if me else "",
        }
        field_labels = {f"{a}_{name}": f"desk_field_{name}" for a, names_ in ACTION_FIELDS.items() for name in names_}
        return page.render(
            "requests/request.html", status=status, title=t("desk_request_title"), r=found,
            history=self._history(found, names, t), names=names, suggestions=suggestions,
            actions=set(found["allowed_actions"]) | ({"note"} if found["status"] in NOTE_STATUSES else set()),
            decline_reasons=DECLINE_REASONS, delivery_forms=DELIVERY_FORMS, v={**defaults, **(values or {})},
            action=action, errors=errors, general_errors=list(general_errors), field_labels=field_labels,
            refused=refused, done=request.args.get("done"), confirmations=CONFIRMATIONS,
            theme_label=self._theme_label(t))

    def _history(self, found: dict, names: dict, t) -> list[tuple[str, str]]:
        """(when, what happened) of the request, oldest first."""
        def name(staff_id):
            return names.get(staff_id, t("desk_unknown_colleague"))

        events = [(found["received_at"], t(f"desk_history_received_{found['channel']}"))]
        if found["answered_at"]:
            events.append((found["answered_at"], t("desk_history_explored")))
        if found["decided_at"] and found["decline_reason"]:
            text = t("desk_history_declined", reason=t(f"desk_reason_{found['decline_reason']}"))
            if found["referred_to"]:
                text += " " + t("desk_history_referred", partner=found["referred_to"])
            events.append((found["decided_at"], text))
        elif found["decided_at"]:
            events.append((found["decided_at"], t("desk_history_accepted", colleague=name(found["assignee"]))))
        for note in found["notes"]:
            text = (t("desk_history_note_by", colleague=name(note["author"]), text=note["text"]) if note["author"]
                    else t("desk_history_note", text=note["text"]))
            events.append((note["created_at"], text))
        for delivery in found["deliveries"]:
            events.append((delivery["recorded_at"], t(
                "desk_history_delivery", form=t(f"desk_form_{delivery['form']}"), dagdelen=delivery["dagdelen"],
                participants=delivery["participants"])))
        if found["closed_at"]:
            events.append((found["closed_at"], t("desk_history_closed")))
        return sorted(events, key=lambda event: event[0])

    # ------------------------------------------------------------ the lifecycle's forms

    def _act(self, request, request_id, action: str, call, audit_action: str):
        """Run `call(form values)` against the service: a redirect back with a confirmation when it
        worked; the request's page with the field errors (400) or the refusal (409) when not."""
        t = StaffPage(request).t
        values = {name: forms.text(request.form, name) for name in ACTION_FIELDS[action]}
        prefixed = {f"{action}_{name}": value for name, value in values.items()}
        values["idempotency_key"] = forms.text(request.form, "idempotency_key") or None
        missing = DeskFormErrors()
        for name in REQUIRED.get(action, ()):
            if not values[name]:
                missing.add(f"{action}_{name}", t("desk_err_required"))
        if missing:
            return self._request_page(request, request_id, 400, action, missing, (), prefixed)
        try:
            call(values)
        except NotFound:
            return StaffPage(request).not_found()
        except ValidationFailed as exc:
            errors, general = _errors_from(exc.details, f"{action}_", set(ACTION_FIELDS[action]), t)
            return self._request_page(request, request_id, 400, action, errors, general, prefixed)
        except Conflict as exc:
            status = exc.details.get("status")
            if status is None:
                reason = t("desk_refused_plain")
            elif action in TRANSITIONS and status == TRANSITIONS[action][1]:  # sent twice, or a colleague was first
                reason = t("desk_refused_already", status=t(f"desk_status_{status}"))
            else:
                reason = t("desk_refused", status=t(f"desk_status_{status}"))
            return self._request_page(request, request_id, 409, action, values=prefixed, refused=reason)
        audit.record(self, request, audit_action, "request", request_id)
        return redirect(f"/staff/requests/{request_id}?done={action}", code=303)

    @http("POST", "/staff/requests/<request_id>/explore")
    @require("staff")
    def page_desk_explore(self, request, request_id):
        return self._act(request, request_id, "explore", lambda v: self.requests.explore(
            request_id, {"staff_id": v["staff_id"] or None, "notes": v["notes"] or None}), "request.explored")

    @http("POST", "/staff/requests/<request_id>/accept")
    @require("staff")
    def page_desk_accept(self, request, request_id):
        return self._act(request, request_id, "accept", lambda v: self.requests.accept(
            request_id, {"assignee": v["assignee"] or None, "notes": v["notes"] or None}), "request.accepted")

    @http("POST", "/staff/requests/<request_id>/decline")
    @require("staff")
    def page_desk_decline(self, request, request_id):
        return self._act(request, request_id, "decline", lambda v: self.requests.decline(request_id, {
            "reason": v["reason"] or None, "referred_to": v["referred_to"] or None, "notes": v["notes"] or None,
            "staff_id": v["staff_id"] or None}), "request.declined")

    @http("POST", "/staff/requests/<request_id>/deliveries")
    @require("staff")
    def page_desk_delivery(self, request, request_id):
        return self._act(request, request_id, "deliver", lambda v: self.requests.record_delivery(request_id, {
            "date": v["date"] or None, "form": v["form"] or None,
            **{name: _to_whole_number(v[name]) if v[name] else None for name in COUNT_FIELDS},
            "description": v["description"] or None, "idempotency_key": v["idempotency_key"]}),
            "request.delivery_recorded")

    @http("POST", "/staff/requests/<request_id>/notes")
    @require("staff")
    def page_desk_note(self, request, request_id):
        me = self._viewer_colleague(request, self._colleagues())
        return self._act(request, request_id, "note", lambda v: self.requests.add_note(request_id, {
            "text": v["text"] or None, "staff_id": me["staff_id"] if me else None,
            "idempotency_key": v["idempotency_key"]}), "request.note_added")

    @http("POST", "/staff/requests/<request_id>/close")
    @require("staff")
    def page_desk_close(self, request, request_id):
        return self._act(request, request_id, "close", lambda v: self.requests.close(request_id), "request.closed")
