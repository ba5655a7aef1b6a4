"""The activities back office (staff role): the list with its filters, the activity form (new, edit,
repeat), an activity's page with its registrations, the needs to arrange and its actions, and the
attendance sheet. Every change goes through the registration service's RPCs and is written to the
audit log (services.gateway.core.audit).

- GET /staff/activities                       the list; ?year= &status= &kind= &theme= &attention=1
- GET, POST /staff/activities/new             the form (?from=<id>: a repeat, prefilled); 303 to the page
- GET /staff/activities/<id>                  facts, registrations, needs, actions
- GET, POST /staff/activities/<id>/edit       the same form, changing the activity
- POST /staff/activities/<id>/complete        completed
- POST /staff/activities/<id>/cancel          afgelast, with a reason
- POST /staff/activities/<id>/postpone        verdaagd: new dates, everyone registered told
- POST /staff/activities/<id>/registrations/<registration_id>/cancel
- POST /staff/activities/<id>/registrations/<registration_id>/promote  a seat for someone on the waitlist
- GET, POST /staff/activities/<id>/attendance the attendance sheet, saved by one post
- POST /staff/activities/<id>/attendance/walk-in  someone who came without registering, with their days
- GET, POST /staff/activities/<id>/register   register someone on their behalf
- GET /staff/activities/<id>/sign-in-sheet    the printable sign-in sheet (confirmed participants, blank lines)
- GET /staff/activities/<id>/registrations.csv  the registrations as CSV (admin: personal data in bulk)
"""
from __future__ import annotations

import csv
import io
import logging
import uuid
from datetime import UTC, datetime

from werkzeug.wrappers import Response

from kernel.contract import FORMATS
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.i18n import local
from kernel.rules import LANGUAGES
from services.gateway.activities import forms
from services.gateway.core.audit import record
from services.gateway.core.auth import require
from services.gateway.core.forms import FormErrors, public_organisations, text
from services.gateway.core.pages import StaffPage
from services.gateway.core.security import http
from services.gateway.public import forms as registration_forms
from services.registration.api import KINDS

log = logging.getLogger(__name__)

STATUSES = ("scheduled", "completed", "cancelled")
REGISTRATION_GROUPS = ("confirmed", "waitlisted", "cancelled")
# the needs staff arrange: (key in a registration's needs, catalogue id of its heading)
NEEDS_TO_ARRANGE = (
    ("sign_language_interpreter", "activities_need_interpreter"),
    ("childcare", "activities_need_childcare"),
    ("accessibility", "activities_need_accessibility"),
    ("dietary", "activities_need_diet"),
    ("other", "activities_need_other"),
)
DAYS_FIELD = "days."  # the attendance sheet's input of a registration: days.<registration_id>
WALK_IN_LINES = 5  # blank lines on the sign-in sheet for who comes without registering
# the CSV export's columns: (catalogue id of the heading, the value of a registration)
CSV_COLUMNS = (
    ("field_name", lambda r, names: r.get("name")),
    ("field_email", lambda r, names: r.get("email")),
    ("field_organisation", lambda r, names: names.get(r.get("organisation_id")) or ""),
    ("activities_csv_org_type", lambda r, names: r.get("org_type")),
    ("field_role", lambda r, names: r.get("role")),
    ("status_label", lambda r, names: r.get("status")),
    ("activities_position", lambda r, names: r.get("waitlist_position")),
    *((heading, lambda r, names, key=key: (r.get("needs") or {}).get(key)) for key, heading in NEEDS_TO_ARRANGE),
    ("field_begeleider_name", lambda r, names: (r.get("begeleider") or {}).get("name")),
    ("activities_days_attended", lambda r, names: r.get("days_attended")),
    ("activities_csv_registered_at", lambda r, names: r.get("created_at")),
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a cell a spreadsheet would run as a formula


def _seeing_other(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


def _moment(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def attention_reasons(activity: dict) -> list[str]:
    """Why an activity needs a staff member's attention, as catalogue ids (the registration service
    decides: full, the minimum not reached before the start, ended and not completed)."""
    return [f"activities_attention_{reason}" for reason in activity.get("attention") or ()]


def local_year(activity: dict) -> int | None:
    starts = _moment(activity.get("starts_at"))
    return local(starts).year if starts else None


def csv_cell(value) -> str:
    """A value as a CSV cell: booleans as 1/0, and text that a spreadsheet would take for a formula
    made inert with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    cell = str(value)
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def days_recorded(confirmed: list[dict]) -> dict[str, str]:
    """The attendance sheet's inputs as recorded: days per registration ("" where none yet)."""
    return {r["registration_id"]: "" if r.get("days_attended") is None else str(r["days_attended"])
            for r in confirmed}


def needs_summary(registrations: list[dict]) -> list[dict]:
    """Per need to arrange: who of the confirmed participants asked for it (with their words for a
    diet or another need)."""
    summary = []
    for key, heading in NEEDS_TO_ARRANGE:
        who = []
        for registration in registrations:
            wish = (registration.get("needs") or {}).get(key)
            if registration.get("status") == "confirmed" and wish:
                who.append({"name": registration.get("name"), "text": wish if isinstance(wish, str) else None})
        summary.append({"key": key, "heading": heading, "who": who})
    return summary


class CancelErrors(FormErrors):
    FIELD_ORDER = ("reason",)


class AttendanceErrors(FormErrors):
    """Errors of the attendance sheet, by input name (days.<registration_id>)."""


class ActivityPages:
    """The staff pages of activities; the service class provides `registration` (RPC)."""

    # ------------------------------------------------------------ the list

    @http("GET", "/staff/activities")
    @require("staff")
    def staff_activities_page(self, request):
        page = StaffPage(request)
        activities = self.registration.list_activities()
        chosen = {name: text(request.args, name) for name in ("year", "status", "kind", "theme")}
        attention_only = text(request.args, "attention") == "1"
        rows = []
        for activity in activities:
            reasons = attention_reasons(activity)
            if chosen["year"] and str(local_year(activity)) != chosen["year"]:
                continue
            if any(chosen[name] and activity.get(name) != chosen[name] for name in ("status", "kind", "theme")):
                continue
            if attention_only and not reasons:
                continue
            rows.append({"a": activity, "attention": reasons})
        return page.render(
            "activities/list.html", title=page.t("activities_list_title"), rows=rows, chosen=chosen,
            attention_only=attention_only, statuses=STATUSES, kinds=KINDS,
            years=sorted({y for y in map(local_year, activities) if y}, reverse=True),
            themes=sorted({a["theme"] for a in activities if a.get("theme")}, key=str.casefold),
        )

    # ------------------------------------------------------------ the form: new, repeat, edit

    @http("GET,POST", "/staff/activities/new")
    @require("staff")
    def staff_activity_new(self, request):
        page = StaffPage(request)
        if request.method != "POST":
            values = forms.blank_values()
            source_id = text(request.args, "from")
            if source_id:
                try:
                    values = forms.values_from_activity(self.registration.get_activity(source_id))
                except NotFound:
                    return page.not_found()
                # a repeat is held at other times: its dates are asked for afresh
                values.update(dict.fromkeys(forms.TIMES, ""))
                values["repeat_of"] = source_id
            # the activity's id, chosen now: a second submit of this form finds it made already
            values["form_id"] = str(uuid.uuid4())
            return self._activity_form(page, values, repeat_of=source_id or None)
        values = {**forms.values_from_form(request.form), "form_id": text(request.form, "form_id")}
        errors, payload = forms.check(values, page.t)
        if errors:
            return self._activity_form(page, values, errors=errors, status=400)
        try:
            activity = self.registration.create_activity(payload, activity_id=values["form_id"] or None)
        except ValidationFailed as exc:
            errors, general = forms.errors_from_details(exc.details, page.t)
            return self._activity_form(page, values, errors=errors, general=general, status=400)
        record(self, request, "activity.created", "activity", activity["activity_id"])
        return _seeing_other(f"/staff/activities/{activity['activity_id']}")

    @http("GET,POST", "/staff/activities/<activity_id>/edit")
    @require("staff")
    def staff_activity_edit(self, request, activity_id):
        page = StaffPage(request)
        try:
            activity = self.registration.get_activity(activity_id)
        except NotFound:
            return page.not_found()
        if request.method != "POST":
            return self._activity_form(page, forms.values_from_activity(activity), activity=activity)
        values = forms.values_from_form(request.form)
        errors, payload = forms.check(values, page.t)
        if errors:
            return self._activity_form(page, values, activity=activity, errors=errors, status=400)
        try:
            self.registration.update_activity(activity_id, payload)
        except ValidationFailed as exc:
            errors, general = forms.errors_from_details(exc.details, page.t)
            return self._activity_form(page, values, activity=activity, errors=errors, general=general, status=400)
        except Conflict as exc:
            errors, general = forms.errors_from_details(exc.details, page.t)
            general = general or [page.t("activities_err_not_scheduled")]
            return self._activity_form(page, values, activity=activity, errors=errors, general=general, status=409)
        record(self, request, "activity.updated", "activity", activity_id)
        return _seeing_other(f"/staff/activities/{activity_id}")

    def _activity_form(self, page: StaffPage, values: dict, activity: dict | None = None, repeat_of=None,
                       errors=None, general=(), status: int = 200) -> Response:
        if activity is not None:
            title = page.t("activities_edit_title", title=activity["title"])
        else:
            title = page.t("activities_repeat_title") if repeat_of else page.t("activities_new_title")
        themes = sorted({a["theme"] for a in self.registration.list_activities() if a.get("theme")}, key=str.casefold)
        return page.render(
            "activities/form.html", status=status, title=title, v=values, activity=activity, errors=errors,
            general_errors=list(general), field_labels=forms.FIELD_LABELS, kinds=KINDS, formats=FORMATS,
            languages_offered=LANGUAGES, themes=themes,
            action=f"/staff/activities/{activity['activity_id']}/edit" if activity else "/staff/activities/new",
        )

    # ------------------------------------------------------------ one activity and its actions

    @http("GET", "/staff/activities/<activity_id>")
    @require("staff")
    def staff_activity_page(self, request, activity_id):
        return self._activity_page(StaffPage(request), activity_id)

    def _activity_page(self, page: StaffPage, activity_id: str, status: int = 200, **context) -> Response:
        try:
            activity = self.registration.get_activity(activity_id)
            registrations = self.registration.list_registrations(activity_id)
        except NotFound:
            return page.not_found()
        groups = {group: [r for r in registrations if r.get("status") == group] for group in REGISTRATION_GROUPS}
        starts = _moment(activity.get("starts_at"))
        context.setdefault("errors", None)
        return page.render(
            "activities/activity.html", status=status, title=activity["title"], a=activity, groups=groups,
            organisation_names=self._organisation_names(), needs=needs_summary(registrations),
            attention=attention_reasons(activity), repeated=self._repeated(activity),
            postpone=context.pop("postpone", None) or forms.postpone_values(activity),
            started=starts is not None and starts <= datetime.now(UTC),
            general_errors=[], **{"field_labels": {"reason": "activities_reason"}, **context},
        )

    def _organisation_names(self) -> dict[str, str]:
        return {o["organisation_id"]: o["name"] for o in self.registration.list_organisations(include_staged=True)}

    def _repeated(self, activity: dict) -> dict | None:
        """The activity this one repeats (herneming), if it still exists."""
        if not activity.get("repeat_of"):
            return None
        try:
            return self.registration.get_activity(activity["repeat_of"])
        except NotFound:
            return None

    @http("POST", "/staff/activities/<activity_id>/postpone")
    @require("staff")
    def staff_activity_postpone(self, request, activity_id):
        page = StaffPage(request)
        values = forms.postpone_values_from_form(request.form)
        errors, payload = forms.check_postpone(values, page.t)
        if not errors:
            try:
                self.registration.postpone_activity(activity_id, payload)
            except NotFound:
                return page.not_found()
            except ValidationFailed as exc:
                errors, _ = forms.postpone_errors_from_details(exc.details, page.t)
            except Conflict:
                return self._activity_page(page, activity_id, 409, problem=page.t("activities_err_not_scheduled"))
            else:
                record(self, request, "activity.postponed", "activity", activity_id)
                return _seeing_other(f"/staff/activities/{activity_id}")
        return self._activity_page(page, activity_id, 400, errors=errors, postpone=values,
                                   field_labels=forms.POSTPONE_LABELS)

    @http("POST", "/staff/activities/<activity_id>/registrations/<registration_id>/promote")
    @require("staff")
    def staff_registration_promote(self, request, activity_id, registration_id):
        return self._on_registration(request, activity_id, registration_id, self.registration.promote_registration,
                                     "registration.promoted", "activities_err_cannot_promote")

    @http("POST", "/staff/activities/<activity_id>/complete")
    @require("staff")
    def staff_activity_complete(self, request, activity_id):
        page = StaffPage(request)
        try:
            self.registration.complete_activity(activity_id)
        except NotFound:
            return page.not_found()
        except Conflict:
            return self._activity_page(page, activity_id, 409, problem=page.t("activities_err_cannot_complete"))
        record(self, request, "activity.completed", "activity", activity_id)
        return _seeing_other(f"/staff/activities/{activity_id}")

    @http("POST", "/staff/activities/<activity_id>/cancel")
    @require("staff")
    def staff_activity_cancel(self, request, activity_id):
        page = StaffPage(request)
        reason = text(request.form, "reason")
        if not reason:
            errors = CancelErrors()
            errors.add("reason", page.t("activities_err_reason_required"))
            return self._activity_page(page, activity_id, 400, errors=errors)
        try:
            self.registration.cancel_activity(activity_id, reason)
        except NotFound:
            return page.not_found()
        except ValidationFailed:
            errors = CancelErrors()
            errors.add("reason", page.t("activities_err_reason_too_long"))
            return self._activity_page(page, activity_id, 400, errors=errors)
        except Conflict:
            return self._activity_page(page, activity_id, 409, problem=page.t("activities_err_not_scheduled"))
        record(self, request, "activity.cancelled", "activity", activity_id)
        return _seeing_other(f"/staff/activities/{activity_id}")

    @http("POST", "/staff/activities/<activity_id>/registrations/<registration_id>/cancel")
    @require("staff")
    def staff_registration_cancel(self, request, activity_id, registration_id):
        return self._on_registration(request, activity_id, registration_id, self.registration.cancel_registration,
                                     "registration.cancelled", "activities_err_cannot_cancel_registration")

    def _on_registration(self, request, activity_id: str, registration_id: str, change, action: str,
                         refused_key: str) -> Response:
        """`change` one registration of this activity (404 for one of another), recorded; a change the
        registration's state refuses: the activity's page with why (409)."""
        page = StaffPage(request)
        try:
            if not any(r["registration_id"] == registration_id
                       for r in self.registration.list_registrations(activity_id)):
                return page.not_found()
            change(registration_id)
        except NotFound:
            return page.not_found()
        except Conflict:
            return self._activity_page(page, activity_id, 409, problem=page.t(refused_key))
        record(self, request, action, "registration", registration_id, activity_id=activity_id)
        return _seeing_other(f"/staff/activities/{activity_id}")

    # ------------------------------------------------------------ the attendance sheet

    @http("GET,POST", "/staff/activities/<activity_id>/attendance")
    @require("staff")
    def staff_activity_attendance(self, request, activity_id):
        page = StaffPage(request)
        try:
            activity = self.registration.get_activity(activity_id)
            confirmed = self._confirmed_by_name(activity_id)
        except NotFound:
            return page.not_found()
        values = days_recorded(confirmed)
        context = self._attendance_context(request, activity, confirmed)
        title = page.t("activities_attendance_title", title=activity["title"])
        if request.method != "POST":
            return page.render("activities/attendance.html", title=title, v=values, **context)
        posted, errors = self._attendance_posted(page, request.form, activity, confirmed, values)
        if errors:
            return page.render("activities/attendance.html", status=400, title=title, v={**values, **posted},
                               **{**context, "errors": errors})
        for registration_id, days in posted.items():
            try:
                self.registration.record_attendance(registration_id, int(days))
            except (Conflict, ValidationFailed):
                problem = page.t("activities_err_attendance_refused")
                return page.render("activities/attendance.html", status=409, title=title, v={**values, **posted},
                                   **{**context, "general_errors": [problem]})
            record(self, request, "attendance.recorded", "registration", registration_id, activity_id=activity_id,
                   days_attended=int(days))
        return _seeing_other(f"/staff/activities/{activity_id}/attendance?saved=1")

    def _confirmed_by_name(self, activity_id: str) -> list[dict]:
        """The confirmed registrations, as the sheets list them: by name."""
        confirmed = [r for r in self.registration.list_registrations(activity_id) if r["status"] == "confirmed"]
        return sorted(confirmed, key=lambda r: str(r.get("name") or "").casefold())

    def _attendance_context(self, request, activity: dict, confirmed: list[dict]) -> dict:
        starts = _moment(activity["starts_at"])
        return dict(a=activity, rows=confirmed, organisation_names=self._organisation_names(),
                    one_day=activity["days"] == 1, errors=None, general_errors=[],
                    saved=text(request.args, "saved") == "1", walk_in=forms.walk_in_values({}),
                    walk_in_failed=False, organisations=public_organisations(self.registration),
                    staged_org_types=registration_forms.STAGED_ORG_TYPES,
                    started=starts is not None and starts <= datetime.now(UTC))

    @http("POST", "/staff/activities/<activity_id>/attendance/walk-in")
    @require("staff")
    def staff_activity_walk_in(self, request, activity_id):
        page = StaffPage(request)
        try:
            activity = self.registration.get_activity(activity_id)
        except NotFound:
            return page.not_found()
        values = forms.walk_in_values(request.form)
        errors, payload = forms.check_walk_in(values, activity["days"], page.lang, page.t)
        general: list[str] = []
        status = 400
        if not errors:
            try:
                added = self.registration.register_walk_in(activity_id, payload)
            except ValidationFailed as exc:
                errors, general = registration_forms.errors_from_details(exc.details, page.t)
            except Conflict as exc:
                duplicate = (exc.details or {}).get("reason") == "duplicate"
                general = [page.t("activities_err_walk_in_duplicate") if duplicate
                           else page.t("activities_err_walk_in_refused")]
                status = 409
            else:
                record(self, request, "registration.walk_in", "registration", added["registration_id"],
                       activity_id=activity_id, days_attended=payload["days_attended"])
                return _seeing_other(f"/staff/activities/{activity_id}/attendance?saved=1")
        confirmed = self._confirmed_by_name(activity_id)
        values_by_row = days_recorded(confirmed)
        context = {**self._attendance_context(request, activity, confirmed), "walk_in": values,
                   "walk_in_failed": True, "errors": errors, "general_errors": general,
                   "field_labels": forms.WALK_IN_LABELS}
        return page.render("activities/attendance.html", status=status, v=values_by_row,
                           title=page.t("activities_attendance_title", title=activity["title"]), **context)

    @staticmethod
    def _attendance_posted(page: StaffPage, form, activity: dict, confirmed: list[dict], values: dict):
        """The rows whose days changed ({registration_id: days}) and the rows' errors. A row left empty
        (or unticked) keeps what was recorded: attendance is added or corrected, never taken away."""
        errors = AttendanceErrors()
        changed = {}
        for registration in confirmed:
            registration_id = registration["registration_id"]
            typed = text(form, DAYS_FIELD + registration_id)
            if not typed or typed == values[registration_id]:
                continue
            try:
                days = int(typed)
            except ValueError:
                days = 0
            if not 1 <= days <= activity["days"]:
                errors.add(DAYS_FIELD + registration_id, page.t("activities_err_days_attended", days=activity["days"]))
            changed[registration_id] = typed
        return changed, errors

    # ------------------------------------------------------------ registering someone on their behalf

    @http("GET,POST", "/staff/activities/<activity_id>/register")
    @require("staff")
    def staff_activity_register(self, request, activity_id):
        """The public registration form's fields and rules (services.gateway.public.forms), filled in by
        a staff member; the person's consent to the privacy notice is asked for and ticked by them."""
        page = StaffPage(request)
        try:
            activity = self.registration.get_activity(activity_id)
        except NotFound:
            return page.not_found()
        posted = request.method == "POST"
        values = registration_forms.form_values(request.form if posted else {})
        context = dict(a=activity, title=page.t("activities_register_title", title=activity["title"]),
                       roles=registration_forms.ROLES, needs=registration_forms.NEEDS_FLAGS,
                       staged_org_types=registration_forms.STAGED_ORG_TYPES,
                       field_labels=registration_forms.FIELD_LABELS, errors=None, general_errors=[], v=values)
        if not posted:
            return page.render("activities/register.html", organisations=public_organisations(self.registration),
                               **context)
        values[registration_forms.F_CODE] = activity.get("invitation_code") or ""
        errors = registration_forms.check(values, page.t)
        general: list[str] = []
        status = 400
        if not errors:
            try:
                result = self.registration.register(activity_id, registration_forms.to_payload(values, page.lang))
            except ValidationFailed as exc:
                errors, general = registration_forms.errors_from_details(exc.details, page.t)
                general = general if errors or general else [page.t("err_form_invalid")]
            except Conflict as exc:
                duplicate = (exc.details or {}).get("reason") == "duplicate"
                general, status = [page.t("conflict_duplicate") if duplicate else page.t("registration_closed")], 409
            else:
                record(self, request, "registration.created", "registration", result["registration_id"],
                       activity_id=activity_id, status=result["status"])
                return _seeing_other(f"/staff/activities/{activity_id}")
        return page.render("activities/register.html", status=status,
                           organisations=public_organisations(self.registration),
                           **{**context, "errors": errors, "general_errors": general})

    # ------------------------------------------------------------ sign-in sheet and export

    @http("GET", "/staff/activities/<activity_id>/sign-in-sheet")
    @require("staff")
    def staff_activity_sign_in_sheet(self, request, activity_id):
        page = StaffPage(request)
        try:
            activity = self.registration.get_activity(activity_id)
            confirmed = self._confirmed_by_name(activity_id)
        except NotFound:
            return page.not_found()
        return page.render("activities/sign_in_sheet.html", title=page.t("activities_sign_in_sheet_title",
                                                                           title=activity["title"]),
                           a=activity, rows=confirmed, organisation_names=self._organisation_names(),
                           walk_in_lines=WALK_IN_LINES)

    @http("GET", "/staff/activities/<activity_id>/registrations.csv")
    @require("admin")
    def staff_activity_registrations_csv(self, request, activity_id):
        page = StaffPage(request)
        try:
            registrations = self.registration.list_registrations(activity_id)
        except NotFound:
            return page.not_found()
        names = self._organisation_names()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([page.t(heading) for heading, _ in CSV_COLUMNS])
        for registration in registrations:
            writer.writerow([csv_cell(value(registration, names)) for _, value in CSV_COLUMNS])
        record(self, request, "registrations.exported", "activity", activity_id, rows=len(registrations))
        # with a byte order mark, so a spreadsheet reads the names' accents right
        return Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="registrations-{activity_id}.csv"',
            "Cache-Control": "no-store"})
