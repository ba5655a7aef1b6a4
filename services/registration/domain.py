"""The registration domain in plain Python: organisations, activities, persons,
registrations and their rules. No framework here: nameko and SQLAlchemy sit at
the edges (service.py, models.py) and every clock reading comes in as `now`.

Rule violations are raised as `InvalidInput` (bad data, with field details),
`StateConflict` (valid, but the current state forbids it) or `AccessDenied`;
the service layer translates them into the kernel's RPC errors.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from kernel.contract import CANCELLED_BY, FORMATS, ORG_TYPES, ROLES
from kernel.rules import (
    ERASED_NAME,
    LANGUAGES,
    AccessDenied,
    InvalidInput,
    OrgProfile,
    StateConflict,
    TargetGroupPolicy,
)

KINDS = (
    "vorming", "workshop", "studiedag", "studievoormiddag", "leertraject", "vormingstraject", "collegagroep",
    "lerend_netwerk", "infosessie", "inspiratiedag", "leerreis", "innovatielab", "trefdag",
)
ORGANISATION_KINDS = {"individual": "individu", "informal_initiative": "civiel_scw"}
# the types a participant may give an organisation that is not listed (an individual has none)
STAGED_ORG_TYPES = tuple(t for t in ORG_TYPES if t != "individu")
NEEDS_FLAGS = ("accessibility", "sign_language_interpreter", "childcare")
NEEDS_TEXTS = ("dietary", "other")

# activity status
SCHEDULED, CANCELLED, COMPLETED = "scheduled", "cancelled", "completed"
# registration status (an active registration is confirmed or waitlisted)
CONFIRMED, WAITLISTED = "confirmed", "waitlisted"
REGISTRATION_CANCELLED = "cancelled"
ACTIVE = (CONFIRMED, WAITLISTED)

# details of the registration conflicts, for callers that word them for people
CLOSED = {"reason": "registration_closed"}
DUPLICATE = {"reason": "duplicate"}


def new_id() -> str:
    return str(uuid.uuid4())


# --- target group ------------------------------------------------------------------------------------------


def profile_without_organisation(kind: str, policy: TargetGroupPolicy) -> OrgProfile:
    """Individuals (org_type individu) and informal initiatives (civiel_scw), never recognised."""
    if kind not in ORGANISATION_KINDS:
        raise InvalidInput("unknown organisation kind",
                           {"organisation_kind": [f"Must be one of: {', '.join(ORGANISATION_KINDS)}."]})
    org_type = ORGANISATION_KINDS[kind]
    return OrgProfile(None, org_type, False, policy.target_group(org_type, False))


# --- organisations -----------------------------------------------------------------------------------------


class Organisation:
    def __init__(self, organisation_id, name, org_type, recognised, target_group, created_at, updated_at,
                 confirmed=True):
        self.organisation_id = organisation_id
        self.name = name
        self.org_type = org_type
        self.recognised = recognised
        self.target_group = target_group
        self.confirmed = confirmed
        self.created_at = created_at
        self.updated_at = updated_at

    @classmethod
    def register(cls, name: str, org_type: str, recognised: bool, policy: TargetGroupPolicy, now: datetime,
                 organisation_id: str | None = None) -> Organisation:
        _check_org_type(org_type)
        return cls(organisation_id or new_id(), name, org_type, bool(recognised),
                   policy.target_group(org_type, recognised), now, now)

    @classmethod
    def stage(cls, name: str, org_type: str, policy: TargetGroupPolicy, now: datetime) -> Organisation:
        """An organisation a participant named because it was not listed: kept (so its reach is not
        lost), not recognised and not offered to others until staff confirm it."""
        if org_type not in STAGED_ORG_TYPES:
            raise InvalidInput("invalid organisation type",
                               {"org_type": [f"Must be one of: {', '.join(STAGED_ORG_TYPES)}."]})
        staged = cls.register(name, org_type, False, policy, now)
        staged.confirmed = False
        return staged

    def update(self, changes: dict, policy: TargetGroupPolicy, now: datetime) -> None:
        if changes.get("confirmed"):
            self.confirmed = True
        for key in ("name", "org_type", "recognised"):
            if key in changes:
                setattr(self, key, changes[key])
        _check_org_type(self.org_type)
        self.target_group = policy.target_group(self.org_type, self.recognised)
        self.updated_at = now

    @property
    def profile(self) -> OrgProfile:
        return OrgProfile(self.organisation_id, self.org_type, self.recognised, self.target_group)


def _check_org_type(org_type: str) -> None:
    if org_type not in ORG_TYPES:
        raise InvalidInput("unknown organisation type", {"org_type": [f"Must be one of: {', '.join(ORG_TYPES)}."]})


# --- persons -----------------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_name(name: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", name)).strip().casefold()


def person_identity(name: str, email: str | None, begeleider_email: str | None = None) -> str:
    """Who a registration is for: the participant's normalised email, or (without
    one) the begeleider's email plus the participant's normalised name."""
    if email and email.strip():
        return f"email:{normalise_email(email)}"
    if begeleider_email and begeleider_email.strip():
        return f"begeleider:{normalise_email(begeleider_email)}:{normalise_name(name)}"
    raise InvalidInput(
        "an email address is needed", {"email": ["Required unless a begeleider registers on your behalf."]}
    )


class Person:
    def __init__(self, person_id, identity_key, name, email, created_at, updated_at):
        self.person_id = person_id
        self.identity_key = identity_key
        self.name = name
        self.email = email
        self.created_at = created_at
        self.updated_at = updated_at

    @classmethod
    def new(cls, identity_key: str, name: str, email: str | None, now: datetime) -> Person:
        return cls(new_id(), identity_key, name, normalise_email(email) if email else None, now, now)


# --- tokens ------------------------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def cancel_token_for(secret: bytes, registration_id: str) -> str:
    """The cancel-link secret of a registration, derived from a server key.

    Only its hash is stored, yet the service can hand the same link out again later
    (the confirmation email) without keeping the token itself.
    """
    digest = hmac.new(secret, f"cancel-link:{registration_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def new_invitation_code() -> str:
    return secrets.token_urlsafe(9)


# --- registrations -----------------------------------------------------------------------------------------


class Registration:
    def __init__(self, registration_id, activity_id, person_id, organisation_id, org_type, recognised,
                 target_group, role, language, needs, begeleider_name, begeleider_email, status, waitlist_seq,
                 cancel_token_hash, created_at, updated_at, cancelled_by=None, cancelled_at=None,
                 days_attended=None, attendance_recorded_at=None):
        self.registration_id = registration_id
        self.activity_id = activity_id
        self.person_id = person_id
        self.organisation_id = organisation_id
        self.org_type = org_type
        self.recognised = recognised
        self.target_group = target_group
        self.role = role
        self.language = language
        self.needs = needs
        self.begeleider_name = begeleider_name
        self.begeleider_email = begeleider_email
        self.status = status
        self.waitlist_seq = waitlist_seq
        self.cancel_token_hash = cancel_token_hash
        self.created_at = created_at
        self.updated_at = updated_at
        self.cancelled_by = cancelled_by
        self.cancelled_at = cancelled_at
        self.days_attended = days_attended
        self.attendance_recorded_at = attendance_recorded_at

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def profile(self) -> OrgProfile:
        return OrgProfile(self.organisation_id, self.org_type, self.recognised, self.target_group)

    def created_event(self) -> dict:
        return {
            "registration_id": self.registration_id,
            "activity_id": self.activity_id,
            "person_id": self.person_id,
            **self.profile.as_event_data(),
            "role": self.role,
            "status": self.status,
        }

    def attendance_event(self) -> dict:
        return {
            "registration_id": self.registration_id,
            "activity_id": self.activity_id,
            "person_id": self.person_id,
            **self.profile.as_event_data(),
            "role": self.role,
            "days_attended": self.days_attended,
        }


@dataclass
class NewRegistration:
    registration: Registration
    cancel_token: str  # the secret; only its hash is kept
    waitlist_position: int | None


def duplicate_registration() -> StateConflict:
    """The refusal of a second active registration of one person for one activity."""
    return StateConflict("duplicate: this person is already registered for this activity", DUPLICATE)


# --- activities --------------------------------------------------------------------------------------------

ACTIVITY_FIELDS = (
    "title", "description", "kind", "theme", "goal", "format", "starts_at", "ends_at", "days", "dagdelen",
    "capacity", "location", "online_link", "language", "price_eur", "reduced_price_eur",
    "registration_opens_at", "registration_closes_at", "invitation_only", "min_participants", "repeat_of",
)
ACTIVITY_DEFAULTS = {
    "description": "", "goal": None, "capacity": None, "location": None, "online_link": None, "language": "nl",
    "price_eur": Decimal("0"), "reduced_price_eur": None, "registration_opens_at": None,
    "registration_closes_at": None, "invitation_only": False, "min_participants": None, "repeat_of": None,
}
# why an activity needs staff's attention (Activity.attention)
FULL, MINIMUM_NOT_REACHED, NOT_COMPLETED = "full", "minimum_not_reached", "not_completed"
CONTRACT_ACTIVITY_FIELDS = ("kind", "theme", "goal", "format", "starts_at", "ends_at", "days", "dagdelen", "capacity")


class Activity:
    """Aggregate root: an activity, its seat counters and its registrations.

    The counters (`confirmed_count`, `waitlisted_count`, `next_waitlist_seq`) are kept by every
    change below, so registering needs the activity alone: its registrations (`registrations`,
    all of them) are looked at only to cancel, promote or list. One active registration per
    person is guarded where every registration is known, by the database's partial unique index
    (the service answers its refusal with `duplicate_registration()`).
    """

    def __init__(self, activity_id, status, invitation_code, created_at, updated_at, **fields):
        self.activity_id = activity_id
        self.status = status
        self.invitation_code = invitation_code
        self.created_at = created_at
        self.updated_at = updated_at
        self.cancel_reason = fields.pop("cancel_reason", None)
        self.cancelled_at = fields.pop("cancelled_at", None)
        self.completed_at = fields.pop("completed_at", None)
        self.postponed_at = fields.pop("postponed_at", None)
        self.postponed_from = fields.pop("postponed_from", None)
        self.postpone_reason = fields.pop("postpone_reason", None)
        self.next_waitlist_seq = fields.pop("next_waitlist_seq", 1)
        self.confirmed_count = fields.pop("confirmed_count", 0)
        self.waitlisted_count = fields.pop("waitlisted_count", 0)
        unknown = set(fields) - set(ACTIVITY_FIELDS)
        if unknown:
            raise TypeError(f"unknown activity fields {sorted(unknown)}")
        for name in ACTIVITY_FIELDS:
            setattr(self, name, fields.get(name, ACTIVITY_DEFAULTS.get(name)))
        self.registrations = []

    # -- lifecycle

    @classmethod
    def schedule(cls, fields: dict, now: datetime, activity_id: str | None = None) -> Activity:
        missing = [name for name in ACTIVITY_FIELDS if name not in fields and name not in ACTIVITY_DEFAULTS]
        if missing:
            raise InvalidInput("missing fields", {name: ["Missing data for required field."] for name in missing})
        activity = cls(activity_id or new_id(), SCHEDULED, None, now, now, **fields)
        if activity.invitation_only:
            activity.invitation_code = new_invitation_code()
        activity.check()
        return activity

    def check(self) -> None:
        """Rules across fields; InvalidInput with every broken one."""
        errors: dict[str, list[str]] = {}

        def fail(name, message):
            errors.setdefault(name, []).append(message)

        if self.kind not in KINDS:
            fail("kind", f"Must be one of: {', '.join(KINDS)}.")
        if self.format not in FORMATS:
            fail("format", f"Must be one of: {', '.join(FORMATS)}.")
        if self.language not in LANGUAGES:
            fail("language", f"Must be one of: {', '.join(LANGUAGES)}.")
        if self.ends_at < self.starts_at:
            fail("ends_at", "Must not be before starts_at.")
        if self.days is None or self.days < 1:
            fail("days", "Must be at least 1.")
        if self.dagdelen is None or self.dagdelen < 1:
            fail("dagdelen", "Must be at least 1.")
        if self.capacity is not None and self.capacity < 0:
            fail("capacity", "Must be at least 0.")
        if self.min_participants is not None:
            if self.min_participants < 1:
                fail("min_participants", "Must be at least 1.")
            elif self.capacity is not None and self.min_participants > self.capacity:
                fail("min_participants", "Must not exceed capacity.")
        if self.format == "online" and not self.online_link:
            fail("online_link", "Required for an online activity.")
        if self.price_eur is None or self.price_eur < 0:
            fail("price_eur", "Must be at least 0.")
        if self.reduced_price_eur is not None and self.price_eur is not None:
            if self.reduced_price_eur < 0:
                fail("reduced_price_eur", "Must be at least 0.")
            elif self.reduced_price_eur > self.price_eur:
                fail("reduced_price_eur", "Must not exceed price_eur.")
        opens, closes = self.registration_opens_at, self.registration_closes_at
        if opens is not None and closes is not None and closes <= opens:
            fail("registration_closes_at", "Must be after registration_opens_at.")
        if closes is not None and closes > self.ends_at:
            fail("registration_closes_at", "Must not be after ends_at.")
        if opens is not None and closes is None and opens >= self.starts_at:
            fail("registration_opens_at", "Must be before starts_at (registration closes when the activity starts).")
        if errors:
            raise InvalidInput("invalid activity", errors)

    def _require_scheduled(self, doing: str) -> None:
        if self.status != SCHEDULED:
            raise StateConflict(f"cannot {doing}: the activity is {self.status}")

    def update(self, changes: dict, now: datetime) -> list[Registration]:
        """Apply a partial update; returns the registrations promoted from the waitlist."""
        self._require_scheduled("update it")
        unknown = set(changes) - set(ACTIVITY_FIELDS)
        if unknown:
            raise InvalidInput("unknown fields", {name: ["Unknown field."] for name in sorted(unknown)})
        for name, value in changes.items():
            setattr(self, name, value)
        if self.invitation_only and not self.invitation_code:
            self.invitation_code = new_invitation_code()
        elif not self.invitation_only:
            self.invitation_code = None
        self.check()
        confirmed = self.confirmed_count
        if self.capacity is not None and self.capacity < confirmed:
            raise StateConflict(
                f"capacity {self.capacity} is below the {confirmed} confirmed registrations",
                {"capacity": [f"Must be at least {confirmed} (confirmed registrations)."]},
            )
        self.updated_at = now
        return self._promote(now)

    def cancel(self, reason: str, now: datetime) -> list[Registration]:
        """Afgelast: returns the active registrations this cancelled (cancelled_by "system")."""
        self._require_scheduled("cancel it")
        self.status = CANCELLED
        self.cancel_reason = reason
        self.cancelled_at = now
        self.updated_at = now
        cancelled = []
        for registration in self.registrations:
            if registration.active:
                self._cancel(registration, "system", now)
                cancelled.append(registration)
        return cancelled

    def postpone(self, starts_at: datetime, ends_at: datetime, reason: str, now: datetime) -> None:
        """Verdaagd: new dates, the registrations kept. The first planned start is remembered, so a
        second postponement still shows when it was meant to be."""
        self._require_scheduled("postpone it")
        if starts_at == self.starts_at and ends_at == self.ends_at:
            raise InvalidInput("same dates", {"starts_at": ["Give new dates."]})
        if self.postponed_from is None:
            self.postponed_from = self.starts_at
        previous = (self.starts_at, self.ends_at, self.registration_closes_at, self.registration_opens_at)
        self.starts_at, self.ends_at = starts_at, ends_at
        # a registration deadline or opening tied to the old dates would no longer fit: it follows the start
        if self.registration_closes_at is not None and self.registration_closes_at > ends_at:
            self.registration_closes_at = None
        if self.registration_opens_at is not None and self.registration_opens_at >= starts_at:
            self.registration_opens_at = None
        try:
            self.check()
        except InvalidInput:
            self.starts_at, self.ends_at, self.registration_closes_at, self.registration_opens_at = previous
            raise
        self.postponed_at = now
        self.postpone_reason = reason
        self.updated_at = now

    def attention(self, now: datetime) -> list[str]:
        """What staff should look at: full, the minimum not reached before the start, or ended and
        not completed."""
        if self.status != SCHEDULED:
            return []
        reasons = []
        if self.capacity is not None and self.confirmed_count >= self.capacity and not self.ended(now):
            reasons.append(FULL)
        if self.min_participants is not None and self.confirmed_count < self.min_participants \
                and now < self.starts_at:
            reasons.append(MINIMUM_NOT_REACHED)
        if self.ended(now):
            reasons.append(NOT_COMPLETED)
        return reasons

    def complete(self, now: datetime) -> None:
        self._require_scheduled("complete it")
        if self.starts_at > now:
            raise StateConflict("cannot complete an activity that has not started yet")
        self.status = COMPLETED
        self.completed_at = now
        self.updated_at = now

    # -- seats and the waitlist

    @property
    def confirmed(self) -> list[Registration]:
        return [r for r in self.registrations if r.status == CONFIRMED]

    @property
    def waitlist(self) -> list[Registration]:
        return sorted((r for r in self.registrations if r.status == WAITLISTED), key=lambda r: r.waitlist_seq)

    def waitlist_positions(self) -> dict[str, int]:
        return {r.registration_id: position for position, r in enumerate(self.waitlist, start=1)}

    def waitlist_position(self, registration: Registration) -> int | None:
        return self.waitlist_positions().get(registration.registration_id)

    def seats(self) -> dict:
        """From the counters: no registration is loaded."""
        available = None if self.capacity is None else max(self.capacity - self.confirmed_count, 0)
        return {"confirmed": self.confirmed_count, "waitlisted": self.waitlisted_count, "available": available}

    def _has_free_seat(self) -> bool:
        return self.capacity is None or self.confirmed_count < self.capacity

    def _promote(self, now: datetime) -> list[Registration]:
        """Fill free seats from the head of the waitlist (only while the activity is scheduled)."""
        promoted = []
        if self.status != SCHEDULED:
            return promoted
        for registration in self.waitlist:
            if not self._has_free_seat():
                break
            registration.status = CONFIRMED
            registration.waitlist_seq = None
            registration.updated_at = now
            self.waitlisted_count -= 1
            self.confirmed_count += 1
            promoted.append(registration)
        return promoted

    # -- registering

    @property
    def registration_closes_at_effective(self) -> datetime:
        return self.registration_closes_at or self.starts_at

    def registration_open(self, now: datetime) -> bool:
        if self.status != SCHEDULED:
            return False
        if self.registration_opens_at is not None and now < self.registration_opens_at:
            return False
        return now < self.registration_closes_at_effective

    def ended(self, now: datetime) -> bool:
        return self.ends_at <= now

    def check_invitation(self, invitation_code: str | None) -> None:
        if self.invitation_only and not (
            invitation_code and self.invitation_code
            # as bytes: compare_digest refuses str with non-ASCII characters
            and secrets.compare_digest(invitation_code.encode(), self.invitation_code.encode())
        ):
            raise AccessDenied("this activity is by invitation only; a valid invitation code is needed")

    def register(self, person: Person, profile: OrgProfile, now: datetime, *, role: str | None = None,
                 language: str = "nl", needs: dict | None = None, begeleider: dict | None = None,
                 invitation_code: str | None = None, registration_id: str | None = None,
                 cancel_token: str | None = None) -> NewRegistration:
        """Confirm `person` while seats are free, else put them at the end of the waitlist.

        Decided on the counters alone; the caller stores the new registration (the database refuses
        a second active one of the same person: `duplicate_registration()`). `cancel_token` is the
        secret of the cancel link (random when not given); only its hash is kept.
        """
        if self.status != SCHEDULED:
            raise StateConflict(f"registration closed: the activity is {self.status}", CLOSED)
        self.check_invitation(invitation_code)
        if not self.registration_open(now):
            if self.registration_opens_at is not None and now < self.registration_opens_at:
                raise StateConflict("registration closed: registration has not opened yet", CLOSED)
            raise StateConflict("registration closed", CLOSED)
        if role is not None and role not in ROLES:
            raise InvalidInput("unknown role", {"role": [f"Must be one of: {', '.join(ROLES)}."]})
        token = cancel_token or new_secret()
        confirmed = self._has_free_seat()
        registration = Registration(
            registration_id=registration_id or new_id(),
            activity_id=self.activity_id,
            person_id=person.person_id,
            organisation_id=profile.organisation_id,
            org_type=profile.org_type,
            recognised=profile.recognised,
            target_group=profile.target_group,
            role=role,
            language=language,
            needs=normalise_needs(needs),
            begeleider_name=(begeleider or {}).get("name"),
            begeleider_email=normalise_email(begeleider["email"]) if begeleider else None,
            status=CONFIRMED if confirmed else WAITLISTED,
            waitlist_seq=None if confirmed else self.next_waitlist_seq,
            cancel_token_hash=hash_token(token),
            created_at=now,
            updated_at=now,
        )
        if confirmed:
            self.confirmed_count += 1
            return NewRegistration(registration, token, None)
        self.next_waitlist_seq += 1
        self.waitlisted_count += 1
        return NewRegistration(registration, token, self.waitlisted_count)  # the end of the waitlist

    def _own(self, registration: Registration) -> None:
        if registration.activity_id != self.activity_id:
            raise ValueError("registration belongs to another activity")

    def cancel_registration(self, registration: Registration, by: str, now: datetime) -> list[Registration]:
        """Cancel an active registration; returns who was promoted into a freed seat."""
        self._own(registration)
        if by not in CANCELLED_BY:
            raise ValueError(f"cancelled_by must be one of {CANCELLED_BY}")
        if not registration.active:
            raise StateConflict("this registration is already cancelled")
        if self.status != SCHEDULED:
            raise StateConflict(f"cannot cancel a registration: the activity is {self.status}")
        self._cancel(registration, by, now)
        return self._promote(now)

    def promote_by_hand(self, registration: Registration, now: datetime) -> bool:
        """Staff give a waitlisted person a seat, whatever their place on the list; with no seat
        free the capacity grows by one. Returns whether it did."""
        self._require_scheduled("promote a registration")
        self._own(registration)
        if registration.status != WAITLISTED:
            raise StateConflict(f"cannot promote a {registration.status} registration: only a waitlisted one")
        raised = not self._has_free_seat()
        if raised:
            self.capacity += 1
        registration.status = CONFIRMED
        registration.waitlist_seq = None
        registration.updated_at = now
        self.waitlisted_count -= 1
        self.confirmed_count += 1
        self.updated_at = now
        return raised

    def _cancel(self, registration: Registration, by: str, now: datetime) -> None:
        if registration.status == CONFIRMED:
            self.confirmed_count -= 1
        else:
            self.waitlisted_count -= 1
        registration.status = REGISTRATION_CANCELLED
        registration.cancelled_by = by
        registration.cancelled_at = now
        registration.waitlist_seq = None
        registration.updated_at = now

    # -- attendance

    def record_attendance(self, registration: Registration, days_attended: int, now: datetime) -> None:
        """Days attended by a confirmed participant of a started activity; re-recording corrects it."""
        self._own(registration)
        if self.status == CANCELLED:
            raise StateConflict("cannot record attendance: the activity was cancelled")
        if self.starts_at > now:
            raise StateConflict("cannot record attendance before the activity starts")
        if registration.status != CONFIRMED:
            raise StateConflict(f"cannot record attendance for a {registration.status} registration")
        if not isinstance(days_attended, int) or isinstance(days_attended, bool) or not (
            1 <= days_attended <= self.days
        ):
            raise InvalidInput(
                "invalid days attended",
                {"days_attended": [f"Must be between 1 and {self.days} (the activity's days)."]},
            )
        registration.days_attended = days_attended
        registration.attendance_recorded_at = now
        registration.updated_at = now

    # -- event data

    def scheduled_event(self) -> dict:
        return {"activity_id": self.activity_id, **{name: getattr(self, name) for name in CONTRACT_ACTIVITY_FIELDS}}


def normalise_needs(needs: dict | None) -> dict:
    needs = needs or {}
    result = {flag: bool(needs.get(flag, False)) for flag in NEEDS_FLAGS}
    for key in NEEDS_TEXTS:
        value = needs.get(key)
        result[key] = value.strip() or None if isinstance(value, str) else None
    return result


# --- privacy: export and erasure (GDPR) -------------------------------------------------------------------

ERASED_IDENTITY_PREFIX = "erased:"


def identity_keys_for(email: str) -> tuple[str, str]:
    """Who an address identifies (person_identity): the identity key of the participant with this
    address, and the prefix of the identity keys of persons a begeleider with this address registered."""
    address = normalise_email(email)
    return f"email:{address}", f"begeleider:{address}:"


def erased_identity_key(person_id: str) -> str:
    """An erased person's identity key: derived from nothing personal (the opaque id), so it reveals
    nothing and no later registration with the same address or name finds this person again."""
    return f"{ERASED_IDENTITY_PREFIX}{person_id}"


def is_erased(person: Person) -> bool:
    return person.identity_key.startswith(ERASED_IDENTITY_PREFIX)


def blank_needs() -> dict:
    return normalise_needs(None)


def anonymise_person(person: Person, now: datetime) -> bool:
    """Name, address and identity go; the opaque id stays (events and other services know it).
    True when this erased the person, False when they were erased already."""
    if is_erased(person):
        return False
    person.name = ERASED_NAME
    person.email = None
    person.identity_key = erased_identity_key(person.person_id)
    person.updated_at = now
    return True


def strip_registration(registration: Registration, now: datetime) -> bool:
    """What a registration says about the person goes: their needs (free texts, and the flags, which
    can reveal a disability) and the begeleider's name and address. The facts every figure is counted
    from stay: activity, status, organisation profile, role, language, attendance, dates.
    True when something changed."""
    if registration.needs == blank_needs() and registration.begeleider_name is None \
            and registration.begeleider_email is None:
        return False
    registration.needs = blank_needs()
    registration.begeleider_name = None
    registration.begeleider_email = None
    registration.updated_at = now
    return True


def forget_begeleider(registration: Registration, now: datetime) -> bool:
    """A begeleider asked to be forgotten: their name and address go from a registration of someone
    else (who keeps everything of their own). True when something changed."""
    if registration.begeleider_name is None and registration.begeleider_email is None:
        return False
    registration.begeleider_name = None
    registration.begeleider_email = None
    registration.updated_at = now
    return True


def erase_person(person: Person, registrations: list[Registration], now: datetime) -> bool:
    """Erase a person in one go: anonymise them and strip their registrations. True when newly erased
    (the caller emits `person.erased` once, in the same transaction); False when erased before (the
    registrations are checked again, which changes nothing)."""
    foreign = [r.registration_id for r in registrations if r.person_id != person.person_id]
    if foreign:
        raise ValueError(f"registrations of another person: {foreign}")
    newly = anonymise_person(person, now)
    for registration in registrations:
        strip_registration(registration, now)
    return newly
