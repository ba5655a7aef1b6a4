"""The staff's own routes: signing in, the pages for staff that are not a feature's own, and
the JSON API of the registration desk.

- GET/POST /staff/login, POST /staff/logout: email and password (the accounts service checks them,
  locks an account after repeated failures and keeps the session); the browser gets only the
  session's secret, in an HttpOnly, SameSite=Strict cookie (Secure under https). Signing out
  revokes the session;
- GET /staff/mail and /staff/mail/<id>: mail the platform captured instead of sending
  (NOTIFICATIONS.MAIL_CAPTURE, the embedded default); the ops role: the mails hold participants'
  personal cancel and survey links;
- GET /api/staff/notifications: the message log (JSON; staff);
- /api/staff/organisations, /api/staff/activities, /api/staff/registrations: the organisations
  directory, activities and their registrations (staff; the registration service).

Staff pages accept the session cookie or `Authorization: Bearer` (services.gateway.core.auth);
without either they answer 401 with the sign-in form, with another role 403
(`auth_refused_page`, which services.gateway.core.auth.refusal calls).
"""
from __future__ import annotations

from datetime import datetime

from werkzeug.wrappers import Response

from kernel.config import CENTRE_TIMEZONE
from kernel.errors import ValidationFailed
from services.gateway.core.audit import audited
from services.gateway.core.auth import SESSION_COOKIE, require
from services.gateway.core.errors import api
from services.gateway.core.forms import text
from services.gateway.core.http import read_json_object
from services.gateway.core.openapi import operation
from services.gateway.core.pages import StaffPage
from services.gateway.core.security import http
from services.gateway.staff.openapi import COMPONENTS

COOKIE_PATH = "/"
# The captured mail's HTML is shown in a sandboxed srcdoc iframe, which inherits the page's policy:
# the mails style with style attributes, so this page (ops only, no script anywhere) allows them.
MAIL_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def _safe_next(value: str | None) -> str | None:
    return value if value and value.startswith("/staff/") and not value.startswith("//") else None


def _landing(role: str) -> str:
    """Where a sign-in without `next` goes: the captured mail for ops, the annual report for the others."""
    if role == "ops":
        return "/staff/mail"
    return f"/staff/reports/annual/{datetime.now(CENTRE_TIMEZONE).year}"


def https(config, request) -> bool:
    """Cookies get the Secure flag when the public address is https (or the request came over it)."""
    return str(config.get("PUBLIC_BASE_URL") or "").lower().startswith("https://") or request.scheme == "https"


def _required_value(body: dict, name: str, kind, message: str):
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(f"Invalid {name}.", {name: [message]})
    return value


def sign_in_page(request, status: int = 200, next_url: str | None = None, email: str = "",
                 error_key: str | None = None, notice_key: str | None = None) -> Response:
    page = StaffPage(request)
    return page.render("staff/login.html", status=status, title=page.t("accounts_login_title"),
                       next=next_url or "", email=email, error=page.t(error_key) if error_key else None,
                       notice=page.t(notice_key) if notice_key else None)


class StaffRoutes:
    """Signing in, the captured mail, the message log and the registration desk's JSON; the service
    class provides `config`, `accounts`, `registration` and `notifications`."""

    openapi_components = COMPONENTS

    # ------------------------------------------------------------ signing in, staff pages

    @http("GET,POST", "/staff/login", rate_limit="login")
    def staff_login(self, request):
        next_url = _safe_next(request.values.get("next"))
        if request.method != "POST":
            return sign_in_page(request, next_url=next_url)
        email = text(request.form, "email")
        signed = self.accounts.sign_in(email, request.form.get("password") or "")
        if not signed["token"]:  # a wrong password, an unknown email and a locked account look the same
            return sign_in_page(request, 401, next_url, email, error_key="accounts_login_refused")
        response = Response(status=303, headers={"Location": next_url or _landing(signed["account"]["role"])})
        response.set_cookie(SESSION_COOKIE, signed["token"], httponly=True, samesite="Strict", path=COOKIE_PATH,
                            secure=https(self.config, request))
        return response

    @http("POST", "/staff/logout")
    def staff_logout(self, request):
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            self.accounts.sign_out(session)
        response = Response(status=303, headers={"Location": "/staff/login"})
        response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict",
                               secure=https(self.config, request))
        return response

    @http("GET", "/staff/mail")
    @require("ops")
    def staff_mail(self, request):
        page = StaffPage(request)
        return page.render("staff/mail_list.html", title=page.t("accounts_mail_title"),
                           mails=self.notifications.list_captured_mail())

    @http("GET", "/staff/mail/<int:mail_id>")
    @require("ops")
    def staff_mail_one(self, request, mail_id):
        page = StaffPage(request)
        mail = self.notifications.get_captured_mail(mail_id)
        if mail is None:
            return page.message("not_found_title", [page.t("accounts_mail_not_found")], 404)
        response = page.render("staff/mail.html", title=mail["subject"], mail=mail)
        response.headers["Content-Security-Policy"] = MAIL_POLICY
        return response

    def auth_refused_page(self, request, status: int, roles, held) -> Response:
        """What a staff page answers without a valid session or token (401: the sign-in form, coming
        back here) or with another role (403); services.gateway.core.auth.refusal calls it."""
        if status == 401:
            ended = bool(request.cookies.get(SESSION_COOKIE)) and not request.headers.get("Authorization")
            response = sign_in_page(request, 401, _safe_next(request.full_path.rstrip("?")),
                                    notice_key="accounts_session_ended" if ended else None,
                                    error_key="accounts_token_refused" if request.headers.get("Authorization")
                                    else None)
            response.headers["WWW-Authenticate"] = 'Bearer realm="staff"'
            return response
        page = StaffPage(request)
        needed = ", ".join(page.t(f"accounts_role_{role}") for role in sorted(roles))
        return page.render("staff/refused.html", status=403, title=page.t("accounts_refused_title"),
                           text=page.t("accounts_refused_text", roles=needed))

    # ------------------------------------------------------------ the message log

    @operation("listNotifications", "The message log, newest first: what was sent to whom (person id), why "
               "(cause event) and how it went; purged for erased persons. ?limit= (max 1000), ?person_id=",
               response="NotificationLogEntry", many=True)
    @http("GET", "/api/staff/notifications")
    @api
    @require("staff")
    def staff_list_notifications(self, request):
        try:
            limit = int(request.args.get("limit") or 200)
        except ValueError:
            limit = 200
        return self.notifications.list_notifications(limit=limit, person_id=request.args.get("person_id") or None)

    # ------------------------------------------------------------ activities, organisations, registrations

    @operation("listOrganisations", "The organisations directory, with those participants named and staff have "
               "not yet confirmed (confirmed: false)", response="Organisation", many=True)
    @http("GET", "/api/staff/organisations")
    @api
    @require("staff")
    def staff_list_organisations(self, request):
        return self.registration.list_organisations(include_staged=True)

    @operation("createOrganisation", "Register an organisation", request="OrganisationInput",
               response="Organisation", status=201, errors=(400, 409))
    @http("POST", "/api/staff/organisations")
    @api
    @audited("organisation.created", "organisation")
    @require("staff")
    def staff_create_organisation(self, request):
        return 201, self.registration.create_organisation(read_json_object(request))

    @operation("getOrganisation", "One organisation", response="Organisation", errors=(404,))
    @http("GET", "/api/staff/organisations/<organisation_id>")
    @api
    @require("staff")
    def staff_get_organisation(self, request, organisation_id):
        return self.registration.get_organisation(organisation_id)

    @operation("updateOrganisation", "Change an organisation", request="OrganisationUpdate",
               response="Organisation", errors=(400, 404, 409))
    @http("PATCH", "/api/staff/organisations/<organisation_id>")
    @api
    @audited("organisation.updated", "organisation", "organisation_id")
    @require("staff")
    def staff_update_organisation(self, request, organisation_id):
        return self.registration.update_organisation(organisation_id, read_json_object(request))

    @operation("listActivities", "All activities", response="Activity", many=True)
    @http("GET", "/api/staff/activities")
    @api
    @require("staff")
    def staff_list_activities(self, request):
        return self.registration.list_activities()

    @operation("createActivity", "Schedule an activity", request="ActivityInput", response="Activity",
               status=201, errors=(400, 409))
    @http("POST", "/api/staff/activities")
    @api
    @audited("activity.created", "activity")
    @require("staff")
    def staff_create_activity(self, request):
        return 201, self.registration.create_activity(read_json_object(request))

    @operation("getActivity", "One activity", response="Activity", errors=(404,))
    @http("GET", "/api/staff/activities/<activity_id>")
    @api
    @require("staff")
    def staff_get_activity(self, request, activity_id):
        return self.registration.get_activity(activity_id)

    @operation("updateActivity", "Change an activity", request="ActivityUpdate", response="Activity",
               errors=(400, 404, 409))
    @http("PATCH", "/api/staff/activities/<activity_id>")
    @api
    @audited("activity.updated", "activity", "activity_id")
    @require("staff")
    def staff_update_activity(self, request, activity_id):
        return self.registration.update_activity(activity_id, read_json_object(request))

    @operation("cancelActivity", "Cancel (afgelast) an activity", request="CancelActivity",
               response="Activity", errors=(400, 404, 409))
    @http("POST", "/api/staff/activities/<activity_id>/cancel")
    @api
    @audited("activity.cancelled", "activity", "activity_id")
    @require("staff")
    def staff_cancel_activity(self, request, activity_id):
        body = read_json_object(request)
        reason = _required_value(body, "reason", str, "Give the reason for cancelling (a non-empty text).")
        return self.registration.cancel_activity(activity_id, reason.strip())

    @operation("postponeActivity", "Postpone (verdaagd) an activity: new dates, registrations kept, everyone "
               "registered told", request="PostponeActivity", response="Activity", errors=(400, 404, 409))
    @http("POST", "/api/staff/activities/<activity_id>/postpone")
    @api
    @audited("activity.postponed", "activity", "activity_id")
    @require("staff")
    def staff_postpone_activity(self, request, activity_id):
        return self.registration.postpone_activity(activity_id, read_json_object(request))

    @operation("completeActivity", "Mark an activity completed", response="Activity", errors=(404, 409))
    @http("POST", "/api/staff/activities/<activity_id>/complete")
    @api
    @audited("activity.completed", "activity", "activity_id")
    @require("staff")
    def staff_complete_activity(self, request, activity_id):
        read_json_object(request, required=False)  # a body, if any, must still be a JSON object
        return self.registration.complete_activity(activity_id)

    @operation("listRegistrations", "Registrations of an activity (confirmed, waitlisted in order, cancelled)",
               response="StaffRegistration", many=True, errors=(404,))
    @http("GET", "/api/staff/activities/<activity_id>/registrations")
    @api
    @require("staff")
    def staff_list_registrations(self, request, activity_id):
        return self.registration.list_registrations(activity_id)

    @operation("cancelRegistration", "Cancel a registration (staff); the first on the waitlist is promoted",
               response="StaffRegistration", errors=(404, 409))
    @http("POST", "/api/staff/registrations/<registration_id>/cancel")
    @api
    @audited("registration.cancelled", "registration", "registration_id")
    @require("staff")
    def staff_cancel_registration(self, request, registration_id):
        read_json_object(request, required=False)
        return self.registration.cancel_registration(registration_id)

    @operation("promoteRegistration", "Give a waitlisted person a seat by hand, whatever their place on the "
               "waitlist (the capacity grows by one when no seat is free)", response="StaffRegistration",
               errors=(404, 409))
    @http("POST", "/api/staff/registrations/<registration_id>/promote")
    @api
    @audited("registration.promoted", "registration", "registration_id")
    @require("staff")
    def staff_promote_registration(self, request, registration_id):
        read_json_object(request, required=False)
        return self.registration.promote_registration(registration_id)

    @operation("recordAttendance", "Record the days a participant attended", request="Attendance",
               response="StaffRegistration", errors=(400, 404, 409))
    @http("PUT", "/api/staff/registrations/<registration_id>/attendance")
    @api
    @audited("attendance.recorded", "registration", "registration_id")
    @require("staff")
    def staff_record_attendance(self, request, registration_id):
        body = read_json_object(request)
        days = _required_value(body, "days_attended", int, "Give the number of days attended (a whole number).")
        return self.registration.record_attendance(registration_id, days)
