"""Reporting: the key figures for staff, as JSON, the printable annual report and the live dashboard.

Staff only (`require("staff")`): the figures hold no personal data, but they are management's
working numbers, not a public page. A staff (or admin) token as `Authorization: Bearer` or the
staff sign-in cookie (/staff/login), so a browser can open the pages and print the report. Every
answer comes from reporting over RPC (`self.reporting`).

- GET /api/kpis/annual/<year>, /api/kpis/rolling/<days>[?until=YYYY-MM-DD],
  /api/kpis/activities/<id>: the figures (JSON);
- the annual report (reporting.annual_report): GET /staff/reports/annual/<year> (printable HTML,
  nl/en/fr via ?lang=; GET /staff/reports/annual: to the current year's),
  /api/kpis/annual/<year>/report (JSON) and .../report.csv, each with ?years=N (the columns: N
  years ending with <year>; default: the year and those of the four before with any figure);
- the live dashboard: the year to date against its targets, monthly charts and every activity of
  the year with its alerts, updating itself within about a second of reporting taking in a new
  event, without a reload. GET /staff/dashboard: to the current year's dashboard;
  GET /staff/dashboard/<year>: the page in the viewer's language (?lang=, then the cookie; Dutch
  first), rendered on the server (it works without JavaScript: a
  refresh link and a <noscript> note); /static/dashboard.js then polls
  GET /api/kpis/dashboard/<year>?since=<version>: reporting.dashboard(year, since) with the
  activities' titles from registration (one activity_titles call, only when the figures
  changed); {"year", "version", "changed": false} while `since` is current;
  GET /static/dashboard.js, /static/dashboard.css: the page's only script and style sheet (no
  inline script or style: the page runs under Content-Security-Policy "default-src 'self'").
  Without a token the dashboard's JSON answers 401 and its page what the gateway answers
  refused pages with.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from kernel.config import CENTRE_TIMEZONE
from kernel.errors import DomainError, ValidationFailed
from services.gateway.core.auth import require
from services.gateway.core.errors import api
from services.gateway.core.http import json_response
from services.gateway.core.openapi import operation, query_parameter
from services.gateway.core.pages import Page
from services.gateway.core.security import http
from services.gateway.reporting import dashboard_view, report_view
from services.gateway.reporting.openapi import COMPONENTS, LANG_PARAMETER, UNTIL_PARAMETER, YEARS_PARAMETER
from services.reporting.api import MAX_PREVIOUS_YEARS

log = logging.getLogger(__name__)

MAX_YEARS = MAX_PREVIOUS_YEARS + 1
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}
PAGE_POLICY = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
MAX_VERSION = 64
SINCE_PARAMETER = query_parameter(
    "since", {"type": "string", "maxLength": MAX_VERSION},
    "The version of an earlier answer: while it is current the answer is only {year, version, changed: false}.")
NO_TITLES = "~untitled"  # appended to the version when registration did not answer: the next poll retries


def _asset(request, name: str) -> Response:
    body = (STATIC / name).read_bytes()
    response = Response(body, status=200, content_type=ASSETS[name])
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = "no-cache"  # revalidate (ETag): a deploy is seen at once
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)


def _page(page: Page, status: int, template: str, **context) -> Response:
    """A dashboard page in the viewer's language, under the dashboard's own policy (its script and style sheet)."""
    response = page.render(template, status=status, **context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def _problem(page: Page, status: int, heading_key: str, text_key: str) -> Response:
    return _page(page, status, "reporting/dashboard_problem.html", heading=page.t(heading_key), text=page.t(text_key))


def _previous_years(request) -> int | None:
    """?years=N (1 to MAX_YEARS columns) as the number of previous years; None when not given."""
    raw = (request.args.get("years") or "").strip()
    if not raw:
        return None
    try:
        years = int(raw)
    except ValueError:
        years = None
    if years is None or not 1 <= years <= MAX_YEARS:
        raise ValidationFailed("invalid number of years", {"years": [f"A number of years from 1 to {MAX_YEARS}."]})
    return years - 1


def _report_query(request) -> str:
    """The report's own query parameters (?years=, ?lang=), to carry over to its links."""
    params = [(key, request.args[key]) for key in ("years", "lang") if request.args.get(key)]
    return "?" + urlencode(params) if params else ""


class ReportingRoutes:
    """The KPIs, the annual report and the live dashboard; the service class provides `reporting`,
    `registration` and `config`."""

    openapi_components = COMPONENTS

    @operation("annualKpis", "The annual key-figure document of a calendar year (Europe/Brussels)",
               response="AnnualKpis", errors=(400,))
    @http("GET", "/api/kpis/annual/<year>")
    @api
    @require("staff")
    def kpis_annual(self, request, year):
        return self.reporting.annual_kpis(year)

    @operation("rollingKpis", "The same figures over the last `days` days (7, 30, 365; at most 366)",
               response="RollingKpis", errors=(400,), query=(UNTIL_PARAMETER,))
    @http("GET", "/api/kpis/rolling/<days>")
    @api
    @require("staff")
    def kpis_rolling(self, request, days):
        return self.reporting.rolling_kpis(days, request.args.get("until") or None)

    @operation("activityKpis", "Registrations, fill rate, participants, response rate, satisfaction and NPS of one "
               "activity", response="ActivityKpis", errors=(404,))
    @http("GET", "/api/kpis/activities/<activity_id>")
    @api
    @require("staff")
    def kpis_activity(self, request, activity_id):
        return self.reporting.activity_kpis(activity_id)

    # ------------------------------------------------------------------ the annual report

    @operation("annualReport", "The key-figure table of a year with previous years beside it and the yearly "
               "targets marked met, missed or not measured", response="AnnualReport", errors=(400,),
               query=(YEARS_PARAMETER,))
    @http("GET", "/api/kpis/annual/<year>/report")
    @api
    @require("staff")
    def kpis_annual_report(self, request, year):
        return self.reporting.annual_report(year, previous_years=_previous_years(request))

    @operation("annualReportCsv", "The same table as CSV: one row per figure, one column per year, the target "
               "and a status column per year", csv=True, errors=(400,), query=(YEARS_PARAMETER, LANG_PARAMETER))
    @http("GET", "/api/kpis/annual/<year>/report.csv")
    @api
    @require("staff")
    def kpis_annual_report_csv(self, request, year):
        report = self.reporting.annual_report(year, previous_years=_previous_years(request))
        page = Page(request)
        text = report_view.to_csv(report, page.t)
        return Response(text, status=200, content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="kengetallen-{report["year"]}.csv"',
            "Cache-Control": "no-store",
        })

    @http("GET", "/staff/reports/annual")
    @require("staff")
    def page_annual_report_now(self, request):
        """The staff navigation's way to this year's report (?lang= and ?years= kept)."""
        year = datetime.now(CENTRE_TIMEZONE).year
        return Response(status=303, headers={"Location": f"/staff/reports/annual/{year}{_report_query(request)}"})

    @http("GET", "/staff/reports/annual/<year>")
    @require("staff")
    def page_annual_report(self, request, year):
        """The printable key-figure table (staff token or the staff sign-in cookie)."""
        page = Page(request)
        try:
            report = self.reporting.annual_report(year, previous_years=_previous_years(request))
        except ValidationFailed:
            return page.message("error_title", [page.t("rp_invalid")], 400)
        except DomainError as exc:
            return page.error(exc.http_status if exc.http_status < 500 else 500)
        except Exception:  # noqa: BLE001 - reporting not answering
            log.exception("annual report unavailable")
            return page.message("error_title", [page.t("rp_unavailable")], 503)
        base = f"/api/kpis/annual/{report['year']}/report"
        query = _report_query(request)
        response = page.render(
            "reporting/annual_report.html", report=report, sections=report_view.table(report, page.t, page.lang),
            definitions=report_view.definitions(report, page.t),
            path=request.path, max_years=MAX_YEARS, csv_url=f"{base}.csv{query}", json_url=f"{base}{query}",
            generated=page.t.moment(datetime.now(CENTRE_TIMEZONE)),
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        return response

    # ------------------------------------------------------------------ the live dashboard

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
        """The live dashboard (staff token or the staff sign-in cookie), in the viewer's language."""
        page = Page(request)
        try:
            document = self._dashboard(year)
        except ValidationFailed:
            return _problem(page, 400, "dashboard_invalid_title", "dashboard_invalid_text")
        except DomainError as exc:
            return _problem(page, exc.http_status if exc.http_status < 500 else 500, "error_title",
                            "dashboard_failed_text")
        except Exception:  # noqa: BLE001 - reporting not answering
            log.exception("dashboard unavailable")
            return _problem(page, 503, "dashboard_unavailable_title", "dashboard_unavailable_text")
        return _page(page, 200, "reporting/dashboard.html", d=document,
                     generated=dashboard_view.generated_at(datetime.now(CENTRE_TIMEZONE), page.t),
                     **dashboard_view.context(document, page.t))

    @operation("kpiDashboard", "The live dashboard of a year: the annual document to date, its targets met or "
               "missed, twelve months and the year's activities with their alerts, with a version to poll with "
               "(?since=)", response="KpiDashboard", errors=(400,), query=(SINCE_PARAMETER,))
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
