"""Satisfaction surveys in plain Python: who is invited when, the signed single-use links, the
one reminder, closing, the answers, anonymising an erased person, and the staff figures.

Facts come from registration's events (activity dates and kind, completion, cancellation,
attendance), kept without names or addresses. Every clock reading comes in as `now`, so the
rules are tested without a broker or a real clock. No nameko and no SQLAlchemy here: nameko
sits at the edges (service.py) and models.py maps these classes onto tables.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from kernel.rules import InvalidInput, RuleViolation, StateConflict

__all__ = [
    "Settings", "Activity", "Attendance", "Evaluation", "ErasedPerson", "plan_invitations", "due_reminders",
    "due_closings", "make_token", "read_token", "check_link", "InvalidLink", "LinkExpired", "AlreadyAnswered",
    "stage_report",
]

FINAL, MIDWAY = "final", "midway"
STAGES = (FINAL, MIDWAY)
TRACK_KINDS = ("leertraject", "vormingstraject", "collegagroep")
SCHEDULED, COMPLETED, CANCELLED = "scheduled", "completed", "cancelled"
SCORES = tuple(range(0, 11))
TEXT_FIELDS = ("most_useful", "could_be_better", "comment")
TEXT_MAX_LENGTH = 2000

# the events of each stage (evaluation.requested/submitted are what the annual figures count)
REQUESTED_EVENT = {FINAL: "evaluation.requested", MIDWAY: "evaluation.midway_requested"}
SUBMITTED_EVENT = {FINAL: "evaluation.submitted", MIDWAY: "evaluation.midway_submitted"}
REMINDED_EVENT = "evaluation.reminded"


def new_id() -> str:
    return str(uuid.uuid4())


def _flag(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _number(value, default: float) -> float:
    return default if value in (None, "") else float(value)


@dataclass(frozen=True)
class Settings:
    """EVALUATION of config.yml."""

    invite_delay: timedelta = timedelta(hours=2)
    reminder_after: timedelta = timedelta(days=7)
    close_after: timedelta = timedelta(days=21)
    midway_for_tracks: bool = False
    track_kinds: tuple[str, ...] = TRACK_KINDS

    def __post_init__(self):
        if self.invite_delay < timedelta(0) or self.reminder_after <= timedelta(0):
            raise ValueError("EVALUATION: INVITE_DELAY_HOURS must be >= 0 and REMINDER_AFTER_DAYS > 0")
        if self.close_after <= timedelta(0):
            raise ValueError("EVALUATION: CLOSE_AFTER_DAYS must be > 0")

    @classmethod
    def from_config(cls, config: dict) -> Settings:
        section = config.get("EVALUATION") or {}
        return cls(
            invite_delay=timedelta(hours=_number(section.get("INVITE_DELAY_HOURS"), 2)),
            reminder_after=timedelta(days=_number(section.get("REMINDER_AFTER_DAYS"), 7)),
            close_after=timedelta(days=_number(section.get("CLOSE_AFTER_DAYS"), 21)),
            midway_for_tracks=_flag(section.get("MIDWAY_FOR_TRACKS")),
            track_kinds=tuple(section.get("TRACK_KINDS") or TRACK_KINDS),
        )


# --- facts from registration's events ----------------------------------------------------------------------


class Activity:
    """What this service knows of an activity. Events may arrive in any order: completion before
    the schedule, an older update after a newer one; each fact is kept on its own."""

    def __init__(self, activity_id, status=SCHEDULED, kind=None, starts_at=None, ends_at=None, schedule_at=None,
                 completed_at=None, cancelled_at=None, updated_at=None):
        self.activity_id = activity_id
        self.status = status
        self.kind = kind
        self.starts_at = starts_at
        self.ends_at = ends_at
        self.schedule_at = schedule_at  # occurred_at of the schedule event the dates come from
        self.completed_at = completed_at
        self.cancelled_at = cancelled_at
        self.updated_at = updated_at

    def schedule(self, kind: str, starts_at: datetime, ends_at: datetime, occurred_at: datetime,
                 now: datetime) -> bool:
        """activity.scheduled / activity.updated: kept unless a newer one was seen; True if applied."""
        if self.schedule_at is not None and occurred_at < self.schedule_at:
            return False
        self.kind, self.starts_at, self.ends_at, self.schedule_at = kind, starts_at, ends_at, occurred_at
        self.updated_at = now
        return True

    def complete(self, occurred_at: datetime, now: datetime) -> None:
        if self.status != CANCELLED:
            self.status = COMPLETED
            self.completed_at = self.completed_at or occurred_at
        self.updated_at = now

    def cancel(self, occurred_at: datetime, now: datetime) -> None:
        self.status = CANCELLED
        self.cancelled_at = self.cancelled_at or occurred_at
        self.updated_at = now

    def is_track(self, settings: Settings) -> bool:
        return self.kind in settings.track_kinds

    def final_due_at(self, settings: Settings) -> datetime | None:
        """When the final survey goes out: the end plus the delay, once the activity is completed."""
        if self.status != COMPLETED or self.ends_at is None:
            return None
        return self.ends_at + settings.invite_delay

    def midway_due_at(self, settings: Settings) -> datetime | None:
        """Halfway through a multi-session track that is still running (only with MIDWAY_FOR_TRACKS)."""
        if not settings.midway_for_tracks or not self.is_track(settings) or self.status != SCHEDULED:
            return None
        if self.starts_at is None or self.ends_at is None or self.ends_at <= self.starts_at:
            return None
        return self.starts_at + (self.ends_at - self.starts_at) / 2


class Attendance:
    """A registration with recorded attendance (from attendance.recorded; corrections overwrite)."""

    def __init__(self, registration_id, activity_id, person_id, recorded_at, erased_at=None):
        self.registration_id = registration_id
        self.activity_id = activity_id
        self.person_id = person_id
        self.recorded_at = recorded_at
        self.erased_at = erased_at

    def erase(self, now: datetime) -> None:
        self.person_id = None
        self.erased_at = self.erased_at or now


class ErasedPerson:
    """A person erased by registration: attendance arriving later is kept without them and not invited."""

    def __init__(self, person_id, erased_at):
        self.person_id = person_id
        self.erased_at = erased_at


# --- surveys -------------------------------------------------------------------------------------------------


class Evaluation:
    """One survey sent to one registration, for one stage (final, or midway for a track)."""

    def __init__(self, evaluation_id, registration_id, activity_id, person_id, stage, requested_at, closes_at,
                 reminder_sent_at=None, closed_at=None, submitted_at=None, satisfaction=None, recommend=None,
                 most_useful=None, could_be_better=None, comment=None, anonymised_at=None):
        self.evaluation_id = evaluation_id
        self.registration_id = registration_id
        self.activity_id = activity_id
        self.person_id = person_id
        self.stage = stage
        self.requested_at = requested_at
        self.closes_at = closes_at
        self.reminder_sent_at = reminder_sent_at
        self.closed_at = closed_at
        self.submitted_at = submitted_at
        self.satisfaction = satisfaction
        self.recommend = recommend
        self.most_useful = most_useful
        self.could_be_better = could_be_better
        self.comment = comment
        self.anonymised_at = anonymised_at

    @classmethod
    def request(cls, attendance: Attendance, stage: str, settings: Settings, now: datetime,
                evaluation_id: str | None = None) -> Evaluation:
        return cls(evaluation_id or new_id(), attendance.registration_id, attendance.activity_id,
                   attendance.person_id, stage, now, now + settings.close_after)

    # -- state

    @property
    def answered(self) -> bool:
        return self.submitted_at is not None

    def status(self, now: datetime) -> str:
        """answered, closed (closed early, or its term passed) or open."""
        if self.answered:
            return "answered"
        if self.closed_at is not None or now >= self.closes_at:
            return "closed"
        return "open"

    def is_open(self, now: datetime) -> bool:
        return self.status(now) == "open"

    def reminder_due(self, settings: Settings, now: datetime) -> bool:
        return (self.reminder_sent_at is None and self.is_open(now)
                and now >= self.requested_at + settings.reminder_after)

    def remind(self, settings: Settings, now: datetime) -> dict | None:
        """Mark the one reminder; its event data, or None when none is due."""
        if not self.reminder_due(settings, now):
            return None
        self.reminder_sent_at = now
        return self.event_data()

    def close(self, now: datetime) -> bool:
        """Close an unanswered survey (its term passed, or it can no longer be answered); True if newly closed."""
        if self.answered or self.closed_at is not None:
            return False
        self.closed_at = now
        return True

    def check_answerable(self, now: datetime) -> None:
        if self.answered:
            raise AlreadyAnswered("this survey was already answered")
        if self.closed_at is not None or now >= self.closes_at:
            raise LinkExpired("this survey is closed")

    def submit(self, answers: dict, now: datetime) -> dict:
        """Store the answers (once); returns the evaluation.submitted (or midway_submitted) data."""
        self.check_answerable(now)
        clean = check_answers(answers)
        self.satisfaction, self.recommend = clean["satisfaction"], clean["recommend"]
        for name in TEXT_FIELDS:
            setattr(self, name, clean[name])
        self.submitted_at = now
        return {**self.event_data(), "satisfaction": self.satisfaction, "recommend": self.recommend,
                "has_comment": self.has_comment}

    @property
    def has_comment(self) -> bool:
        """Any free text given (the texts themselves never leave this service)."""
        return any(getattr(self, name) for name in TEXT_FIELDS)

    def anonymise(self, now: datetime) -> None:
        """person.erased: free text and the link to the person go; scores stay (nothing personal)."""
        self.person_id = None
        for name in TEXT_FIELDS:
            setattr(self, name, None)
        self.anonymised_at = self.anonymised_at or now
        self.close(now)  # an unanswered survey is no longer sent or reminded

    def event_data(self) -> dict:
        return {"evaluation_id": self.evaluation_id, "registration_id": self.registration_id,
                "activity_id": self.activity_id}

    @property
    def requested_event(self) -> str:
        return REQUESTED_EVENT[self.stage]

    @property
    def submitted_event(self) -> str:
        return SUBMITTED_EVENT[self.stage]


def check_answers(answers) -> dict:
    """The two 0-10 scores (required) and the three optional texts; InvalidInput with a message per field."""
    answers = answers if isinstance(answers, dict) else {}
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for name in ("satisfaction", "recommend"):
        value = answers.get(name)
        if value is None or value == "":
            errors[name] = ["Missing data for required field."]
        elif isinstance(value, bool) or not isinstance(value, int) or value not in SCORES:
            errors[name] = ["Must be a whole number from 0 to 10."]
        else:
            clean[name] = value
    for name in TEXT_FIELDS:
        value = answers.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = ["Not a valid string."]
            continue
        text = (value or "").strip()
        if len(text) > TEXT_MAX_LENGTH:
            errors[name] = [f"Longer than maximum length {TEXT_MAX_LENGTH}."]
        clean[name] = text or None
    unknown = sorted(set(answers) - {"satisfaction", "recommend", *TEXT_FIELDS})
    for name in unknown:
        errors[name] = ["Unknown field."]
    if errors:
        raise InvalidInput("invalid answers", errors)
    return clean


# --- what is due ---------------------------------------------------------------------------------------------


def plan_invitations(activity: Activity, attendances: Iterable[Attendance], already: set[tuple[str, str]],
                     settings: Settings, now: datetime) -> list[Evaluation]:
    """The surveys to send now for `activity`: the final one to every attendee of a completed activity
    once its end plus the delay has passed (also to attendance recorded later), and for a running
    track with MIDWAY_FOR_TRACKS the midway one from halfway until the end. `already`: the
    (registration_id, stage) pairs invited before. Erased persons are not invited."""
    stages = []
    final_due = activity.final_due_at(settings)
    if final_due is not None and now >= final_due:
        stages.append(FINAL)
    midway_due = activity.midway_due_at(settings)
    if midway_due is not None and midway_due <= now < activity.ends_at:
        stages.append(MIDWAY)
    planned = []
    for attendance in sorted(attendances, key=lambda a: (a.recorded_at, a.registration_id)):
        if attendance.activity_id != activity.activity_id or attendance.erased_at is not None:
            continue
        for stage in stages:
            if (attendance.registration_id, stage) not in already:
                planned.append(Evaluation.request(attendance, stage, settings, now))
    return planned


def due_reminders(evaluations: Iterable[Evaluation], settings: Settings, now: datetime) -> list[Evaluation]:
    return [e for e in evaluations if e.reminder_due(settings, now)]


def due_closings(evaluations: Iterable[Evaluation], now: datetime) -> list[Evaluation]:
    """Unanswered surveys whose term has passed and that are not marked closed yet."""
    return [e for e in evaluations if not e.answered and e.closed_at is None and now >= e.closes_at]


# --- signed links --------------------------------------------------------------------------------------------


class InvalidLink(RuleViolation):
    """Forged, tampered with or malformed: as if there were no such survey (404)."""


class LinkExpired(RuleViolation):
    """The survey closed (410)."""


class AlreadyAnswered(StateConflict):
    """The link was used: one answer per registration (409)."""


_TOKEN = re.compile(  # the shape make_token writes
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$"
)
MAX_TOKEN_LENGTH = 200


def _signature(key: bytes, evaluation_id: str, expires: int) -> str:
    digest = hmac.new(key, f"evaluation-link|{evaluation_id}|{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_token(key: bytes, evaluation_id: str, expires_at: datetime) -> str:
    """`<evaluation_id>.<expires epoch>.<HMAC-SHA256 of both, base64url>`: personal, unguessable, expiring."""
    if not key:
        raise ValueError("no key to sign survey links with")
    expires = int(expires_at.timestamp())
    return f"{evaluation_id}.{expires}.{_signature(key, evaluation_id, expires)}"


def read_token(key: bytes, token) -> tuple[str, datetime]:
    """(evaluation_id, expires_at) of a genuine link; InvalidLink when it is malformed, forged or
    altered (any change to the id or the time breaks the signature). Whether it has expired is
    the caller's next question (`link_expired`): a used link says so first."""
    if not key or not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidLink("not a survey link")
    match = _TOKEN.match(token)
    if match is None:
        raise InvalidLink("not a survey link")
    evaluation_id, expires, signature = match.group(1), int(match.group(2)), match.group(3)
    if not hmac.compare_digest(signature, _signature(key, evaluation_id, expires)):
        raise InvalidLink("not a survey link")
    return evaluation_id, datetime.fromtimestamp(expires, tz=timezone.utc)


def link_expired(expires_at: datetime, now: datetime) -> bool:
    return now >= expires_at


def token_matches(evaluation: Evaluation, expires_at: datetime) -> bool:
    """A genuine link names its survey's own closing time."""
    return int(evaluation.closes_at.timestamp()) == int(expires_at.timestamp())


def check_link(evaluation: Evaluation | None, expires_at: datetime, now: datetime) -> Evaluation:
    """The survey a genuine link (see read_token) opens: InvalidLink when there is no such survey,
    AlreadyAnswered when it was used, LinkExpired when its time passed or it was closed."""
    if evaluation is None or not token_matches(evaluation, expires_at):
        raise InvalidLink("not a survey link")
    if evaluation.answered:
        raise AlreadyAnswered("this survey was already answered")
    if link_expired(expires_at, now):
        raise LinkExpired("this survey is closed")
    evaluation.check_answerable(now)
    return evaluation


# --- the staff figures ---------------------------------------------------------------------------------------


def _rounded(value: Decimal, digits: int) -> float | int:
    result = value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(result) if digits == 0 else float(result)


def pct(part: int, whole: int) -> float | None:
    """A percentage with one decimal (rounded half up); None when nothing was measured."""
    return None if not whole else _rounded(Decimal(part) * 100 / Decimal(whole), 1)


def stage_report(evaluations: Iterable[Evaluation], now: datetime) -> dict:
    """Response rate, satisfaction % (mean x 10), NPS (promoters 9-10, detractors 0-6; %promoters -
    %detractors as a whole number) with both questions' 0-10 distributions, and the free texts."""
    evaluations = list(evaluations)
    answered = sorted((e for e in evaluations if e.answered), key=lambda e: (e.submitted_at, e.evaluation_id))
    respondents = len(answered)
    promoters = sum(1 for e in answered if e.recommend >= 9)
    detractors = sum(1 for e in answered if e.recommend <= 6)
    passives = respondents - promoters - detractors
    satisfaction_sum = sum(e.satisfaction for e in answered)
    statuses = [e.status(now) for e in evaluations]
    return {
        "invited": len(evaluations),
        "responses": respondents,
        "open": statuses.count("open"),
        "closed_unanswered": statuses.count("closed"),
        "response_rate_pct": pct(respondents, len(evaluations)),
        "satisfaction_pct": (
            None if not respondents else _rounded(Decimal(satisfaction_sum) * 10 / Decimal(respondents), 1)
        ),
        "nps": {
            "score": None if not respondents else _rounded(
                Decimal(promoters - detractors) * 100 / Decimal(respondents), 0),
            "promoters": promoters, "passives": passives, "detractors": detractors,
            "promoters_pct": pct(promoters, respondents), "passives_pct": pct(passives, respondents),
            "detractors_pct": pct(detractors, respondents), "respondents": respondents,
        },
        "distribution": {
            question: {str(score): sum(1 for e in answered if getattr(e, question) == score) for score in SCORES}
            for question in ("satisfaction", "recommend")
        },
        "comments": [
            {"evaluation_id": e.evaluation_id, "submitted_at": e.submitted_at,
             **{name: getattr(e, name) for name in TEXT_FIELDS}}
            for e in answered if e.has_comment
        ],
    }
