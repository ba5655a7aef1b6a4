"""The KPI routes' part of the OpenAPI description: the components their operations name and
their query parameters (the routes declare their operations, services.gateway.reporting.routes).

The schemas describe the documents reporting answers with (DESIGN.md's annual
key-figure document; the rolling window has the same shape with `days`, `from`
and `to` in place of `year`; the live dashboard's document holds the annual one).
"""
from __future__ import annotations

from marshmallow import Schema, fields

from kernel.fields import percentage
from kernel.rules import LANGUAGES
from services.gateway.core.openapi import query_parameter


def _n(**metadata):
    return fields.Integer(required=True, metadata=metadata)


class KpiByTargetGroupSchema(Schema):
    primary = _n()
    secondary = _n()


class KpiByFormatSchema(Schema):
    offline = _n()
    online = _n()
    blended = _n()


class KpiReachedOfTotalSchema(Schema):
    reached = _n()
    total = _n()


class KpiNpsSchema(Schema):
    score = fields.Integer(required=True, allow_none=True, metadata={
        "description": "%promoters - %detractors, rounded to a whole number; null without respondents."})
    promoters_pct = percentage(required=True)
    passives_pct = percentage(required=True)
    detractors_pct = percentage(required=True)
    respondents = _n()


class KpiYearNpsSchema(KpiNpsSchema):
    activities_measured = _n()


class KpiRecognisedReachSchema(KpiReachedOfTotalSchema):
    pct = percentage(required=True)


class KpiOpenOfferReachSchema(KpiRecognisedReachSchema):
    by_org_type = fields.Dict(keys=fields.String(), values=fields.Nested(KpiReachedOfTotalSchema), required=True,
                              metadata={"description": "Recognised organisation type -> reached and total."})


def _counts(description: str):
    return fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                       metadata={"description": description})


class KpiBreakdownSchema(Schema):
    activities = _n()
    dagdelen = _n()
    participants = _n()


def _breakdown(of: str):
    return fields.Dict(keys=fields.String(), values=fields.Nested(KpiBreakdownSchema), required=True, metadata={
        "description": f"Completed activities of the period and their participants by {of} (\"none\": no value)."})


class KpiOpenOfferSchema(Schema):
    activities = _n(description="Completed activities (cancelled ones are counted apart).")
    activities_by_format = fields.Nested(KpiByFormatSchema, required=True)
    cancelled_activities = _n()
    dagdelen = _n()
    avg_dagdelen_per_activity = fields.Float(required=True, allow_none=True)
    participants = _n(description="Attended registrations.")
    participants_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    primary_pct = percentage(required=True)
    participants_by_org_type = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    unique_participants = _n()
    unique_participants_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    participations = _n(description="Person-days: the sum of days attended.")
    organisations_reached = _n()
    organisations_reached_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    satisfaction_pct = percentage(required=True)
    evaluations = _n(description="Answered evaluations (the respondents behind satisfaction_pct).")
    nps = fields.Nested(KpiYearNpsSchema, required=True)
    recognised_reach = fields.Nested(KpiOpenOfferReachSchema, required=True)
    unique_participants_by_org_type = _counts("Organisation type -> distinct persons.")
    participations_by_org_type = _counts("Organisation type -> person-days.")
    organisations_reached_by_org_type = _counts("Organisation type -> distinct organisations.")
    participations_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    coordinators_pct = percentage(required=True)
    by_goal = _breakdown("strategic/operational goal")
    by_theme = _breakdown("theme")
    by_kind = _breakdown("kind")


class KpiDemandDrivenSchema(Schema):
    requests_received = _n()
    requests_accepted = _n()
    requests_declined = _n()
    requests_referred = _n()
    requests_delivered = _n()
    requests_delivered_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    dagdelen = _n()
    participants = _n()
    participants_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    participations = _n()
    organisations_reached = _n()
    organisations_reached_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    dagdelen_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    participations_by_target_group = fields.Nested(KpiByTargetGroupSchema, required=True)
    participants_by_org_type = _counts("Requesting organisation's type -> participants delivered to.")
    organisations_reached_by_org_type = _counts("Requesting organisation's type -> distinct organisations.")
    requests_delivered_by_goal = _counts("Goal -> delivered requests (\"none\": no goal), by the year received.")


class KpiTotalsSchema(Schema):
    activities = _n(description="Completed open-offer activities plus delivered requests.")
    dagdelen = _n()
    participants = _n()
    organisations_reached = _n(description="Both tracks together, each organisation once.")
    organisations_reached_tracks_added = _n(
        description="The open offer's organisations reached plus the demand-driven track's "
                    "(the published table's sum).")
    recognised_reach = fields.Nested(KpiRecognisedReachSchema, required=True)


class _FiguresSchema(Schema):
    open_offer = fields.Nested(KpiOpenOfferSchema, required=True)
    demand_driven = fields.Nested(KpiDemandDrivenSchema, required=True)
    totals = fields.Nested(KpiTotalsSchema, required=True)


class AnnualKpisSchema(_FiguresSchema):
    year = _n()


class RollingKpisSchema(_FiguresSchema):
    days = _n()
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)


class ActivityKpisSchema(Schema):
    activity_id = fields.String(required=True)
    known = fields.Boolean(required=True, metadata={"description": "False until the activity's schedule was seen."})
    status = fields.String(required=True, allow_none=True)
    kind = fields.String(required=True, allow_none=True)
    format = fields.String(required=True, allow_none=True)
    starts_at = fields.DateTime(required=True, allow_none=True)
    capacity = fields.Integer(required=True, allow_none=True)
    dagdelen = fields.Integer(required=True, allow_none=True)
    registrations_confirmed = _n()
    registrations_waitlisted = _n()
    registrations_cancelled = _n()
    fill_rate_pct = percentage(required=True)
    participants = _n()
    participations = _n()
    evaluations_requested = _n()
    response_rate_pct = percentage(required=True)
    satisfaction_pct = percentage(required=True)
    nps = fields.Nested(KpiNpsSchema, required=True)


_STATUS = {"description": "Per year shown: met, missed, or not_measured (the figure is null).",
           "items": {"enum": ["met", "missed", "not_measured"]}}
_RULE = {"description": "at_least: met when value >= threshold; above: met when value > threshold.",
         "enum": ["at_least", "above"]}


class KpiFigureTargetSchema(Schema):
    kpi = fields.String(required=True)
    rule = fields.String(required=True, metadata=_RULE)
    threshold = fields.Float(required=True, metadata={"description": "From the configuration (REPORTING)."})
    status = fields.List(fields.String(), required=True, metadata=_STATUS)


class KpiTargetSchema(KpiFigureTargetSchema):
    figure = fields.String(required=True, metadata={"description": "Dotted path of the figure in the annual document."})
    values = fields.List(fields.Float(allow_none=True), required=True)


class KpiReportFigureSchema(Schema):
    figure = fields.String(required=True, metadata={
        "description": "Dotted path in the annual document, e.g. open_offer.nps.score."})
    section = fields.String(required=True, metadata={"enum": ["open_offer", "demand_driven", "totals"]})
    kind = fields.String(required=True, metadata={"enum": ["count", "pct", "decimal", "score"]})
    values = fields.List(fields.Float(allow_none=True), required=True, metadata={
        "description": "One per year of `years`; null where nothing was measured."})
    target = fields.Nested(KpiFigureTargetSchema, required=True, allow_none=True)
    imported_values = fields.List(fields.Float(allow_none=True), required=True, metadata={
        "description": "One per period of `imported`: the imported prior figures."})


class KpiImportedPeriodSchema(Schema):
    period = fields.String(required=True, metadata={"example": "2011-2015"})
    document = fields.Dict(required=True,
                           metadata={"description": "The period's figures, shaped as the annual document."})


class KpiDefinitionsSchema(Schema):
    period = fields.String(required=True, metadata={"enum": ["calendar_year"]})
    time_zone = fields.String(required=True, metadata={"example": "Europe/Brussels"})
    primary_org_types = fields.List(fields.String(), required=True, metadata={
        "description": "The organisation types of the primary target group."})
    participant = fields.String(required=True, metadata={"enum": ["attended_registration"]})
    participation = fields.String(required=True, metadata={"enum": ["person_day"]})
    organisation_reached = fields.String(required=True, metadata={"enum": ["distinct_organisation_of_participants"]})


class AnnualReportSchema(Schema):
    year = _n()
    years = fields.List(fields.Integer(), required=True, metadata={
        "description": "The years shown, oldest first, ending with `year`."})
    documents = fields.List(fields.Nested(AnnualKpisSchema), required=True, metadata={
        "description": "The annual document of each year of `years`."})
    targets = fields.List(fields.Nested(KpiTargetSchema), required=True)
    figures = fields.List(fields.Nested(KpiReportFigureSchema), required=True, metadata={
        "description": "The key-figure table: one row per figure, values aligned with `years`."})
    definitions = fields.Nested(KpiDefinitionsSchema, required=True)
    imported = fields.List(fields.Nested(KpiImportedPeriodSchema), required=True, metadata={
        "description": "Prior periods imported from the centre's own tables (not live figures), oldest first."})


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
    version = fields.String(required=True, metadata={
        "description": "Pass it back as ?since= to get only {year, version, changed: false} until it changes."})
    changed = fields.Boolean(required=True, metadata={
        "description": "False: nothing below; the figures are as at `since`."})
    annual = fields.Nested(AnnualKpisSchema, metadata={
        "description": "The annual document (annual_kpis): the year to date."})
    targets = fields.List(fields.Nested(KpiDashboardTargetSchema))
    months = fields.List(fields.Nested(KpiDashboardMonthSchema), metadata={"description": "January to December."})
    activities = fields.List(fields.Nested(KpiDashboardActivitySchema), metadata={
        "description": "The activities starting in the year, by start."})
    alert_rule = fields.Nested(KpiDashboardAlertRuleSchema)


COMPONENTS = {
    "AnnualKpis": AnnualKpisSchema,
    "RollingKpis": RollingKpisSchema,
    "ActivityKpis": ActivityKpisSchema,
    "AnnualReport": AnnualReportSchema,  # after AnnualKpis, which it nests
    "KpiDashboardTarget": KpiDashboardTargetSchema,
    "KpiDashboardMonth": KpiDashboardMonthSchema,
    "KpiDashboardActivity": KpiDashboardActivitySchema,
    "KpiDashboardAlertRule": KpiDashboardAlertRuleSchema,
    "KpiDashboard": KpiDashboardSchema,  # after the ones it nests
}

YEARS_PARAMETER = query_parameter(
    "years", {"type": "integer", "minimum": 1, "maximum": 10},
    "How many years to show, ending with `year` (default: `year` and those of the four years before it that "
    "have any figure).")
LANG_PARAMETER = query_parameter("lang", {"type": "string", "enum": list(LANGUAGES)},
                                 "Language of the labels (default nl).")
UNTIL_PARAMETER = query_parameter("until", {"type": "string", "format": "date"},
                                  "Last day of the window (default: today in Europe/Brussels).")
