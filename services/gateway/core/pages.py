"""Rendering the gateway's HTML pages: Jinja2 (autoescaped, with jinja2.ext.i18n), the visitor's
language (?lang= > cookie > Dutch) and the cookie that remembers it; dates and prices in that
language (Babel, kernel/i18n.py).

Templates: the shared frame (base.html, message.html, _form.html) in core/templates, each
feature's own in its package's `templates` folder, named with the package's name as prefix
("public/activity.html" is services/gateway/public/templates/activity.html). The folders are
found on disk, so the core imports no feature."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, pass_context, select_autoescape
from werkzeug.wrappers import Response

from kernel.config import CENTRE_TIMEZONE
from kernel.i18n import local, normalise_language
from kernel.rules import LANGUAGES
from services.gateway.core.auth import viewer_of
from services.gateway.core.csrf import csrf_token
from services.gateway.core.i18n import LANGUAGE_COOKIE, LANGUAGE_NAMES, choose_language, translator
from services.gateway.core.urls import site_path

CORE_TEMPLATES = Path(__file__).resolve().parent / "templates"
# every feature package's templates folder, by the package's name (its templates' prefix)
FEATURE_TEMPLATES = {folder.parent.name: folder for folder in
                     sorted(CORE_TEMPLATES.parents[1].glob("*/templates")) if folder != CORE_TEMPLATES}
COOKIE_MAX_AGE = 365 * 24 * 3600


def format_when(value, language: str) -> str:
    """An ISO timestamp as "4 december 2026 om 09:00" in the visitor's language and the centre's
    time zone (just the day at midnight); anything else unchanged."""
    if not value:
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    t = translator(language)
    if moment.tzinfo is None:  # a day without a time zone is the centre's day
        moment = moment.replace(tzinfo=CENTRE_TIMEZONE)
    if (local(moment).hour, local(moment).minute) == (0, 0):
        return t.date(moment)
    return t.moment(moment)


def format_period(starts, ends, language: str) -> str:
    """From one moment to another; within one day of the centre the day is written once
    ("7 december 2026, 09:00–17:00")."""
    try:
        start, end = (v if isinstance(v, datetime) else datetime.fromisoformat(str(v)) for v in (starts, ends))
    except (TypeError, ValueError):
        return " – ".join(format_when(v, language) for v in (starts, ends) if v)
    if local(start).date() != local(end).date() or start.tzinfo is None or end.tzinfo is None:
        return f"{format_when(start, language)} – {format_when(end, language)}"
    t = translator(language)
    return t("period_same_day", date=t.date(start), start=t.time(start), end=t.time(end))


def format_price(value, language: str) -> str:
    """An amount in euro, the visitor's way: "€ 12,50", "€12.50", "12,50 €"."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return str(value)
    return translator(language).currency(amount)


def template_files() -> list[Path]:
    """Every template of the gateway: the core's and each feature's."""
    folders = (CORE_TEMPLATES, *FEATURE_TEMPLATES.values())
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


environment = Environment(
    loader=ChoiceLoader([
        FileSystemLoader(str(CORE_TEMPLATES)),
        PrefixLoader({name: FileSystemLoader(str(folder)) for name, folder in FEATURE_TEMPLATES.items()}),
    ]),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    # _("key", ...) and ngettext("key", n, ...) call the page's translator (gettext and ngettext
    # in each render's context); pybabel extracts them (babel.cfg)
    extensions=["jinja2.ext.i18n"],
)
environment.filters["when"] = pass_context(lambda context, value: format_when(value, context["lang"]))
environment.filters["period"] = pass_context(
    lambda context, starts, ends: format_period(starts, ends, context["lang"]))
environment.filters["price"] = pass_context(lambda context, value: format_price(value, context["lang"]))


class Page:
    """The language of one request, and how to answer it with a template."""

    def __init__(self, request):
        self.request = request
        self.query_language = normalise_language(request.args.get("lang"))
        self.lang = choose_language(request.args.get("lang"), request.cookies.get(LANGUAGE_COOKIE))
        self.t = translator(self.lang)

    def lang_url(self, code: str) -> str:
        """This page in another language (other query parameters, e.g. ?code=, kept); the path
        normalised, so a link never leads off the site whatever the request's path held."""
        params = [(k, v) for k, v in self.request.args.items(multi=True) if k != "lang"]
        params.append(("lang", code))
        return f"{site_path(self.request.path)}?{urlencode(params)}"

    def render(self, template: str, status: int = 200, **context) -> Response:
        html = environment.get_template(template).render(
            lang=self.lang,
            gettext=self.t,
            ngettext=self.t.ngettext,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            language_names=LANGUAGE_NAMES,
            lang_url=self.lang_url,
            csrf_token=lambda: csrf_token(self.request),  # the hidden field of a form posted back here
            **context,
        )
        response = Response(html, status=status, content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = self.lang
        response.headers["Vary"] = "Cookie"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # cancel links carry secrets
        # Content-Security-Policy and the other security headers: core.security, on every answer
        if self.query_language and self.query_language != self.request.cookies.get(LANGUAGE_COOKIE):
            response.set_cookie(
                LANGUAGE_COOKIE, self.query_language, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax", httponly=True
            )
        return response

    def message(self, heading_key: str, paragraphs: list[str], status: int, **context) -> Response:
        return self.render("message.html", status=status, heading=self.t(heading_key), paragraphs=paragraphs, **context)

    def not_found(self, text_key: str = "not_found_text") -> Response:
        return self.message("not_found_title", [self.t(text_key)], 404)

    def error(self, status: int = 500, text_key: str = "error_text") -> Response:
        return self.message("error_title", [self.t(text_key)], status)


# The staff navigation: (path, message id, the roles that see it), in the order shown.
STAFF_NAV = (
    ("/staff/activities", "staff_nav_activities", {"staff", "admin"}),
    ("/staff/requests", "staff_nav_requests", {"staff", "admin"}),
    ("/staff/evaluations", "staff_nav_evaluations", {"staff", "admin"}),
    ("/staff/organisations", "staff_nav_organisations", {"staff", "admin"}),
    ("/staff/dashboard", "staff_nav_dashboard", {"staff", "admin"}),
    ("/staff/reports/annual", "staff_nav_report", {"staff", "admin"}),
    ("/staff/mail", "staff_nav_mail", {"ops", "admin"}),
    ("/staff/accounts", "staff_nav_accounts", {"admin"}),
    ("/staff/audit", "staff_nav_audit", {"admin"}),
)


class StaffPage(Page):
    """A staff page: the frame staff_frame.html with the navigation the viewer may use, in the
    viewer's language; never cached or indexed."""

    def render(self, template: str, status: int = 200, **context) -> Response:
        viewer = viewer_of(self.request)
        context.setdefault("title", "")
        response = super().render(
            template, status=status, viewer=viewer, request_path=self.request.path,
            staff_nav=[(href, key) for href, key, roles in STAFF_NAV if roles & viewer.roles], **context)
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex"
        return response
