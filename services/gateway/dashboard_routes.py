"""The live dashboard (issue #3), mixed into GatewayService: the year to date against its
targets, monthly charts and every activity of the year with its alerts, updating itself
within about a second of reporting taking in a new event, without a reload.

- GET /staff/dashboard: to the current year's dashboard;
- GET /staff/dashboard/<year>: the page, rendered on the server (it works without JavaScript:
  a refresh link and a <noscript> note); /static/dashboard.js then polls
- GET /api/kpis/dashboard/<year>?since=<version>: reporting.dashboard(year, since) with the
  activities' titles from registration (one activity_titles call, only when the figures
  changed); {"year", "version", "changed": false} while `since` is current;
- GET /static/dashboard.js, /static/dashboard.css: the page's only script and style sheet (no
  inline script or style: the page runs under Content-Security-Policy "default-src 'self'").

Staff only (`services.gateway.auth.require("staff")`): a staff (or admin) token as
`Authorization: Bearer` or the staff sign-in cookie (/staff/login); without one the JSON
answers 401 and the page what the gateway answers refused pages with.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path

from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from kernel.config import CENTRE_TIMEZONE
from kernel.errors import DomainError, ValidationFailed
from services.gateway import dashboard_view
from services.gateway.auth import require
from services.gateway.http import api, json_response
from services.gateway.pages import environment
from services.gateway.reporting_openapi import ActivityKpisSchema, AnnualKpisSchema
from services.gateway.security import http  # every gateway route: CSRF, rate limits, headers

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
PAGE_POLICY = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
MAX_VERSION = 64
NO_TITLES = "~untitled"  # appended to the version when registration did not answer: the next poll retries


def _asset(request, name: str) -> Response:
    body = (STATIC / name).read_bytes()
    response = Response(body, status=200, content_type=ASSETS[name])
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"  # revalidate (ETag): a deploy is seen at once
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


def _page(status: int, template: str, **context) -> Response:
    html = environment.get_template(template).render(**context)
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Content-Language"] = "en"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def _problem(status: int, heading: str, text: str) -> Response:
    return _page(status, "dashboard/problem.html", heading=heading, text=text)


class DashboardRoutes:
    """Mixed into GatewayService, which provides `config`, `reporting` and `registration` (RpcProxy)."""

    def _dashboard(self, year, since: str | None = None) -> dict:
        """reporting.dashboard with each activity's title (None when registration does not know it)."""
        document = self.reporting.dashboard(year, since=since)
        if not document.get("changed"):
            return document
        rows = document.get("activities") or []
        titles: dict = {}
        if rows:
            try:
                titles = self.registration.activity_titles([row["activity_id"] for row in rows]) or {}
            except Exception:  # noqa: BLE001 - titles are a nicety: ids and kinds still show
                log.warning("activity titles unavailable for the dashboard", exc_info=True)
                document["version"] += NO_TITLES
        for row in rows:
            row["title"] = titles.get(row["activity_id"])
        return document

    @http("GET", "/staff/dashboard")
    @require("staff")
    def page_dashboard_now(self, request):
        year = datetime.now(CENTRE_TIMEZONE).year
        return Response(status=303, headers={"Location": f"/staff/dashboard/{year}"})

    @http("GET", "/staff/dashboard/<year>")
    @require("staff")
    def page_dashboard(self, request, year):
        """The live dashboard (staff token or the staff sign-in cookie)."""
        try:
            document = self._dashboard(year)
        except ValidationFailed:
            return _problem(400, "No such dashboard", "Choose a year between 2000 and 2100.")
        except DomainError as exc:
            return _problem(exc.http_status if exc.http_status < 500 else 500, "Something went wrong",
                            "The dashboard could not be made.")
        except Exception:  # noqa: BLE001 - reporting not answering
            log.exception("dashboard unavailable")
            return _problem(503, "The figures are not available",
                            "The figures are not available at the moment. Try again in a few minutes.")
        return _page(200, "dashboard/dashboard.html", d=document,
                     generated=datetime.now(CENTRE_TIMEZONE).strftime("%H:%M:%S"),
                     **dashboard_view.context(document))

    @http("GET", "/api/kpis/dashboard/<year>")
    @api
    @require("staff")
    def kpis_dashboard(self, request, year):
        since = request.args.get("since") or None
        if since is not None and len(since) > MAX_VERSION:
            raise ValidationFailed("invalid version", {"since": ["A version this endpoint gave."]})
        return json_response(self._dashboard(year, since=since), headers={"Cache-Control": "no-store"})

    @http("GET", "/static/dashboard.js")
    def static_dashboard_js(self, request):
        return _asset(request, "dashboard.js")

    @http("GET", "/static/dashboard.css")
    def static_dashboard_css(self, request):
        return _asset(request, "dashboard.css")


# ------------------------------------------------------------------------------------------ OpenAPI


class KpiDashboardTargetSchema(Schema):
    kpi = fields.String(required=True)
    figure = fields.String(required=True, metadata={"description": "Dotted path of the figure in `annual`."})
    rule = fields.String(required=True, metadata={"enum": ["at_least", "above"]})
    threshold = fields.Float(required=True, metadata={"description": "From the configuration (REPORTING)."})
    value = fields.Float(required=True, allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["met", "missed", "not_measured"]})


class KpiDashboardMonthSchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    activities = fields.Integer(required=True)
    cancelled_activities = fields.Integer(required=True)
    dagdelen = fields.Integer(required=True)
    participants = fields.Integer(required=True)
    participations = fields.Integer(required=True)
    organisations_reached = fields.Integer(required=True)
    evaluations = fields.Integer(required=True)
    satisfaction_pct = fields.Float(required=True, allow_none=True)
    nps = fields.Integer(required=True, allow_none=True)
    requests_received = fields.Integer(required=True)
    requests_delivered = fields.Integer(required=True)
    demand_dagdelen = fields.Integer(required=True)
    demand_participants = fields.Integer(required=True)


class KpiDashboardActivitySchema(ActivityKpisSchema):
    title = fields.String(required=True, allow_none=True, metadata={"description": "From registration."})
    theme = fields.String(required=True, allow_none=True)
    goal = fields.String(required=True, allow_none=True)
    starts_on = fields.Date(required=True, metadata={"description": "Start date in Europe/Brussels."})
    alert = fields.Boolean(required=True)
    alerts = fields.List(fields.String(metadata={"enum": ["activity_satisfaction_pct", "activity_nps"]}),
                         required=True)


class KpiDashboardAlertRuleSchema(Schema):
    min_respondents = fields.Integer(required=True)
    satisfaction_below_pct = fields.Float(required=True)
    nps_below = fields.Float(required=True)


class KpiDashboardSchema(Schema):
    year = fields.Integer(required=True)
    version = fields.String(required=True, metadata={"description": "Pass it back as ?since= to get only "
                                                                    "{year, version, changed: false} until it changes."})
    changed = fields.Boolean(required=True, metadata={"description": "False: nothing below; the figures are as at `since`."})
    annual = fields.Nested(AnnualKpisSchema, metadata={"description": "The annual document (annual_kpis): the year to date."})
    targets = fields.List(fields.Nested(KpiDashboardTargetSchema))
    months = fields.List(fields.Nested(KpiDashboardMonthSchema), metadata={"description": "January to December."})
    activities = fields.List(fields.Nested(KpiDashboardActivitySchema), metadata={
        "description": "The activities starting in the year, by start."})
    alert_rule = fields.Nested(KpiDashboardAlertRuleSchema)


COMPONENTS = {
    "KpiDashboardTarget": KpiDashboardTargetSchema,
    "KpiDashboardMonth": KpiDashboardMonthSchema,
    "KpiDashboardActivity": KpiDashboardActivitySchema,
    "KpiDashboardAlertRule": KpiDashboardAlertRuleSchema,
    "KpiDashboard": KpiDashboardSchema,  # after the ones it nests
}
# the tuple layout of openapi.OPERATIONS
OPERATIONS = [
    ("/api/kpis/dashboard/{year}", "get", "kpiDashboard",
     "The live dashboard of a year: the annual document to date, its targets met or missed, twelve months "
     "and the year's activities with their alerts, with a version to poll with (?since=)", True, None,
     (200, "KpiDashboard", False), (400,)),
]


def refine(operations: dict) -> None:
    operation = operations.get("/api/kpis/dashboard/{year}", {}).get("get")
    if operation is not None:
        operation["parameters"].append({
            "name": "since", "in": "query", "required": False, "schema": {"type": "string", "maxLength": MAX_VERSION},
            "description": "The version of an earlier answer: while it is current the answer is only "
                           "{year, version, changed: false}.",
        })
