"""The gateway: the platform's one HTTP front door.

It owns no data. Every answer comes from a service over nameko RPC; domain
errors (kernel.errors) cross RPC intact and become their HTTP status here.

- JSON API under /api (public, and staff: a token of the role `@require(...)` names, see
  services.gateway.auth; every request passes services.gateway.security first: CSRF on form
  posts, rate limits of public writes, security headers),
- GET /api/openapi.json (generated with apispec from the registration schemas),
- GET /health (the broker and every service must answer in time),
- public HTML pages: the activity list, an activity with its registration
  form, the cancellation page, the privacy notice (nl/en/fr, no JavaScript).
"""
from __future__ import annotations

import logging
import math
import re
import time
from urllib.parse import quote, urlencode

import eventlet
from eventlet.semaphore import Semaphore
from kombu import Connection
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RoutingNotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Response

from kernel.config import SERVICES
from kernel.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from kernel.inputs import INVITATION_CODE_PATTERN
from kernel.rpc import RpcProxy
from services.gateway import (
    dashboard_routes,
    evaluation_routes,
    forms,
    metrics_routes,
    notifications_routes,
    reporting_routes,
    requests_routes,
)
from services.gateway.auth import require
from services.gateway.http import api, error_body, json_response, read_json_object
from services.gateway.pages import Page
from services.gateway.security import http

log = logging.getLogger(__name__)

API_METHODS = "GET,POST,PUT,PATCH,DELETE"
DEFAULT_HEALTH_TIMEOUT = 2.0


class RecentAnswer(DependencyProvider):
    """One gateway process's last /health answer, reused while it is younger than `max_age`
    seconds; one probe at a time (who asks meanwhile waits for it and takes its answer)."""

    def __init__(self):
        self._lock = Semaphore()
        self._answer = None
        self._at = -math.inf

    def get_dependency(self, worker_ctx):
        return self

    def get(self, max_age: float, compute):
        with self._lock:
            if self._answer is None or time.monotonic() - self._at >= max_age:
                self._answer = compute()
                self._at = time.monotonic()
            return self._answer


def _require(body: dict, name: str, kind, message: str):
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed(f"Invalid {name}.", {name: [message]})
    return value


class GatewayService(metrics_routes.MetricsRoutes, notifications_routes.NotificationRoutes, reporting_routes.ReportingRoutes, dashboard_routes.DashboardRoutes, requests_routes.RequestRoutes, evaluation_routes.EvaluationRoutes):
    name = "gateway"

    config = Config()
    registration = RpcProxy("registration")
    evaluation = RpcProxy("evaluation")
    requests = RpcProxy("requests")
    reporting = RpcProxy("reporting")
    notifications = RpcProxy("notifications")
    recent_health = RecentAnswer()

    # ------------------------------------------------------------------ health

    @http("GET", "/health", rate_limit="health")
    def health(self, request):
        """The broker and every service answer. The answer is reused for
        GATEWAY.HEALTH_CACHE_SECONDS (one probe at a time), so a flood of /health cannot flood the
        broker; the route has its own rate limit besides."""
        max_age = float((self.config.get("GATEWAY") or {}).get("HEALTH_CACHE_SECONDS") or 0)
        body, status = self.recent_health.get(max_age, self._health_answer)
        return json_response(body, status, headers={"Cache-Control": "no-store"})

    def _health_answer(self) -> tuple[dict, int]:
        config = self.config
        timeout = float((config.get("GATEWAY") or {}).get("HEALTH_TIMEOUT_SECONDS") or DEFAULT_HEALTH_TIMEOUT)
        broker_ok, broker_error = self._broker_answers(config["AMQP_URI"], timeout)
        services: dict[str, dict] = {}
        if broker_ok:
            pile = eventlet.GreenPile(len(SERVICES))
            for service in SERVICES:
                pile.spawn(self._service_health, service, timeout)
            for service, answer in zip(SERVICES, pile, strict=True):
                services[service] = answer
        else:
            services = {service: {"ok": False, "error": "broker unavailable"} for service in SERVICES}
        failed = sorted(name for name, answer in services.items() if not answer["ok"])
        healthy = broker_ok and not failed
        body = {
            "status": "ok" if healthy else "unavailable",
            "broker": {"ok": broker_ok, **({"error": broker_error} if broker_error else {})},
            "services": services,
        }
        if not healthy:
            body["failed"] = (["broker"] if not broker_ok else []) + failed
        return body, 200 if healthy else 503

    @staticmethod
    def _broker_answers(amqp_uri: str, timeout: float) -> tuple[bool, str | None]:
        try:
            with eventlet.Timeout(timeout):
                with Connection(amqp_uri, connect_timeout=timeout) as connection:
                    connection.ensure_connection(max_retries=1)
            return True, None
        except eventlet.Timeout:
            return False, f"no answer within {timeout}s"
        except Exception as exc:  # noqa: BLE001
            return False, f"{type(exc).__name__}: {exc}"

    def _service_health(self, service: str, timeout: float) -> dict:
        proxy = getattr(self, service)
        try:
            with eventlet.Timeout(timeout):
                answer = proxy.health.call_async().result()
        except eventlet.Timeout:
            return {"ok": False, "error": f"no answer within {timeout}s"}
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        ok = isinstance(answer, dict) and bool(answer.get("database"))
        result = {"ok": ok, "database": bool(isinstance(answer, dict) and answer.get("database"))}
        if not ok:
            result["error"] = "database not available"
        return result

    # ------------------------------------------------------------ OpenAPI

    @http("GET", "/api/openapi.json")
    @api
    def openapi(self, request):
        from services.gateway.openapi import build_spec

        return build_spec(self.config.get("PUBLIC_BASE_URL")).to_dict()

    # ------------------------------------------------------- public JSON API

    @http("GET", "/api/activities")
    @api
    def api_list_activities(self, request):
        return self.registration.list_public_activities()

    @http("GET", "/api/activities/<activity_id>")
    @api
    def api_get_activity(self, request, activity_id):
        code = request.args.get("code") or None
        if code is not None and not re.match(INVITATION_CODE_PATTERN, code):
            raise ValidationFailed("Invalid code.", {"code": ["Not an invitation code: letters, digits, - and _ only."]})
        return self.registration.get_public_activity(activity_id, invitation_code=code)

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

    @http("GET", "/api/registrations/<token>")
    @api
    def api_get_registration(self, request, token):
        return self.registration.get_registration_by_token(token)

    @http("POST", "/api/registrations/<token>/cancel", rate_limit="public")
    @api
    def api_cancel_registration(self, request, token):
        return self.registration.cancel_registration_by_token(token)

    # -------------------------------------------------------- staff JSON API

    @http("GET", "/api/staff/organisations")
    @api
    @require("staff")
    def staff_list_organisations(self, request):
        return self.registration.list_organisations()

    @http("POST", "/api/staff/organisations")
    @api
    @require("staff")
    def staff_create_organisation(self, request):
        return 201, self.registration.create_organisation(read_json_object(request))

    @http("GET", "/api/staff/organisations/<organisation_id>")
    @api
    @require("staff")
    def staff_get_organisation(self, request, organisation_id):
        return self.registration.get_organisation(organisation_id)

    @http("PATCH", "/api/staff/organisations/<organisation_id>")
    @api
    @require("staff")
    def staff_update_organisation(self, request, organisation_id):
        return self.registration.update_organisation(organisation_id, read_json_object(request))

    @http("GET", "/api/staff/activities")
    @api
    @require("staff")
    def staff_list_activities(self, request):
        return self.registration.list_activities()

    @http("POST", "/api/staff/activities")
    @api
    @require("staff")
    def staff_create_activity(self, request):
        return 201, self.registration.create_activity(read_json_object(request))

    @http("GET", "/api/staff/activities/<activity_id>")
    @api
    @require("staff")
    def staff_get_activity(self, request, activity_id):
        return self.registration.get_activity(activity_id)

    @http("PATCH", "/api/staff/activities/<activity_id>")
    @api
    @require("staff")
    def staff_update_activity(self, request, activity_id):
        return self.registration.update_activity(activity_id, read_json_object(request))

    @http("POST", "/api/staff/activities/<activity_id>/cancel")
    @api
    @require("staff")
    def staff_cancel_activity(self, request, activity_id):
        body = read_json_object(request)
        reason = _require(body, "reason", str, "Give the reason for cancelling (a non-empty text).")
        return self.registration.cancel_activity(activity_id, reason.strip())

    @http("POST", "/api/staff/activities/<activity_id>/complete")
    @api
    @require("staff")
    def staff_complete_activity(self, request, activity_id):
        read_json_object(request, required=False)  # a body, if any, must still be a JSON object
        return self.registration.complete_activity(activity_id)

    @http("GET", "/api/staff/activities/<activity_id>/registrations")
    @api
    @require("staff")
    def staff_list_registrations(self, request, activity_id):
        return self.registration.list_registrations(activity_id)

    @http("POST", "/api/staff/registrations/<registration_id>/cancel")
    @api
    @require("staff")
    def staff_cancel_registration(self, request, registration_id):
        read_json_object(request, required=False)
        return self.registration.cancel_registration(registration_id)

    @http("PUT", "/api/staff/registrations/<registration_id>/attendance")
    @api
    @require("staff")
    def staff_record_attendance(self, request, registration_id):
        body = read_json_object(request)
        days = _require(body, "days_attended", int, "Give the number of days attended (a whole number).")
        return self.registration.record_attendance(registration_id, days)

    # ----------------------------------------------------- unknown API paths

    @http(API_METHODS, "/api/<path:rest>")
    def api_unknown(self, request, rest):
        allowed = _allowed_methods(request.path)
        if allowed:
            return json_response(
                error_body("method_not_allowed", f"{request.method} is not allowed on {request.path}."),
                405,
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        return json_response(error_body("not_found", f"No API endpoint at {request.path}."), 404)

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
        return page.render("activities.html", activities=activities)

    @http("GET", "/privacy")
    def page_privacy(self, request):
        return Page(request).render("privacy.html")

    @http("GET,POST", "/activities/<activity_id>", rate_limit="public")
    def page_activity(self, request, activity_id):
        page = Page(request)
        code = (request.form.get("code") if request.method == "POST" else None) or request.args.get("code") or None
        posted = request.method == "POST"
        try:
            activity = self.registration.get_public_activity(activity_id, invitation_code=code)
            # the organisation list shows the form; a post needs it only to show the form again
            # (an unknown organisation is refused by the registration service)
            organisations = None if posted else self._public_organisations()
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

        context = dict(
            a=activity, organisations=organisations, invitation_code=code, roles=forms.ROLES,
            needs=forms.NEEDS, field_labels=forms.FIELD_LABELS, errors=None, general_errors=[],
        )
        if not posted:  # GET and HEAD only show
            context["v"] = forms.form_values({})
            return page.render("activity.html", **context)

        values = forms.form_values(request.form)
        if code:
            values[forms.F_CODE] = code
        context["v"] = values
        errors = forms.check(values, page.t)
        if errors:
            return self._form_again(page, context, errors, [])
        try:
            result = self.registration.register(activity_id, forms.to_payload(values, page.lang))
        except ValidationFailed as exc:
            errors, general = forms.errors_from_details(exc.details, page.t)
            if not errors and not general:
                general = [page.t("err_form_invalid")]
            return self._form_again(page, context, errors, general)
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
            "registered.html", status=201, a=activity, result=result,
            waitlisted=result.get("status") == "waitlisted", cancel_url=cancel_url,
        )

    def _form_again(self, page: Page, context: dict, errors, general_errors: list[str]) -> Response:
        """The form once more (400), with what was wrong."""
        try:
            organisations = self._public_organisations()
        except Exception:  # noqa: BLE001
            log.exception("organisation list unavailable")
            return page.error(503, "unavailable_text")
        return page.render("activity.html", status=400, **{
            **context, "organisations": organisations, "errors": errors, "general_errors": general_errors})

    def _public_organisations(self) -> list[dict]:
        organisations = self.registration.list_organisations() or []
        return sorted(
            ({"organisation_id": o.get("organisation_id"), "name": o.get("name") or o.get("organisation_id")}
             for o in organisations),
            key=lambda o: str(o["name"]).casefold(),
        )

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

    @http("GET,POST", "/<path:rest>")
    def page_not_found(self, request, rest):
        return Page(request).not_found()

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
                "cancel.html", registration=registration, token=token,
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


def all_routes() -> list[tuple[str, frozenset[str]]]:
    """(werkzeug rule, methods) of every HTTP entrypoint of the gateway."""
    routes = []
    attrs = [attr for cls in GatewayService.__mro__ for attr in vars(cls).values()]  # mixins' routes too
    for attr in attrs:
        for entrypoint in getattr(attr, "nameko_entrypoints", ()):
            if isinstance(entrypoint, HttpRequestHandler):
                methods = frozenset(m.strip().upper() for m in entrypoint.method.split(","))
                routes.append((entrypoint.url, methods))
    return sorted(routes)


def api_routes() -> list[tuple[str, frozenset[str]]]:
    """The /api entrypoints, the catch-all for unknown paths excepted."""
    return [(url, methods) for url, methods in all_routes() if url.startswith("/api/") and "<path:" not in url]


_api_map: Map | None = None


def _allowed_methods(path: str) -> set[str]:
    """Methods the API serves on `path` (empty: no such endpoint)."""
    global _api_map
    if _api_map is None:
        from werkzeug.routing import Rule

        _api_map = Map([Rule(url, methods=sorted(methods)) for url, methods in api_routes()])
    adapter = _api_map.bind("gateway")
    try:
        adapter.match(path, method="__probe__")
    except MethodNotAllowed as exc:
        return set(exc.valid_methods or ())
    except RoutingNotFound:
        return set()
    except Exception:  # noqa: BLE001 - e.g. a redirect for a trailing slash
        return set()
    return set()
