"""The request desk: the public request form and the staff's JSON API of the requests service.

- GET/POST /requests/new: the public request form (nl/en/fr, no JavaScript) and its
  acknowledgement page;
- POST /api/requests: the same as JSON;
- /api/staff/requests...: phone intake, the lifecycle, queues, search and filters, CSV
  export, matching suggestions and the staff directory (staff token; the CSV export, every
  requester's contact details at once, an admin token);
- /staff/requests...: the same desk as staff pages (desk.py).

Every answer comes from the requests service over RPC (`self.requests`).
"""
from __future__ import annotations

import logging
import re

from werkzeug.wrappers import Response

from kernel.config import answer_within_working_days
from kernel.errors import DomainError, ValidationFailed
from kernel.rules import LANGUAGES
from services.gateway.core import forms
from services.gateway.core.audit import audited
from services.gateway.core.auth import require
from services.gateway.core.errors import api
from services.gateway.core.http import read_json_object
from services.gateway.core.openapi import operation
from services.gateway.core.pages import Page
from services.gateway.core.security import http
from services.gateway.requests.desk import RequestDeskPages
from services.gateway.requests.intake import ORG_TYPE_CHOICES, ORG_TYPE_PREFIX, organisation_fields
from services.gateway.requests.openapi import COMPONENTS, FILTER_PARAMETERS, PAGE_PARAMETERS

log = logging.getLogger(__name__)

DEFAULT_THEMES = ("vrijwilligers", "participatie", "samenwerking", "diversiteit", "digitalisering", "bestuur",
                  "communicatie", "andere")
FILTER_KEYS = ("queue", "status", "theme", "goal", "assignee", "target_group", "q")

# form fields, in page order, and the catalogue keys of their labels
FIELDS = ("name", "email", "phone", "language", "organisation", "organisation_name", "question", "theme",
          "preferred_timing", "privacy_consent")
FIELD_LABELS = {
    "name": "rq_field_name", "email": "rq_field_email", "phone": "rq_field_phone",
    "language": "rq_field_language", "organisation": "rq_field_organisation",
    "organisation_name": "rq_field_organisation_name", "question": "rq_field_question",
    "theme": "rq_field_theme", "preferred_timing": "rq_field_preferred_timing",
    "privacy_consent": "legend_privacy",
}
PAYLOAD_TO_FORM = {"organisation_id": "organisation", "org_type": "organisation"}
_PHONE = re.compile(r"^\+?[0-9 ()./-]{6,40}$")


class RequestFormErrors(forms.FormErrors):
    FIELD_ORDER = FIELDS


def form_values(form) -> dict:
    values = {name: forms.text(form, name) for name in FIELDS if name != "privacy_consent"}
    values["privacy_consent"] = forms.checked(form, "privacy_consent")
    return values


def check_form(values: dict, t, themes, organisation_ids) -> RequestFormErrors:
    """The obvious mistakes, in the visitor's language; the requests service stays the authority."""
    errors = RequestFormErrors()
    if not values["name"]:
        errors.add("name", t("rq_err_name_required"))
    if not values["email"]:
        errors.add("email", t("err_email_required"))
    elif not forms.EMAIL_SHAPE.match(values["email"]):
        errors.add("email", t("err_email_invalid"))
    if values["phone"] and not _PHONE.match(values["phone"]):
        errors.add("phone", t("rq_err_phone_invalid"))
    if values["language"] and values["language"] not in LANGUAGES:
        errors.add("language", t("err_choice_invalid"))
    organisation = values["organisation"]
    if organisation and not (
        organisation.removeprefix(ORG_TYPE_PREFIX) in ORG_TYPE_CHOICES
        if organisation.startswith(ORG_TYPE_PREFIX) else organisation in organisation_ids
    ):
        errors.add("organisation", t("err_choice_invalid"))
    if not values["question"]:
        errors.add("question", t("rq_err_question_required"))
    if not values["theme"]:
        errors.add("theme", t("rq_err_theme_required"))
    elif values["theme"] not in themes:
        errors.add("theme", t("err_choice_invalid"))
    if not values["privacy_consent"]:
        errors.add("privacy_consent", t("err_consent_required"))
    return errors


def to_payload(values: dict, language: str) -> dict:
    return {
        "name": values["name"], "email": values["email"], "phone": values["phone"] or None,
        "language": values["language"] or language, **organisation_fields(values["organisation"]),
        "organisation_name": values["organisation_name"] or None, "question": values["question"],
        "theme": values["theme"], "preferred_timing": values["preferred_timing"] or None,
        "privacy_consent": values["privacy_consent"],
    }


def errors_from_details(details, t) -> tuple[RequestFormErrors, list[str]]:
    errors, general = RequestFormErrors(), []
    for field, messages in forms.flatten_details(details).items():
        target = PAYLOAD_TO_FORM.get(field, field)
        if target not in FIELDS:
            general.extend(messages)
        elif target == "privacy_consent":
            errors.add(target, t("err_consent_required"))
        else:
            for message in messages:
                errors.add(target, f"{t('err_field_invalid')} ({message})")
    return errors, general


def _filters(request) -> dict:
    """The desk's query parameters (empty ones left out; unknown ones go to the service, which refuses them)."""
    return {key: value for key, value in request.args.items() if value != ""}


class RequestRoutes(RequestDeskPages):
    """The request form, the desk's JSON and its staff pages (RequestDeskPages); the service class
    provides `requests`, `registration` and `config`."""

    openapi_components = COMPONENTS

    # ------------------------------------------------------------ public

    def _request_settings(self) -> dict:
        return (self.config.get("REQUESTS") or {}) if self.config else {}

    def _themes(self) -> list[str]:
        return [str(theme) for theme in self._request_settings().get("THEMES") or DEFAULT_THEMES]

    def _directory(self) -> list[dict]:
        """Organisations for the form's list; the form still works without them."""
        try:
            return forms.public_organisations(self.registration)
        except Exception:  # noqa: BLE001 - the directory is a convenience here
            log.exception("organisations directory unavailable for the request form")
            return []

    @http("GET,POST", "/requests/new", rate_limit="public")
    def page_request_new(self, request):
        page = Page(request)
        t = page.t
        themes = self._themes()
        organisations = self._directory()
        context = dict(
            themes=themes, organisations=organisations, org_types=ORG_TYPE_CHOICES, field_labels=FIELD_LABELS,
            errors=None, general_errors=[], theme_label=self._theme_label(t),
        )
        if request.method != "POST":
            return page.render("requests/new.html", v=form_values({}), **context)
        values = form_values(request.form)
        errors = check_form(values, t, themes, {o["organisation_id"] for o in organisations})
        if errors:
            return page.render("requests/new.html", status=400, v=values, **{**context, "errors": errors})
        try:
            receipt = self.requests.submit_request(to_payload(values, page.lang))
        except ValidationFailed as exc:
            errors, general = errors_from_details(exc.details, t)
            if not errors and not general:
                general = [t("err_form_invalid")]
            return page.render("requests/new.html", status=400, v=values,
                               **{**context, "errors": errors, "general_errors": general})
        except DomainError as exc:
            return page.error(exc.http_status if exc.http_status < 500 else 500)
        except Exception:  # noqa: BLE001
            log.exception("request intake failed")
            return page.error(503, "error_text")
        days = answer_within_working_days(self.config)
        return page.render("requests/received.html", status=201, receipt=receipt, days=days)

    @operation("submitRequest", "Ask the centre for tailored support (no account, no ID document): 201 with "
               "a receipt", request="RequestIntake", response="RequestReceipt", status=201, errors=(400,))
    @http("POST", "/api/requests", rate_limit="public")
    @api
    def api_submit_request(self, request):
        return 201, self.requests.submit_request(read_json_object(request))

    # ------------------------------------------------------------ staff desk

    @operation("listRequests", "The request desk: queues (new, mine, overdue), filters and text search",
               response="Request", many=True, errors=(400,), query=FILTER_PARAMETERS + PAGE_PARAMETERS,
               description="One page (limit, offset) of requests, without the requesters' e-mail, phone and notes: "
                           "those are on the request's own page (getRequest).")
    @http("GET", "/api/staff/requests")
    @api
    @require("staff")
    def staff_list_requests(self, request):
        return self.requests.list_requests(_filters(request))

    @operation("recordRequest", "Enter a request taken by phone (or mail)", request="StaffRequestIntake",
               response="Request", status=201, errors=(400,))
    @http("POST", "/api/staff/requests")
    @api
    @audited("request.recorded", "request")
    @require("staff")
    def staff_record_request(self, request):
        return 201, self.requests.record_request(read_json_object(request))

    @operation("exportRequests", "The same selection as listRequests, as CSV (one row per request)", csv=True,
               errors=(400,), query=FILTER_PARAMETERS,
               description="Every requester's contact details at once: an admin token (docs/SECURITY.md).",
               error_descriptions=((403, "A staff token: this bulk export of personal data needs admin."),))
    @http("GET", "/api/staff/requests/export.csv")
    @api
    @audited("requests.exported", "request")
    @require("admin")  # every requester's name, e-mail and phone at once: a bulk export of personal data
    def staff_export_requests(self, request):
        text = self.requests.export_csv(_filters(request))
        return Response(
            text, status=200, content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="requests.csv"', "Cache-Control": "no-store"},
        )

    @operation("getRequest", "One request with its notes and deliveries", response="Request", errors=(404,))
    @http("GET", "/api/staff/requests/<request_id>")
    @api
    @require("staff")
    def staff_get_request(self, request, request_id):
        return self.requests.get_request(request_id)

    @operation("updateRequestTags", "Change the theme and/or goal (SD1.OD4) of a request", request="RequestTags",
               response="Request", errors=(400, 404, 409))
    @http("PATCH", "/api/staff/requests/<request_id>")
    @api
    @audited("request.updated", "request", "request_id")
    @require("staff")
    def staff_update_request_tags(self, request, request_id):
        return self.requests.update_tags(request_id, read_json_object(request))

    @operation("suggestStaff", "Colleagues for this request: most shared expertise themes first, then the "
               "lightest open load", response="StaffSuggestion", many=True, errors=(404,))
    @http("GET", "/api/staff/requests/<request_id>/suggestions")
    @api
    @require("staff")
    def staff_suggest_staff(self, request, request_id):
        return self.requests.suggest_staff(request_id)

    @operation("exploreRequest", "Start exploring (the conversation with the requester; counts as the "
               "requester's answer)", request="RequestExplore", response="Request", errors=(400, 404, 409))
    @http("POST", "/api/staff/requests/<request_id>/explore")
    @api
    @audited("request.explored", "request", "request_id")
    @require("staff")
    def staff_explore_request(self, request, request_id):
        return self.requests.explore(request_id, read_json_object(request, required=False))

    @operation("addRequestNote", "Add a conversation note (while exploring, accepted or delivered)",
               request="RequestNote", response="Request", errors=(400, 404, 409))
    @http("POST", "/api/staff/requests/<request_id>/notes")
    @api
    @audited("request.note_added", "request", "request_id")
    @require("staff")
    def staff_add_request_note(self, request, request_id):
        return self.requests.add_note(request_id, read_json_object(request))

    @operation("acceptRequest", "Accept (weerhouden) with an assignee; emits request.accepted",
               request="RequestAccept", response="Request", errors=(400, 404, 409))
    @http("POST", "/api/staff/requests/<request_id>/accept")
    @api
    @audited("request.accepted", "request", "request_id")
    @require("staff")
    def staff_accept_request(self, request, request_id):
        return self.requests.accept(request_id, read_json_object(request))

    @operation("declineRequest", "Decline with a reason, optionally referring to a named partner; emits "
               "request.declined", request="RequestDecline", response="Request", errors=(400, 404, 409))
    @http("POST", "/api/staff/requests/<request_id>/decline")
    @api
    @audited("request.declined", "request", "request_id")
    @require("staff")
    def staff_decline_request(self, request, request_id):
        return self.requests.decline(request_id, read_json_object(request))

    @operation("recordDelivery", "Record a delivery; emits request.delivered", request="RequestDelivery",
               response="Request", errors=(400, 404, 409))
    @http("POST", "/api/staff/requests/<request_id>/deliveries")
    @api
    @audited("request.delivery_recorded", "request", "request_id")
    @require("staff")
    def staff_record_delivery(self, request, request_id):
        return self.requests.record_delivery(request_id, read_json_object(request))

    @operation("closeRequest", "Close a delivered request", response="Request", errors=(404, 409))
    @http("POST", "/api/staff/requests/<request_id>/close")
    @api
    @audited("request.closed", "request", "request_id")
    @require("staff")
    def staff_close_request(self, request, request_id):
        read_json_object(request, required=False)
        return self.requests.close(request_id)

    # ------------------------------------------------------------ staff directory

    @operation("listStaffMembers", "Colleagues who take requests, with their open load", response="StaffMember",
               many=True)
    @http("GET", "/api/staff/requests/staff")
    @api
    @require("staff")
    def staff_list_staff_members(self, request):
        return self.requests.list_staff()

    @operation("createStaffMember", "Add a colleague with expertise themes", request="StaffMemberInput",
               response="StaffMember", status=201, errors=(400,))
    @http("POST", "/api/staff/requests/staff")
    @api
    @audited("request_staff.created", "request_staff", answer_key="staff_id")
    @require("staff")
    def staff_create_staff_member(self, request):
        return 201, self.requests.create_staff(read_json_object(request))

    @operation("getStaffMember", "One colleague", response="StaffMember", errors=(404,))
    @http("GET", "/api/staff/requests/staff/<staff_id>")
    @api
    @require("staff")
    def staff_get_staff_member(self, request, staff_id):
        return self.requests.get_staff(staff_id)

    @operation("updateStaffMember", "Change a colleague (name, email, themes, active)",
               request="StaffMemberUpdate", response="StaffMember", errors=(400, 404))
    @http("PATCH", "/api/staff/requests/staff/<staff_id>")
    @api
    @audited("request_staff.updated", "request_staff", "staff_id")
    @require("staff")
    def staff_update_staff_member(self, request, staff_id):
        return self.requests.update_staff(staff_id, read_json_object(request))
