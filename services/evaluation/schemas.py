"""marshmallow schemas of the evaluation service's answers to staff (dumped to JSON-able dicts;
the gateway's OpenAPI description is generated from them). The survey's own input is checked
field by field in the domain (`domain.check_answers`)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from kernel.fields import percentage
from services.evaluation.domain import SCORES, STAGES


class NpsSchema(Schema):
    score = fields.Integer(allow_none=True, metadata={
        "description": "%promoters (9-10) - %detractors (0-6), a whole number; null without respondents."})
    promoters = fields.Integer()
    passives = fields.Integer()
    detractors = fields.Integer()
    promoters_pct = percentage()
    passives_pct = percentage()
    detractors_pct = percentage()
    respondents = fields.Integer()


def _distribution():
    return fields.Dict(keys=fields.String(validate=validate.OneOf([str(s) for s in SCORES])),
                       values=fields.Integer(),
                       metadata={"description": "Answers per score, \"0\" to \"10\"."})


class DistributionSchema(Schema):
    satisfaction = _distribution()
    recommend = _distribution()


class CommentSchema(Schema):
    """The free-text answers of one response (no name, no registration: the survey is pseudonymous)."""

    evaluation_id = fields.String()
    submitted_at = fields.AwareDateTime(format="iso")
    most_useful = fields.String(allow_none=True)
    could_be_better = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


class _ActivityFigures(Schema):
    activity_id = fields.String()
    stage = fields.String(validate=validate.OneOf(STAGES))
    kind = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["scheduled", "completed", "cancelled"]})
    starts_at = fields.AwareDateTime(format="iso", allow_none=True)
    ends_at = fields.AwareDateTime(format="iso", allow_none=True)
    invited = fields.Integer(metadata={"description": "surveys sent"})
    responses = fields.Integer()
    open = fields.Integer(metadata={"description": "sent, not answered, still open"})
    closed_unanswered = fields.Integer()
    response_rate_pct = percentage()
    satisfaction_pct = fields.Float(allow_none=True, metadata={
        "description": "Mean satisfaction (0-10) x 10, one decimal; null without responses."})


class ActivitySummarySchema(_ActivityFigures):
    """One line of the staff overview."""

    nps_score = fields.Integer(allow_none=True)


class ActivityReportSchema(_ActivityFigures):
    """The staff view of one activity's surveys."""

    nps = fields.Nested(NpsSchema)
    distribution = fields.Nested(DistributionSchema)
    comments = fields.List(fields.Nested(CommentSchema))


class InvitationSchema(Schema):
    """What the notifications service needs to write to a participant about their survey."""

    evaluation_id = fields.String()
    registration_id = fields.String()
    activity_id = fields.String()
    stage = fields.String()
    status = fields.String(metadata={"enum": ["open", "answered", "closed"]})
    closes_at = fields.AwareDateTime(format="iso")
    survey_url = fields.String()


class SurveySchema(Schema):
    """A genuine, open survey link (for the public page)."""

    evaluation_id = fields.String()
    activity_id = fields.String()
    stage = fields.String()
    closes_at = fields.AwareDateTime(format="iso")


class ReceiptSchema(Schema):
    evaluation_id = fields.String()
    activity_id = fields.String()
    stage = fields.String()
    submitted_at = fields.AwareDateTime(format="iso")
