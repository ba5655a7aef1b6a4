"""The evaluations: the participants' survey page and the staff's JSON API of the evaluation service.

- GET/POST /evaluations/<token>: the public survey behind a participant's personal signed link
  (nl/en/fr, no JavaScript): two 0-10 scales and three optional texts; field errors on the
  form (400); a forged or altered link 404, an answered one 409, a closed or expired one 410;
  GET never changes anything (mail scanners open links);
- GET /staff/evaluations and /staff/evaluations/<activity_id>: the same figures as pages for staff
  (the activities with their response rate, satisfaction and NPS; one activity's distributions as
  bars and its comments), in the viewer's language; ?stage=midway for the tracks' midway surveys;
- GET /api/staff/evaluations/activities[/<activity_id>[/export.csv]]: the staff figures
  (response rate, satisfaction %, NPS and the 0-10 distributions, the comments) and the answers
  as CSV (staff token; ?stage=midway for a track's midway survey).

Every answer comes from the evaluation service over RPC (`self.evaluation`).
"""
from __future__ import annotations

import logging
import re

import eventlet
from werkzeug.wrappers import Response

from kernel.errors import Conflict, DomainError, Gone, NotFound, ValidationFailed
from services.evaluation.api import SCORES, STAGES, TEXT_FIELDS, TEXT_MAX_LENGTH
from services.gateway.core import forms
from services.gateway.core.audit import audited
from services.gateway.core.auth import require
from services.gateway.core.errors import api
from services.gateway.core.openapi import operation
from services.gateway.core.pages import Page, StaffPage, format_when
from services.gateway.core.security import http
from services.gateway.evaluations.openapi import COMPONENTS, STAGE_PARAMETER

log = logging.getLogger(__name__)

SCORE_FIELDS = ("satisfaction", "recommend")
FIELDS = SCORE_FIELDS + TEXT_FIELDS
TITLE_TIMEOUT_SECONDS = 3  # the page goes on without the title rather than keep a participant waiting
FIELD_LABELS = {
    "satisfaction": "ev_label_satisfaction", "recommend": "ev_label_recommend",
    "most_useful": "ev_q_most_useful", "could_be_better": "ev_q_could_be_better", "comment": "ev_q_comment",
}


class SurveyErrors(forms.FormErrors):
    FIELD_ORDER = FIELDS


def form_values(form) -> dict:
    return {name: forms.text(form, name) for name in FIELDS}


def check_form(values: dict, t) -> SurveyErrors:
    """Missing or impossible scores and overlong texts, in the visitor's language; the evaluation
    service stays the authority."""
    errors = SurveyErrors()
    for name in SCORE_FIELDS:
        if not values[name]:
            errors.add(name, t(f"ev_err_{name}_required"))
        elif not re.fullmatch(r"[0-9]{1,2}", values[name]) or int(values[name]) not in SCORES:
            errors.add(name, t("ev_err_score_invalid"))
    for name in TEXT_FIELDS:
        if len(values[name]) > TEXT_MAX_LENGTH:
            errors.add(name, t("ev_err_text_too_long", max=TEXT_MAX_LENGTH))
    return errors


def to_answers(values: dict) -> dict:
    answers = {name: int(values[name]) for name in SCORE_FIELDS}
    answers.update({name: values[name] or None for name in TEXT_FIELDS})
    return answers


def errors_from_details(details, t) -> tuple[SurveyErrors, list[str]]:
    errors, general = SurveyErrors(), []
    for field, messages in forms.flatten_details(details).items():
        if field in SCORE_FIELDS:
            errors.add(field, t("ev_err_score_invalid"))
        elif field in TEXT_FIELDS:
            for message in messages:
                errors.add(field, f"{t('err_field_invalid')} ({message})")
        else:
            general.extend(messages)
    return errors, general


def _private(response: Response) -> Response:
    """The survey's URL is a personal secret: not cached, not indexed (Referrer-Policy is set by Page)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _staff_stage(request) -> str | None:
    """The survey stage a staff page shows (None: the final survey, the service's default)."""
    stage = request.args.get("stage")
    return stage if stage in STAGES else None


def _pct(page: Page):
    """A percentage for a staff page: one decimal in the viewer's way, a dash when nothing was measured."""
    return lambda value: "–" if value is None else page.t("evaluations_pct", value=page.t.decimal(value, 1))


def _filename(activity_id: str) -> str:
    return "evaluations-" + (re.sub(r"[^A-Za-z0-9_-]", "", activity_id)[:64] or "activity") + ".csv"


class EvaluationRoutes:
    """The survey page and the staff's figures; the service class provides `evaluation`,
    `registration` and `config`."""

    openapi_components = COMPONENTS

    # ------------------------------------------------------------ public survey

    def _survey_title(self, activity_id: str) -> str:
        """The activity's title for the heading; the survey still works without it."""
        try:
            with eventlet.Timeout(TITLE_TIMEOUT_SECONDS):
                return str(self.registration.get_activity(activity_id).get("title") or "")
        except (Exception, eventlet.Timeout):  # noqa: BLE001 - the title is a nicety
            log.warning("no title for activity %s on the survey page", activity_id)
            return ""

    @staticmethod
    def _link_problem(page: Page, exc: Exception) -> Response:
        if isinstance(exc, NotFound):
            return page.message("ev_invalid_title", [page.t("ev_invalid_text")], 404)
        if isinstance(exc, Gone):
            return page.message("ev_closed_title", [page.t("ev_closed_text")], 410)
        if isinstance(exc, Conflict):
            return page.message("ev_answered_title", [page.t("ev_answered_text")], 409)
        if isinstance(exc, DomainError) and exc.http_status < 500:
            return page.error(exc.http_status)
        log.error("survey page: evaluation service failed (%s)", type(exc).__name__)
        return page.error(503, "ev_unavailable_text")

    @http("GET,POST", "/evaluations/<token>", rate_limit="public")
    def page_evaluation(self, request, token):
        page = Page(request)
        t = page.t
        try:
            survey = self.evaluation.get_survey(token)
        except Exception as exc:  # noqa: BLE001 - every failure gets its page
            return _private(self._link_problem(page, exc))
        title = self._survey_title(survey["activity_id"])
        midway = survey.get("stage") == "midway"
        if title:
            heading = t("ev_title_midway", title=title) if midway else t("ev_title", title=title)
        else:
            heading = t("ev_title_midway_generic") if midway else t("ev_title_generic")
        context = dict(heading=heading, token=token, scores=SCORES, score_fields=SCORE_FIELDS,
                       field_labels=FIELD_LABELS, text_max=TEXT_MAX_LENGTH, errors=None, general_errors=[])
        if request.method != "POST":  # GET and HEAD only show
            return _private(page.render("evaluations/survey.html", v=form_values({}), **context))
        values = form_values(request.form)
        errors = check_form(values, t)
        if errors:
            return _private(page.render("evaluations/survey.html", status=400, v=values,
                                        **{**context, "errors": errors}))
        try:
            self.evaluation.submit(token, to_answers(values))
        except ValidationFailed as exc:
            errors, general = errors_from_details(exc.details, t)
            if not errors and not general:
                general = [t("err_field_invalid")]
            return _private(page.render("evaluations/survey.html", status=400, v=values,
                                        **{**context, "errors": errors, "general_errors": general}))
        except Exception as exc:  # noqa: BLE001
            return _private(self._link_problem(page, exc))
        return _private(page.message("ev_thanks_title", [t("ev_thanks_text")], 201))

    # ------------------------------------------------------------ staff pages

    def _titles(self) -> dict[str, str]:
        """Activity id -> title, from the registration service (the evaluation service keeps no titles)."""
        return {a["activity_id"]: a.get("title") or "" for a in self.registration.list_activities()}

    @http("GET", "/staff/evaluations")
    @require("staff")
    def staff_evaluations(self, request):
        page = StaffPage(request)
        stage = _staff_stage(request)
        reports = self.evaluation.list_activity_reports(stage)
        return page.render("evaluations/staff_list.html", title=page.t("evaluations_title"), reports=reports,
                           titles=self._titles(), stage=stage, stages=STAGES, pct=_pct(page))

    @http("GET", "/staff/evaluations/<activity_id>")
    @require("staff")
    def staff_evaluation(self, request, activity_id):
        page = StaffPage(request)
        stage = _staff_stage(request)
        try:
            report = self.evaluation.activity_report(activity_id, stage)
        except NotFound:
            return page.not_found()
        heading = self._titles().get(report["activity_id"]) or page.t(
            "evaluations_activity_on", date=format_when(report["starts_at"], page.lang))
        distributions = [(question, FIELD_LABELS[question], report["distribution"][question],
                          max(report["distribution"][question].values(), default=0)) for question in SCORE_FIELDS]
        return page.render("evaluations/staff_report.html", title=heading, r=report, stage=stage, scores=SCORES,
                           distributions=distributions, text_fields=TEXT_FIELDS, field_labels=FIELD_LABELS,
                           pct=_pct(page))

    # ------------------------------------------------------------ staff JSON

    @operation("listEvaluationReports",
               "Activities with surveys, latest first: response rate, satisfaction % and NPS",
               response="EvaluationActivitySummary", many=True, errors=(400,), query=(STAGE_PARAMETER,))
    @http("GET", "/api/staff/evaluations/activities")
    @api
    @require("staff")
    def staff_list_evaluation_reports(self, request):
        return self.evaluation.list_activity_reports(request.args.get("stage") or None)

    @operation("getEvaluationReport", "One activity's surveys: response rate, satisfaction %, NPS with the "
               "0-10 distributions of both questions, and the comments (no names)",
               response="EvaluationActivityReport", errors=(400, 404), query=(STAGE_PARAMETER,))
    @http("GET", "/api/staff/evaluations/activities/<activity_id>")
    @api
    @require("staff")
    def staff_evaluation_report(self, request, activity_id):
        return self.evaluation.activity_report(activity_id, request.args.get("stage") or None)

    @operation("exportEvaluations", "One activity's answers as CSV (one row per answer; no names)", csv=True,
               errors=(400, 404), query=(STAGE_PARAMETER,))
    @http("GET", "/api/staff/evaluations/activities/<activity_id>/export.csv")
    @api
    @audited("evaluations.exported", "activity", "activity_id")
    @require("staff")
    def staff_export_evaluations(self, request, activity_id):
        text = self.evaluation.export_csv(activity_id, request.args.get("stage") or None)
        return Response(
            text, status=200, content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_filename(activity_id)}"',
                     "Cache-Control": "no-store"},
        )
