"""The gateway's KPI routes (reporting service), mixed into GatewayService.

Staff only: the figures hold no personal data, but they are management's
working numbers, not a public page. Every answer comes from reporting over RPC.

The annual report (reporting.annual_report): GET /staff/reports/annual/<year> (printable
HTML, nl/en/fr via ?lang=), /api/kpis/annual/<year>/report (JSON) and .../report.csv, each
with ?years=N (the columns: N years ending with <year>; default: the year and those of the
four before with any figure). The page and its downloads take the staff token as
`Authorization: Bearer` or as the staff sign-in cookie (/staff/login), so a browser can open
and print it.
"""
from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from kernel.config import CENTRE_TIMEZONE
from kernel.errors import DomainError, ValidationFailed
from services.gateway import report_view, reporting_i18n
from services.gateway.auth import require
from services.gateway.http import api
from services.gateway.pages import Page
from services.gateway.security import http
from services.reporting.report import MAX_PREVIOUS_YEARS

log = logging.getLogger(__name__)

MAX_YEARS = MAX_PREVIOUS_YEARS + 1


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
    """GET /api/kpis/annual/<year>, /api/kpis/rolling/<days>[?until=YYYY-MM-DD], /api/kpis/activities/<id>."""

    @http("GET", "/api/kpis/annual/<year>")
    @api
    @require("staff")
    def kpis_annual(self, request, year):
        return self.reporting.annual_kpis(year)

    @http("GET", "/api/kpis/rolling/<days>")
    @api
    @require("staff")
    def kpis_rolling(self, request, days):
        return self.reporting.rolling_kpis(days, request.args.get("until") or None)

    @http("GET", "/api/kpis/activities/<activity_id>")
    @api
    @require("staff")
    def kpis_activity(self, request, activity_id):
        return self.reporting.activity_kpis(activity_id)

    # ------------------------------------------------------------------ the annual report

    @http("GET", "/api/kpis/annual/<year>/report")
    @api
    @require("staff")
    def kpis_annual_report(self, request, year):
        return self.reporting.annual_report(year, previous_years=_previous_years(request))

    @http("GET", "/api/kpis/annual/<year>/report.csv")
    @api
    @require("staff")
    def kpis_annual_report_csv(self, request, year):
        report = self.reporting.annual_report(year, previous_years=_previous_years(request))
        page = Page(request)
        text = report_view.to_csv(report, reporting_i18n.translator(page.lang))
        return Response(text, status=200, content_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="kengetallen-{report["year"]}.csv"',
            "Cache-Control": "no-store",
        })

    @http("GET", "/staff/reports/annual/<year>")
    @require("staff")
    def page_annual_report(self, request, year):
        """The printable key-figure table (staff token or the staff sign-in cookie)."""
        page = Page(request)
        page.t = reporting_i18n.translator(page.lang)
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
            "reports/annual.html", report=report, sections=report_view.table(report, page.t, page.lang),
            definitions=report_view.definitions(report, page.t),
            path=request.path, max_years=MAX_YEARS, csv_url=f"{base}.csv{query}", json_url=f"{base}{query}",
            generated=datetime.now(CENTRE_TIMEZONE).strftime("%d/%m/%Y %H:%M"),
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        return response
