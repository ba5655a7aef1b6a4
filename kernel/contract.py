"""The event contract v1 of DESIGN.md: one marshmallow schema per event type's `data`.

Fields may be added (never removed or renamed without a new schema_version).
Producers validate strictly, so a misspelt or personal field never leaves a
service; consumers accept unknown fields, so a newer producer does not break
an older consumer.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

ORG_TYPES_RECOGNISED = ("vereniging", "beweging", "landelijke_vormingsinstelling", "volkshogeschool")
ORG_TYPES_OTHER = ("civiel_scw", "overheid", "onderwijs_onderzoek", "andere_sector", "individu")
ORG_TYPES = ORG_TYPES_RECOGNISED + ORG_TYPES_OTHER
TARGET_GROUPS = ("primary", "secondary")
FORMATS = ("offline", "online", "blended")
REGISTRATION_STATUSES = ("confirmed", "waitlisted")
CANCELLED_BY = ("participant", "staff", "system")
DECLINE_REASONS = ("outside_expertise", "no_capacity", "long_term_coaching", "out_of_scope", "other")
CHANNELS = ("email", "webhook")
# A participant's role in their organisation (`coordinator`: coordinates volunteers or training there).
ROLES = ("beroepskracht", "vrijwilliger", "bestuurder", "student", "andere", "coordinator")
COORDINATOR = "coordinator"


def _id(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=64), **kwargs)


def _nullable_id():
    return _id(required=True, allow_none=True)


def _one_of(choices, **kwargs):
    return fields.String(validate=validate.OneOf(choices), **kwargs)


class _OrganisationProfile(Schema):
    org_type = _one_of(ORG_TYPES, required=True)
    recognised = fields.Boolean(required=True)
    target_group = _one_of(TARGET_GROUPS, required=True)


class OrganisationData(_OrganisationProfile):
    organisation_id = _id(required=True)


class ActivityScheduledData(Schema):
    activity_id = _id(required=True)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=40))
    theme = fields.String(required=True, validate=validate.Length(min=1, max=80))
    goal = fields.String(required=True, allow_none=True, validate=validate.Length(max=40))
    format = _one_of(FORMATS, required=True)
    starts_at = fields.AwareDateTime(required=True, format="iso")
    ends_at = fields.AwareDateTime(required=True, format="iso")
    days = fields.Integer(required=True, validate=validate.Range(min=1))
    dagdelen = fields.Integer(required=True, validate=validate.Range(min=1))
    capacity = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=0))


class ActivityCancelledData(Schema):
    activity_id = _id(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ActivityCompletedData(Schema):
    activity_id = _id(required=True)


class RegistrationCreatedData(_OrganisationProfile):
    registration_id = _id(required=True)
    activity_id = _id(required=True)
    person_id = _id(required=True)
    organisation_id = _nullable_id()
    role = fields.String(required=True, allow_none=True, validate=validate.Length(max=40))
    status = _one_of(REGISTRATION_STATUSES, required=True)
    # added on the attendance sheet: came without registering (nobody is told they are registered)
    walk_in = fields.Boolean(load_default=False)


class RegistrationConfirmedData(Schema):
    registration_id = _id(required=True)
    activity_id = _id(required=True)


class RegistrationCancelledData(Schema):
    registration_id = _id(required=True)
    activity_id = _id(required=True)
    cancelled_by = _one_of(CANCELLED_BY, required=True)


class AttendanceRecordedData(_OrganisationProfile):
    registration_id = _id(required=True)
    activity_id = _id(required=True)
    person_id = _id(required=True)
    organisation_id = _nullable_id()
    role = fields.String(required=True, allow_none=True, validate=validate.Length(max=40))
    days_attended = fields.Integer(required=True, validate=validate.Range(min=1))


class PersonErasedData(Schema):
    person_id = _id(required=True)


class EvaluationRequestedData(Schema):
    evaluation_id = _id(required=True)
    registration_id = _id(required=True)
    activity_id = _id(required=True)


class EvaluationSubmittedData(EvaluationRequestedData):
    satisfaction = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    recommend = fields.Integer(required=True, validate=validate.Range(min=0, max=10))
    has_comment = fields.Boolean(required=True)


class EvaluationRemindedData(EvaluationRequestedData):
    """The one reminder of an unanswered survey (added to v1; also for a midway survey)."""


class RequestReceivedData(_OrganisationProfile):
    request_id = _id(required=True)
    organisation_id = _nullable_id()
    theme = fields.String(required=True, validate=validate.Length(min=1, max=80))
    goal = fields.String(required=True, allow_none=True, validate=validate.Length(max=40))


class RequestAcceptedData(Schema):
    request_id = _id(required=True)
    assignee = _id(required=True)


class RequestDeclinedData(Schema):
    request_id = _id(required=True)
    reason = _one_of(DECLINE_REASONS, required=True)
    referred_to = fields.String(required=True, allow_none=True, validate=validate.Length(max=200))


class RequestDeliveredData(Schema):
    request_id = _id(required=True)
    dagdelen = fields.Integer(required=True, validate=validate.Range(min=0))
    participants = fields.Integer(required=True, validate=validate.Range(min=0))
    participations = fields.Integer(required=True, validate=validate.Range(min=0))


class RequestOverdueData(Schema):
    """No answer to the requester within the term (REQUESTS.ANSWER_WITHIN_WORKING_DAYS); once per request."""

    request_id = _id(required=True)
    received_at = fields.AwareDateTime(required=True, format="iso")
    answer_due_at = fields.AwareDateTime(required=True, format="iso")


class RequestRequesterErasedData(Schema):
    """The requester's contact details were erased (GDPR): whoever keeps messages to that
    requester (notifications, recipient "request:<id>") purges them. Carries nothing personal."""

    request_id = _id(required=True)


class KpiThresholdData(Schema):
    kpi = fields.String(required=True)
    scope = fields.String(required=True)
    value = fields.Float(required=True, allow_none=True)
    threshold = fields.Float(required=True)


class NotificationData(Schema):
    notification_id = _id(required=True)
    channel = _one_of(CHANNELS, required=True)
    template = fields.String(required=True)
    cause_event_id = fields.String(required=True, allow_none=True)


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "organisation.registered": OrganisationData,
    "organisation.updated": OrganisationData,
    "activity.scheduled": ActivityScheduledData,
    "activity.updated": ActivityScheduledData,
    "activity.cancelled": ActivityCancelledData,
    "activity.completed": ActivityCompletedData,
    "registration.created": RegistrationCreatedData,
    "registration.confirmed": RegistrationConfirmedData,
    "registration.cancelled": RegistrationCancelledData,
    "attendance.recorded": AttendanceRecordedData,
    "person.erased": PersonErasedData,
    "evaluation.requested": EvaluationRequestedData,
    "evaluation.submitted": EvaluationSubmittedData,
    # added to v1: the reminder, and the optional midway survey of a multi-session track (its own
    # types, so the annual figures keep counting one (final) evaluation per participant)
    "evaluation.reminded": EvaluationRemindedData,
    "evaluation.midway_requested": EvaluationRequestedData,
    "evaluation.midway_submitted": EvaluationSubmittedData,
    "request.received": RequestReceivedData,
    "request.accepted": RequestAcceptedData,
    "request.declined": RequestDeclinedData,
    "request.delivered": RequestDeliveredData,
    "request.overdue": RequestOverdueData,
    "request.requester_erased": RequestRequesterErasedData,
    "kpi.threshold_breached": KpiThresholdData,
    "kpi.threshold_recovered": KpiThresholdData,
    "notification.sent": NotificationData,
    "notification.failed": NotificationData,
}

# Which service may emit which event types (DESIGN.md, "Shape").
PRODUCERS: dict[str, tuple[str, ...]] = {
    "registration": ("organisation.", "activity.", "registration.", "attendance.", "person."),
    "evaluation": ("evaluation.",),
    "requests": ("request.",),
    "reporting": ("kpi.",),
    "notifications": ("notification.",),
}


def producer_of(event_type: str) -> str:
    """The one service that may emit `event_type`."""
    return next(name for name, prefixes in PRODUCERS.items() if event_type.startswith(prefixes))

# Which events each service's handlers read: service -> handler method -> the (producer, event type)
# pairs its queue is bound to, one queue per handler (kernel/topology.py names and declares them, so
# that a queue collects events before its service ever ran). The handlers' decorators say the same;
# tests/unit/kernel/test_consumers.py holds the two to each other.
CONSUMERS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "evaluation": {
        "on_activity_scheduled": (("registration", "activity.scheduled"),),
        "on_activity_updated": (("registration", "activity.updated"),),
        "on_activity_completed": (("registration", "activity.completed"),),
        "on_activity_cancelled": (("registration", "activity.cancelled"),),
        "on_attendance_recorded": (("registration", "attendance.recorded"),),
        "on_person_erased": (("registration", "person.erased"),),
    },
    "notifications": {
        "on_registration_created": (("registration", "registration.created"),),
        "on_registration_confirmed": (("registration", "registration.confirmed"),),
        "on_registration_cancelled": (("registration", "registration.cancelled"),),
        "on_activity_scheduled": (("registration", "activity.scheduled"),),
        "on_activity_updated": (("registration", "activity.updated"),),
        "on_activity_cancelled": (("registration", "activity.cancelled"),),
        "on_person_erased": (("registration", "person.erased"),),
        "on_evaluation_requested": (("evaluation", "evaluation.requested"),),
        "on_evaluation_midway_requested": (("evaluation", "evaluation.midway_requested"),),
        "on_evaluation_reminded": (("evaluation", "evaluation.reminded"),),
        "on_requester_erased": (("requests", "request.requester_erased"),),
        "on_request_received": (("requests", "request.received"),),
        "on_request_declined": (("requests", "request.declined"),),
        "on_request_overdue": (("requests", "request.overdue"),),
        "on_kpi_breached": (("reporting", "kpi.threshold_breached"),),
        "on_kpi_recovered": (("reporting", "kpi.threshold_recovered"),),
    },
    "reporting": {
        # one queue for every event the figures are made of, handled in batches
        "on_events": (
            ("registration", "organisation.registered"),
            ("registration", "organisation.updated"),
            ("registration", "activity.scheduled"),
            ("registration", "activity.updated"),
            ("registration", "activity.cancelled"),
            ("registration", "activity.completed"),
            ("registration", "registration.created"),
            ("registration", "registration.confirmed"),
            ("registration", "registration.cancelled"),
            ("registration", "attendance.recorded"),
            ("registration", "person.erased"),
            ("evaluation", "evaluation.requested"),
            ("evaluation", "evaluation.submitted"),
            ("requests", "request.received"),
            ("requests", "request.accepted"),
            ("requests", "request.declined"),
            ("requests", "request.delivered"),
        ),
    },
}
