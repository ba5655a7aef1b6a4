"""The demand-driven request desk (vraaggestuurde werking) in plain Python.

A request is received (web form or phone), explored in a conversation with
the requester (vraagverkenning), then accepted (weerhouden, with an assignee)
or declined (a reason from the contract's list, optionally a referral to a
named partner). An accepted request leads to one or more deliveries, then is
closed. Every other move is a `StateConflict` and changes nothing.

No framework here: nameko and SQLAlchemy sit at the edges (service.py,
models.py) and every clock reading comes in as `now`.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from kernel.config import CENTRE_TIMEZONE
from kernel.contract import DECLINE_REASONS, ORG_TYPES
from kernel.rules import ERASED_NAME, LANGUAGES, InvalidInput, OrgProfile, StateConflict, TargetGroupPolicy

__all__ = [
    "InvalidInput", "StateConflict", "Request", "StaffMember", "Note", "Delivery", "answer_due_at",
    "add_working_days", "rank_staff", "TRANSITIONS",
]

# request status
RECEIVED, EXPLORING, ACCEPTED, DECLINED, DELIVERED, CLOSED = (
    "received", "exploring", "accepted", "declined", "delivered", "closed",
)
STATUSES = (RECEIVED, EXPLORING, ACCEPTED, DECLINED, DELIVERED, CLOSED)
OPEN_STATUSES = (RECEIVED, EXPLORING, ACCEPTED, DELIVERED)  # not decided against, not finished
LOAD_STATUSES = (EXPLORING, ACCEPTED, DELIVERED)  # what counts as a staff member's current load

# action -> the statuses it may start from, and where it leads
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "explore": ((RECEIVED,), EXPLORING),
    "accept": ((EXPLORING,), ACCEPTED),
    "decline": ((EXPLORING,), DECLINED),
    "deliver": ((ACCEPTED, DELIVERED), DELIVERED),
    "close": ((DELIVERED,), CLOSED),
}
NOTE_STATUSES = (EXPLORING, ACCEPTED, DELIVERED)  # conversation notes while the request is being handled

CHANNELS = ("web", "phone")
DELIVERY_FORMS = ("advice_conversation", "inhouse_training", "team_day", "board_day", "other")
NO_ORGANISATION = "individu"


def new_id() -> str:
    return str(uuid.uuid4())


def normalise_theme(theme: str) -> str:
    return re.sub(r"\s+", " ", theme).strip().casefold()


# --- working days ------------------------------------------------------------------------------------------


def is_working_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: date, days: int, holidays=frozenset()) -> date:
    """The `days`-th working day after `start` (`start` itself never counts; 0 gives `start`)."""
    if days < 0:
        raise ValueError("days must be at least 0")
    holidays = frozenset(holidays)
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            left -= 1
    return day


def answer_due_at(received_at: datetime, working_days: int, holidays=frozenset()) -> datetime:
    """When a request received at `received_at` becomes overdue without an answer: the end of the
    `working_days`-th working day after the day of receipt, in the centre's time zone."""
    received_on = received_at.astimezone(CENTRE_TIMEZONE).date()
    last_day = add_working_days(received_on, working_days, holidays)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=CENTRE_TIMEZONE)


# --- staff -------------------------------------------------------------------------------------------------


class StaffMember:
    """A colleague of the centre who can take requests, with expertise themes."""

    def __init__(self, staff_id, name, email, themes, active, created_at, updated_at):
        self.staff_id = staff_id
        self.name = name
        self.email = email
        self.themes = themes
        self.active = active
        self.created_at = created_at
        self.updated_at = updated_at

    @classmethod
    def new(cls, name: str, themes, now: datetime, email: str | None = None, staff_id: str | None = None):
        return cls(staff_id or new_id(), name, email, _clean_themes(themes), True, now, now)

    def update(self, changes: dict, now: datetime) -> None:
        for key in ("name", "email", "active"):
            if key in changes:
                setattr(self, key, changes[key])
        if "themes" in changes:
            self.themes = _clean_themes(changes["themes"])
        self.updated_at = now

    def overlap(self, themes) -> int:
        mine = {normalise_theme(t) for t in self.themes or ()}
        return len(mine & {normalise_theme(t) for t in themes})


def _clean_themes(themes) -> list[str]:
    seen, result = set(), []
    for theme in themes or ():
        key = normalise_theme(theme)
        if key and key not in seen:
            seen.add(key)
            result.append(theme.strip())
    return result


@dataclass(frozen=True)
class Suggestion:
    staff: StaffMember
    overlap: int
    open_load: int


def rank_staff(staff: list[StaffMember], themes, loads: dict[str, int]) -> list[Suggestion]:
    """Active colleagues, best match first: most shared themes, then the lightest current load, then name."""
    suggestions = [
        Suggestion(member, member.overlap(themes), loads.get(member.staff_id, 0))
        for member in staff
        if member.active
    ]
    return sorted(suggestions, key=lambda s: (-s.overlap, s.open_load, s.staff.name.casefold(), s.staff.staff_id))


# --- requests ----------------------------------------------------------------------------------------------


class Note:
    def __init__(self, note_id, request_id, text, author, created_at):
        self.note_id = note_id
        self.request_id = request_id
        self.text = text
        self.author = author
        self.created_at = created_at


class Delivery:
    def __init__(self, delivery_id, request_id, delivered_on, form, dagdelen, participants, participations,
                 description, recorded_at):
        self.delivery_id = delivery_id
        self.request_id = request_id
        self.delivered_on = delivered_on
        self.form = form
        self.dagdelen = dagdelen
        self.participants = participants
        self.participations = participations
        self.description = description
        self.recorded_at = recorded_at

    def event(self) -> dict:
        return {
            "request_id": self.request_id,
            "dagdelen": self.dagdelen,
            "participants": self.participants,
            "participations": self.participations,
        }


def requester_profile(organisation: OrgProfile | None, org_type: str | None,
                      policy: TargetGroupPolicy) -> OrgProfile:
    """The requester's organisation as events see it: a directory organisation's own profile, or a
    type only (never recognised: recognition is known only for organisations in the directory)."""
    if organisation is not None:
        return organisation
    org_type = org_type or NO_ORGANISATION
    if org_type not in ORG_TYPES:
        raise InvalidInput("unknown organisation type", {"org_type": [f"Must be one of: {', '.join(ORG_TYPES)}."]})
    return OrgProfile(None, org_type, False, policy.target_group(org_type, False))


class Request:
    """Aggregate root: a request with its notes and deliveries."""

    def __init__(self, request_id, status, channel, contact_name, contact_email, contact_phone, language,
                 organisation_id, organisation_name, org_type, recognised, target_group, question, theme, goal,
                 preferred_timing, received_at, answer_due_at, updated_at, answered_at=None, assignee=None,
                 decline_reason=None, referred_to=None, decided_at=None, closed_at=None, overdue_marked_at=None):
        self.request_id = request_id
        self.status = status
        self.channel = channel
        self.contact_name = contact_name
        self.contact_email = contact_email
        self.contact_phone = contact_phone
        self.language = language
        self.organisation_id = organisation_id
        self.organisation_name = organisation_name
        self.org_type = org_type
        self.recognised = recognised
        self.target_group = target_group
        self.question = question
        self.theme = theme
        self.goal = goal
        self.preferred_timing = preferred_timing
        self.received_at = received_at
        self.answer_due_at = answer_due_at
        self.updated_at = updated_at
        self.answered_at = answered_at
        self.assignee = assignee
        self.decline_reason = decline_reason
        self.referred_to = referred_to
        self.decided_at = decided_at
        self.closed_at = closed_at
        self.overdue_marked_at = overdue_marked_at
        self.notes = []
        self.deliveries = []

    @classmethod
    def receive(cls, *, channel: str, contact: dict, profile: OrgProfile, question: str, theme: str,
                now: datetime, due_at: datetime, organisation_name: str | None = None, goal: str | None = None,
                preferred_timing: str | None = None, language: str = "nl", request_id: str | None = None):
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}")
        if language not in LANGUAGES:
            raise InvalidInput("unknown language", {"language": [f"Must be one of: {', '.join(LANGUAGES)}."]})
        return cls(
            request_id or new_id(), RECEIVED, channel, contact["name"], contact["email"], contact.get("phone"),
            language, profile.organisation_id, organisation_name, profile.org_type, profile.recognised,
            profile.target_group, question, theme, goal, preferred_timing, now, due_at, now,
        )

    # -- the lifecycle

    def _move(self, action: str, now: datetime) -> None:
        allowed_from, target = TRANSITIONS[action]
        if self.status not in allowed_from:
            raise StateConflict(
                f"cannot {action} a request that is {self.status}",
                {"status": self.status, "action": action, "allowed_from": list(allowed_from)},
            )
        self.status = target
        self.updated_at = now

    def can(self, action: str) -> bool:
        return self.status in TRANSITIONS[action][0]

    def explore(self, now: datetime, notes: str | None = None, author: str | None = None) -> None:
        """Start the conversation with the requester: this is the requester's first answer."""
        self._move("explore", now)
        if self.answered_at is None:
            self.answered_at = now
        if author is not None:
            self.assignee = author
        if notes:
            self._note(notes, author, now)

    def add_note(self, text: str, now: datetime, author: str | None = None) -> Note:
        if self.status not in NOTE_STATUSES:
            raise StateConflict(
                f"cannot add notes to a request that is {self.status}",
                {"status": self.status, "action": "add_note", "allowed_from": list(NOTE_STATUSES)},
            )
        self.updated_at = now
        return self._note(text, author, now)

    def _note(self, text: str, author: str | None, now: datetime) -> Note:
        note = Note(new_id(), self.request_id, text, author, now)
        self.notes.append(note)
        return note

    def accept(self, assignee: str, now: datetime, notes: str | None = None) -> dict:
        """Weerhouden; returns the request.accepted event data."""
        self._move("accept", now)
        self.assignee = assignee
        self.decided_at = now
        if notes:
            self._note(notes, assignee, now)
        return {"request_id": self.request_id, "assignee": assignee}

    def decline(self, reason: str, now: datetime, referred_to: str | None = None, notes: str | None = None,
                author: str | None = None) -> dict:
        """Declined, optionally referred to a named partner; returns the request.declined event data."""
        if reason not in DECLINE_REASONS:
            raise InvalidInput("unknown reason", {"reason": [f"Must be one of: {', '.join(DECLINE_REASONS)}."]})
        self._move("decline", now)
        self.decline_reason = reason
        self.referred_to = referred_to or None
        self.decided_at = now
        if notes:
            self._note(notes, author, now)
        return {"request_id": self.request_id, "reason": reason, "referred_to": self.referred_to}

    def deliver(self, *, delivered_on: date, form: str, dagdelen: int, participants: int, participations: int,
                now: datetime, description: str | None = None) -> Delivery:
        errors: dict[str, list[str]] = {}
        if form not in DELIVERY_FORMS:
            errors["form"] = [f"Must be one of: {', '.join(DELIVERY_FORMS)}."]
        for name, value in (("dagdelen", dagdelen), ("participants", participants),
                            ("participations", participations)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors[name] = ["Must be a whole number of at least 0."]
        if "participants" not in errors and "participations" not in errors and participations < participants:
            errors["participations"] = ["Must be at least the number of participants."]
        if delivered_on > now.astimezone(CENTRE_TIMEZONE).date():
            errors["date"] = ["Must not be in the future."]
        if errors:
            raise InvalidInput("invalid delivery", errors)
        self._move("deliver", now)
        delivery = Delivery(new_id(), self.request_id, delivered_on, form, dagdelen, participants, participations,
                            description, now)
        self.deliveries.append(delivery)
        return delivery

    def close(self, now: datetime) -> None:
        self._move("close", now)
        self.closed_at = now

    def retag(self, now: datetime, theme: str | None = None, goal: str | None = None, clear_goal: bool = False):
        if self.status == CLOSED:
            raise StateConflict("cannot retag a closed request", {"status": self.status, "action": "retag"})
        if theme is not None:
            self.theme = theme
        if goal is not None or clear_goal:
            self.goal = goal
        self.updated_at = now

    # -- answering on time

    def overdue(self, now: datetime) -> bool:
        """No answer to the requester yet, and the answer term has passed."""
        return self.answered_at is None and self.status == RECEIVED and now >= self.answer_due_at

    def mark_overdue(self, now: datetime) -> bool:
        """Flag an overdue request once (for reminders); True when newly flagged."""
        if self.overdue(now) and self.overdue_marked_at is None:
            self.overdue_marked_at = now
            return True
        return False

    def overdue_event(self) -> dict:
        """The request.overdue event data (raised once, when newly flagged): nothing about the requester."""
        return {"request_id": self.request_id, "received_at": self.received_at, "answer_due_at": self.answer_due_at}

    # -- privacy (GDPR)

    @property
    def requester_erased(self) -> bool:
        return self.contact_name == ERASED_NAME and self.contact_email is None and self.contact_phone is None

    def erase_requester(self, now: datetime) -> bool:
        """The requester's contact details go (name, address, phone), and every literal mention of them
        in the request's free texts (question, preferred timing, organisation name, notes, delivery
        descriptions). The texts themselves and every funnel fact stay: status, channel, organisation
        profile, theme, goal, dates, assignee, decision, deliveries. True when something changed."""
        mentions = contact_mentions(self.contact_name, self.contact_email, self.contact_phone)
        before = self._personal_state()
        self.question = redact(self.question, mentions)
        self.preferred_timing = redact(self.preferred_timing, mentions)
        self.organisation_name = redact(self.organisation_name, mentions)
        for note in self.notes:
            note.text = redact(note.text, mentions)
        for delivery in self.deliveries:
            delivery.description = redact(delivery.description, mentions)
        self.contact_name, self.contact_email, self.contact_phone = ERASED_NAME, None, None
        changed = self._personal_state() != before
        if changed:
            self.updated_at = now
        return changed

    def _personal_state(self) -> tuple:
        return (self.contact_name, self.contact_email, self.contact_phone, self.question, self.preferred_timing,
                self.organisation_name, tuple(n.text for n in self.notes),
                tuple(d.description for d in self.deliveries))

    # -- event data and totals

    def received_event(self) -> dict:
        return {
            "request_id": self.request_id,
            "organisation_id": self.organisation_id,
            "org_type": self.org_type,
            "recognised": self.recognised,
            "target_group": self.target_group,
            "theme": self.theme,
            "goal": self.goal,
        }

    def totals(self) -> dict:
        return {
            "deliveries": len(self.deliveries),
            "dagdelen": sum(d.dagdelen for d in self.deliveries),
            "participants": sum(d.participants for d in self.deliveries),
            "participations": sum(d.participations for d in self.deliveries),
        }


# --- privacy: erasing a requester (GDPR) ------------------------------------------------------------------

REDACTED = "[erased]"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def contact_mentions(name: str | None, email: str | None, phone: str | None) -> list[re.Pattern]:
    """Patterns of the literal ways the requester's own details can appear in a free text: the full
    name (any case, any spacing), the address (any case) and the phone number (its digits with any
    separators). A mention in other words (a first name alone, a nickname) is not found."""
    patterns = []
    if name and name.strip() and name != ERASED_NAME:
        words = [re.escape(word) for word in name.split()]
        patterns.append(re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE))
    if email and email.strip():
        patterns.append(re.compile(re.escape(email.strip()), re.IGNORECASE))
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 6:
        patterns.append(re.compile(r"(?<!\d)(?:\+|00)?" + r"[\s./()-]*".join(digits) + r"(?!\d)"))
    return patterns


def redact(text: str | None, mentions: list[re.Pattern]) -> str | None:
    """`text` with every match of `mentions` replaced by REDACTED."""
    if not text:
        return text
    for pattern in mentions:
        text = pattern.sub(REDACTED, text)
    return text
