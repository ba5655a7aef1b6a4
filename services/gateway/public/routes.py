"""The public side of registration: what anyone may use without a token.

- HTML pages (nl/en/fr, no JavaScript): the activity list, an activity with its registration
  form, the cancellation page behind a registration's secret link, the privacy notice;
- the same as JSON under /api/activities and /api/registrations/<token>.

Every answer comes from the registration service over RPC (`self.registration`).
"""
from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlencode

from werkzeug.wrappers import Response

from kernel.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from kernel.inputs import INVITATION_CODE_PATTERN
from services.gateway.core.errors import api
from services.gateway.core.forms import public_organisations
from services.gateway.core.http import read_json_object
from services.gateway.core.openapi import operation, query_parameter
from services.gateway.core.pages import Page
from services.gateway.core.security import http
from services.gateway.public import forms
from services.gateway.public.openapi import COMPONENTS

log = logging.getLogger(__name__)


class PublicRoutes:
    """The registration service's public pages and JSON; the service class provides `registration`
    and `config`."""

    openapi_components = COMPONENTS

    # ------------------------------------------------------------ JSON API

    @operation("listPublicActivities", "Activities open to the public", response="PublicActivity", many=True)
    @http("GET", "/api/activities")
    @api
    def api_list_activities(self, request):
        return self.registration.list_public_activities()

    @operation("getPublicActivity", "One public activity (invitation-only ones need ?code=)",
               response="PublicActivity", errors=(400, 403, 404),
               query=(query_parameter("code", {"type": "string"}, "Invitation code, for invitation-only activities."),))
    @http("GET", "/api/activities/<activity_id>")
    @api
    def api_get_activity(self, request, activity_id):
        code = request.args.get("code") or None
        if code is not None and not re.match(INVITATION_CODE_PATTERN, code):
            raise ValidationFailed(
                "Invalid code.", {"code": ["Not an invitation code: letters, digits, - and _ only."]})
        return self.registration.get_public_activity(activity_id, invitation_code=code)

    @operation("register", "Register for an activity: 201 with status confirmed, or waitlisted (with the position) "
               "when it is full", request="RegistrationRequest", response="RegistrationResult", status=201,
               errors=(400, 403, 404, 409))
    @http("POST", "/api/activities/<activity_id>/registrations", rate_limit="public")
    @api
    def api_register(self, request, activity_id):
        payload = read_json_object(request)
        if "invitation_code" not in payload and request.args.get("code"):
            payload["invitation_code"] = request.args["code"]
        result = self.registration.register(activity_id, payload)
        if result.get("status") == "waitlisted" and not result.get("message"):
            result["message"] = (
                f"The activity is full: you are on the waiting list at position {result.get('waitlist_position')}."
            )
        return 201, result

    @operation("getRegistrationByToken", "A registration, by the secret token of its cancel link",
               response="Registration", errors=(404,))
    @http("GET", "/api/registrations/<token>")
    @api
    def api_get_registration(self, request, token):
        return self.registration.get_registration_by_token(token)

    @operation("cancelRegistrationByToken", "Cancel a registration by its secret token", response="Registration",
               errors=(404, 409))
    @http("POST", "/api/registrations/<token>/cancel", rate_limit="public")
    @api
    def api_cancel_registration(self, request, token):
        return self.registration.cancel_registration_by_token(token)

    # ------------------------------------------------------------ HTML pages

    @http("GET", "/")
    def page_activities(self, request):
        page = Page(request)
        try:
            activities = self.registration.list_public_activities()
        except DomainError:
            return page.error()
        except Exception:  # noqa: BLE001
            log.exception("activity list unavailable")
            return page.error(503, "unavailable_text")
        return page.render("public/activities.html", activities=activities)

    @http("GET", "/privacy")
    def page_privacy(self, request):
        return Page(request).render("public/privacy.html")

    @http("GET,POST", "/activities/<activity_id>", rate_limit="public")
    def page_activity(self, request, activity_id):
        page = Page(request)
        code = (request.form.get("code") if request.method == "POST" else None) or request.args.get("code") or None
        if request.method != "POST":  # GET and HEAD only show
            context = self._form_context(page, activity_id, code, forms.form_values({}))
            if isinstance(context, Response):
                return context
            return page.render("public/activity.html", **context)

        values = forms.form_values(request.form)
        if code:
            values[forms.F_CODE] = code
        errors = forms.check(values, page.t)
        if errors:
            return self._form_again(page, activity_id, code, values, errors, [])
        # one call when it goes well: the registration comes back with the activity as it is now
        # (the activity, its invitation code and its organisations are the service's to check)
        try:
            result = self.registration.register(activity_id, forms.to_payload(values, page.lang), with_activity=True)
        except ValidationFailed as exc:
            errors, general = forms.errors_from_details(exc.details, page.t)
            if not errors and not general:
                general = [page.t("err_form_invalid")]
            return self._form_again(page, activity_id, code, values, errors, general)
        except Conflict as exc:
            return self._conflict_page(page, activity_id, code, exc)
        except NotFound:
            return page.not_found()
        except Forbidden:
            return page.message("invitation_title", [page.t("invitation_required")], 403)
        except Exception:  # noqa: BLE001
            log.exception("registration failed")
            return page.error(503, "unavailable_text")
        base = str(self.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
        cancel_url = f"{base}/registrations/{result['cancel_token']}/cancel"
        return page.render(
            "public/registered.html", status=201, a=result.pop("activity"), result=result,
            waitlisted=result.get("status") == "waitlisted", cancel_url=cancel_url,
        )

    def _form_context(self, page: Page, activity_id: str, code, values: dict) -> dict | Response:
        """What the registration form shows (the activity, the organisations to choose from, the
        values filled in), or the page that says why there is no form."""
        try:
            activity = self.registration.get_public_activity(activity_id, invitation_code=code)
            organisations = public_organisations(self.registration)
        except NotFound:
            return page.not_found()
        except Forbidden:
            return page.message("invitation_title", [page.t("invitation_required")], 403)
        except DomainError as exc:
            if exc.http_status == 404:
                return page.not_found()
            return page.error(exc.http_status if exc.http_status < 500 else 500)
        except Exception:  # noqa: BLE001
            log.exception("activity page unavailable")
            return page.error(503, "unavailable_text")
        return dict(
            a=activity, organisations=organisations, invitation_code=code, roles=forms.ROLES,
            staged_org_types=forms.STAGED_ORG_TYPES, needs=forms.NEEDS_FLAGS, field_labels=forms.FIELD_LABELS,
            errors=None, general_errors=[], v=values,
        )

    def _form_again(self, page: Page, activity_id: str, code, values: dict, errors, general_errors: list[str]):
        """The form once more (400), with what was wrong."""
        context = self._form_context(page, activity_id, code, values)
        if isinstance(context, Response):
            return context
        return page.render("public/activity.html", status=400,
                           **{**context, "errors": errors, "general_errors": general_errors})

    def _conflict_page(self, page: Page, activity_id: str, code, exc: Conflict) -> Response:
        reason = str((exc.details or {}).get("reason") or "").lower() if isinstance(exc.details, dict) else ""
        text = f"{exc.message} {reason}".lower()
        if "duplicate" in text or "already registered" in text or "already" in text:
            key = "conflict_duplicate"
        elif "closed" in text or "not open" in text or "cancelled" in text or "registration" in text:
            key = "conflict_closed"
        else:
            key = "conflict_generic"
        back = f"/activities/{quote(activity_id)}?" + urlencode({"lang": page.lang, **({"code": code} if code else {})})
        return page.message("conflict_title", [page.t(key)], 409, back_url=back, back_label=page.t("back_to_list"))

    @http("GET,POST", "/registrations/<token>/cancel", rate_limit="public")
    def page_cancel(self, request, token):
        """GET only asks (mail scanners prefetch links); POST cancels."""
        page = Page(request)
        try:
            registration = self.registration.get_registration_by_token(token)
        except NotFound:
            return page.not_found()
        except DomainError as exc:
            return page.error(exc.http_status if exc.http_status < 500 else 500)
        except Exception:  # noqa: BLE001
            log.exception("cancel page unavailable")
            return page.error(503, "unavailable_text")
        if request.method != "POST":  # GET and HEAD never cancel
            response = page.render(
                "public/cancel.html", registration=registration, token=token,
                activity_title=self._activity_title(registration),
            )
            response.headers["Cache-Control"] = "no-store"
            response.headers["X-Robots-Tag"] = "noindex"
            return response
        if registration.get("status") == "cancelled":
            return page.message("cancelled_title", [page.t("already_cancelled")], 200)
        try:
            self.registration.cancel_registration_by_token(token)
        except NotFound:
            return page.not_found()
        except Conflict:
            return page.message("cancelled_title", [page.t("already_cancelled")], 200)
        except Exception:  # noqa: BLE001
            log.exception("cancellation failed")
            return page.error(503, "unavailable_text")
        return page.message("cancelled_title", [page.t("cancelled_text")], 200)

    def _activity_title(self, registration: dict) -> str:
        for key in ("activity_title", "title"):
            if registration.get(key):
                return registration[key]
        activity = registration.get("activity")
        if isinstance(activity, dict) and activity.get("title"):
            return activity["title"]
        try:
            return self.registration.get_activity(registration["activity_id"])["title"]
        except Exception:  # noqa: BLE001 - the title is a nicety
            return ""
