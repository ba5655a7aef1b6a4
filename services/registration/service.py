"""Registration service: nameko RPC entrypoints, kept thin.

Each entrypoint loads its input with a schema (ValidationFailed with field
messages on error), opens one unit of work, loads and saves through
repository.py, lets the domain decide, emits the events into the outbox in
the same transaction and returns JSON-able dicts.
A rule violation raises before the commit, so nothing is half-written.
"""
from __future__ import annotations

import logging
import secrets
import uuid

from nameko.dependency_providers import Config
from sqlalchemy.exc import IntegrityError

from kernel import health
from kernel.batching import TakenInTurns
from kernel.config import ROOT, secret_key
from kernel.dependencies import Database
from kernel.errors import NotFound, ValidationFailed
from kernel.inputs import domain_errors, existing_id, load
from kernel.rpc import rpc
from kernel.rules import OrgProfile, TargetGroupPolicy
from kernel.tables import utcnow
from services.registration import domain, repository, schemas
from services.registration.domain import Activity, Organisation, Person, Registration

_organisation_input = schemas.OrganisationInputSchema()
_organisation_update = schemas.OrganisationUpdateSchema()
_organisation_view = schemas.OrganisationViewSchema()
_activity_input = schemas.ActivityInputSchema()
_activity_update = schemas.ActivityUpdateSchema()
_activity_view = schemas.ActivityViewSchema()
_public_activity = schemas.PublicActivitySchema()
_cancel_activity = schemas.CancelActivitySchema()
_postpone_activity = schemas.PostponeActivitySchema()
_registration_request = schemas.RegistrationRequestSchema()
_registration_result = schemas.RegistrationResultSchema()
_public_registration = schemas.PublicRegistrationSchema()
_staff_registration = schemas.StaffRegistrationSchema()
_attendance = schemas.AttendanceSchema()
_walk_in = schemas.WalkInSchema()

log = logging.getLogger(__name__)


# --- views -------------------------------------------------------------------------------------------------


def organisation_view(organisation: Organisation) -> dict:
    return _organisation_view.dump(organisation)


def _activity_fields(activity: Activity, now) -> dict:
    seats = activity.seats()
    fields = {name: getattr(activity, name) for name in domain.ACTIVITY_FIELDS}
    fields.update(
        activity_id=activity.activity_id,
        status=activity.status,
        seats=seats,
        full=seats["available"] == 0,
        registration_open=activity.registration_open(now),
        registration_closes_at_effective=activity.registration_closes_at_effective,
        invitation_code=activity.invitation_code if activity.invitation_only else None,
        cancel_reason=activity.cancel_reason,
        postponed_at=activity.postponed_at,
        postponed_from=activity.postponed_from,
        postpone_reason=activity.postpone_reason,
        attention=activity.attention(now),
        created_at=activity.created_at,
        updated_at=activity.updated_at,
    )
    return fields


def activity_view(activity: Activity, now) -> dict:
    return _activity_view.dump(_activity_fields(activity, now))


def public_activity_view(activity: Activity, now) -> dict:
    fields = _activity_fields(activity, now)
    fields["registration_closes_at"] = activity.registration_closes_at_effective
    return _public_activity.dump(fields)


def _registration_answer(activity: Activity, new: domain.NewRegistration, activity_view: dict | None) -> dict:
    registration = new.registration
    if registration.status == domain.CONFIRMED:
        message = f"You are registered for {activity.title}."
    else:
        message = (
            f"{activity.title} is full: you are on the waitlist at position {new.waitlist_position}. "
            "You will hear from us when a seat frees up."
        )
    answer = _registration_result.dump({
        "registration_id": registration.registration_id,
        "activity_id": activity.activity_id,
        "status": registration.status,
        "waitlist_position": new.waitlist_position,
        "cancel_token": new.cancel_token,
        "message": message,
    })
    if activity_view is not None:
        answer["activity"] = activity_view
    return answer


class RegistrationService(health.HealthRpc):
    name = "registration"
    db = Database()
    config = Config()
    turns = TakenInTurns()

    # --- helpers -------------------------------------------------------------------------------------------

    def _policy(self) -> TargetGroupPolicy:
        return TargetGroupPolicy.from_config(self.config)

    def _cancel_link_key(self) -> bytes:
        return cancel_link_key(self.config)

    # --- organisations -------------------------------------------------------------------------------------

    @rpc
    def create_organisation(self, payload):
        data = load(_organisation_input, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            organisation = Organisation.register(
                data["name"], data["org_type"], data["recognised"], self._policy(), now
            )
            uow.session.add(organisation)
            uow.emit("organisation.registered", _organisation_event(organisation))
            return organisation_view(organisation)

    @rpc
    def update_organisation(self, organisation_id, payload):
        data = load(_organisation_update, payload, partial=True)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            organisation = repository.organisation(uow.session, organisation_id)
            organisation.update(data, self._policy(), now)
            uow.emit("organisation.updated", _organisation_event(organisation))
            return organisation_view(organisation)

    @rpc
    def get_organisation(self, organisation_id):
        with self.db.unit_of_work() as uow:
            return organisation_view(repository.organisation(uow.session, organisation_id))

    @rpc
    def list_organisations(self, include_staged=False):
        """The directory by name; organisations named by participants and not yet confirmed only with
        `include_staged` (staff), so the public forms never offer someone's typo to others."""
        with self.db.read() as session:
            found = [o for o in repository.organisations_by_name(session) if o.confirmed or include_staged is True]
            return sorted((organisation_view(o) for o in found), key=lambda o: (o["name"].casefold(), o["name"]))

    def _profile(self, uow, data: dict, now) -> OrgProfile:
        """The organisation a registration is for: one of the directory, one the person named as not
        listed, or none (an individual, an informal initiative)."""
        if data["organisation_id"] is not None:
            organisation = repository.find_organisation(uow.session, data["organisation_id"])
            if organisation is None:
                raise ValidationFailed("unknown organisation", {"organisation_id": ["Unknown organisation."]})
            return organisation.profile
        if data["new_organisation"] is not None:
            return self._named_organisation(uow, data["new_organisation"], now).profile
        return domain.profile_without_organisation(data["organisation_kind"], self._policy())

    def _named_organisation(self, uow, named: dict, now) -> Organisation:
        """The organisation a participant did not find in the list: one of the directory with that name
        after all (a second participant of a staged one included), else staged for staff to confirm."""
        found = repository.organisation_named(uow.session, named["name"])
        if found is not None:
            return found
        staged = Organisation.stage(named["name"], named["org_type"], self._policy(), now)
        uow.session.add(staged)
        uow.emit("organisation.registered", _organisation_event(staged))
        return staged

    # --- activities ----------------------------------------------------------------------------------------

    @rpc
    def create_activity(self, payload, activity_id=None):
        """Schedule an activity. `activity_id`, a uuid the caller chose (a form's hidden field), makes the
        call idempotent: once that activity exists, the same call answers it and schedules nothing."""
        data = load(_activity_input, payload)
        if activity_id is not None and not _is_uuid(activity_id):
            raise ValidationFailed("invalid activity id", {"activity_id": ["Must be a UUID."]})
        now = utcnow()
        try:
            with domain_errors(), self.db.unit_of_work() as uow:
                existing = activity_id and repository.find_activity(uow.session, activity_id)
                if existing:
                    return activity_view(existing, now)
                _check_repeated(uow.session, data.get("repeat_of"))
                activity = Activity.schedule(data, now, activity_id)
                uow.session.add(activity)
                uow.emit("activity.scheduled", activity.scheduled_event())
                return activity_view(activity, now)
        except IntegrityError:  # the same call, at the same moment, scheduled it first
            if activity_id is None:
                raise
            return self.get_activity(activity_id)

    @rpc
    def update_activity(self, activity_id, payload):
        data = load(_activity_update, payload, partial=True)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            activity = repository.activity(uow.session, activity_id, lock=True)
            if data.get("repeat_of") is not None:
                _check_repeated(uow.session, data["repeat_of"], activity.activity_id)
            promoted = activity.update(data, now)
            uow.emit("activity.updated", activity.scheduled_event())
            for registration in promoted:
                uow.emit("registration.confirmed", _confirmed_event(registration))
            return activity_view(activity, now)

    @rpc
    def cancel_activity(self, activity_id, reason):
        data = load(_cancel_activity, {"reason": reason if isinstance(reason, str) else ""})
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            activity = repository.activity(uow.session, activity_id, lock=True)
            cancelled = activity.cancel(data["reason"], now)
            uow.emit("activity.cancelled", {"activity_id": activity.activity_id, "reason": data["reason"]})
            for registration in cancelled:
                uow.emit("registration.cancelled", _cancelled_event(registration))
            return activity_view(activity, now)

    @rpc
    def postpone_activity(self, activity_id, payload):
        """Verdaagd: new dates for everyone registered (activity.updated tells them)."""
        data = load(_postpone_activity, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            activity = repository.activity(uow.session, activity_id, lock=True)
            activity.postpone(data["starts_at"], data["ends_at"], data["reason"], now)
            uow.emit("activity.updated", activity.scheduled_event())
            return activity_view(activity, now)

    @rpc
    def complete_activity(self, activity_id):
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            activity = repository.activity(uow.session, activity_id, lock=True)
            activity.complete(now)
            uow.emit("activity.completed", {"activity_id": activity.activity_id})
            return activity_view(activity, now)

    @rpc
    def get_activity(self, activity_id):
        now = utcnow()
        with self.db.read() as session:
            return activity_view(repository.activity(session, activity_id), now)

    @rpc
    def list_activities(self):
        now = utcnow()
        with self.db.read() as session:
            return [activity_view(a, now) for a in repository.activities_in_order(session)]

    @rpc
    def activity_titles(self, activity_ids):
        """{activity_id: title} of the given activities (unknown ids are left out): the staff dashboard
        names the activities reporting counts by id."""
        if not isinstance(activity_ids, (list, tuple)):
            return {}
        ids = list(dict.fromkeys(i for i in activity_ids if isinstance(i, str) and i and len(i) <= 64))
        with self.db.read() as session:
            return repository.activity_titles(session, ids)

    # --- public --------------------------------------------------------------------------------------------

    @rpc
    def list_public_activities(self):
        """Scheduled, open (not invitation-only) activities that have not ended, soonest first."""
        now = utcnow()
        with self.db.read() as session:
            return [public_activity_view(a, now) for a in repository.public_activities(session, now)]

    @rpc
    def get_public_activity(self, activity_id, invitation_code=None):
        now = utcnow()
        with domain_errors(), self.db.read() as session:
            activity = repository.activity(session, activity_id)
            activity.check_invitation(invitation_code if isinstance(invitation_code, str) else None)
            return public_activity_view(activity, now)

    @rpc
    def register(self, activity_id, payload, with_activity=False):
        """`with_activity`: the answer also holds the public view of the activity after this
        registration (what the public page shows), saving its caller a second call.

        Registrations for one activity queue for its seat counters anyway: the ones that arrive while
        a turn is running are taken next, together (`_register_turn`)."""
        data = load(_registration_request, payload)
        return self.turns.call(existing_id(activity_id, "activity"), (data, with_activity is True),
                               lambda items: self._register_turn(activity_id, items))

    def _register_turn(self, activity_id, items: list[tuple[dict, bool]]) -> list:
        """Each (registration request, with_activity)'s answer or error, in order. All of them in one
        transaction; should any of them fail (a duplicate, the activity closed), the turn is undone and
        each is taken on its own, so every one gets exactly the answer it would have got alone."""
        if len(items) > 1:
            try:
                return self._register_all(activity_id, items)
            except Exception:  # noqa: BLE001 - one of them failed: see which, one at a time
                log.info("a turn of %d registrations had a failure; taking them one at a time", len(items))
        outcomes = []
        for item in items:
            try:
                outcomes += self._register_all(activity_id, [item])
            except Exception as exc:  # noqa: BLE001 - this caller's answer
                outcomes.append(exc)
        return outcomes

    def _register_all(self, activity_id, items: list[tuple[dict, bool]]) -> list[dict]:
        now = utcnow()
        cancel_link_key = self._cancel_link_key()  # once a turn, outside the lock (by default read from a file)
        with domain_errors(), self.db.unit_of_work() as uow:
            session = uow.session
            activity = repository.detached_activity(session, activity_id)
            profiles, identities = [], []
            for data, _ in items:
                profiles.append(self._profile(uow, data, now))
                begeleider = data["begeleider"]
                identity = domain.person_identity(data["name"], data["email"], begeleider and begeleider["email"])
                identities.append((identity, data["name"], data["email"]))
                # the activity's rules first, so a refused registration creates no person
                activity.check_invitation(data["invitation_code"])
            people = repository.persons_for(session, identities, now)
            repository.lock_for_seats(session, activity)
            added = []
            for (data, _), person, profile in zip(items, people, profiles, strict=True):
                registration_id = domain.new_id()
                added.append(activity.register(
                    person, profile, now, role=data["role"], language=data["language"], needs=data["needs"],
                    begeleider=data["begeleider"], invitation_code=data["invitation_code"],
                    registration_id=registration_id,
                    cancel_token=domain.cancel_token_for(cancel_link_key, registration_id),
                ))
            repository.add_registrations(session, activity, [new.registration for new in added])
            uow.emit_many("registration.created", [new.registration.created_event() for new in added])
            view = public_activity_view(activity, now) if any(wanted for _, wanted in items) else None
            return [_registration_answer(activity, new, view if wanted else None)
                    for (_, wanted), new in zip(items, added, strict=True)]

    @rpc
    def get_registration_by_token(self, token):
        with self.db.unit_of_work() as uow:
            activity, registration = repository.registration(uow.session, token=token)
            return _public_registration_view(activity, registration)

    @rpc
    def cancel_registration_by_token(self, token):
        return self._cancel_registration(token=token, by="participant", view=_public_registration_view)

    # --- staff: registrations and attendance ---------------------------------------------------------------

    @rpc
    def list_registrations(self, activity_id):
        with self.db.unit_of_work() as uow:
            session = uow.session
            activity = repository.activity(session, activity_id)
            people = repository.persons_by_id(session, {r.person_id for r in activity.registrations})
            positions = activity.waitlist_positions()
            return [
                _staff_registration_view(r, people[r.person_id], positions.get(r.registration_id))
                for r in sorted(activity.registrations, key=lambda r: (r.created_at, r.registration_id))
            ]

    @rpc
    def cancel_registration(self, registration_id):
        return self._cancel_registration(registration_id=registration_id, by="staff", view=None)

    @rpc
    def promote_registration(self, registration_id):
        """Staff give a waitlisted person a seat by hand (the capacity grows by one when none is free)."""
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            activity, registration = repository.registration(uow.session, registration_id=registration_id)
            if activity.promote_by_hand(registration, now):
                uow.emit("activity.updated", activity.scheduled_event())
            uow.emit("registration.confirmed", _confirmed_event(registration))
            return _staff_registration_view(
                registration, repository.find_person(uow.session, registration.person_id), None)

    def _cancel_registration(self, by: str, view, registration_id=None, token=None):
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            session = uow.session
            activity, registration = repository.registration(session, registration_id=registration_id, token=token)
            promoted = activity.cancel_registration(registration, by, now)
            uow.emit("registration.cancelled", _cancelled_event(registration))
            for other in promoted:
                uow.emit("registration.confirmed", _confirmed_event(other))
            if view is not None:
                return view(activity, registration)
            return _staff_registration_view(
                registration, repository.find_person(session, registration.person_id),
                activity.waitlist_position(registration),
            )

    # --- contact details for the notifications service --------------------------------------------------

    @rpc
    def contact_for_registration(self, registration_id, include_cancelled=False):
        """Who to write to about a registration, in which language, about which activity; None when
        there is no one (unknown registration, no address, or cancelled unless `include_cancelled`).

        `cancel_token` (the secret of the cancel link, re-derived from the server key) comes only
        with an active registration, and only when the stored hash confirms it.
        """
        if not isinstance(registration_id, str):
            return None
        return self.contacts_for_registrations([registration_id], include_cancelled).get(registration_id)

    @rpc
    def contacts_for_registrations(self, registration_ids, include_cancelled=False):
        """`contact_for_registration` for many registrations at once (a batch of mails): a dict
        registration id -> contact (None for no one), read in one snapshot with a few queries."""
        if not isinstance(registration_ids, (list, tuple)):
            return {}
        ids = list(dict.fromkeys(r for r in registration_ids if isinstance(r, str) and r and len(r) <= 64))
        with self.db.read() as session:
            found = repository.registrations_by_id(session, ids)
            chosen = [r for r in found.values() if r.active or include_cancelled]
            by_activity = repository.activities_by_id(session, {r.activity_id for r in chosen})
            people = repository.many_persons_by_id(session, list({r.person_id for r in chosen}))
            positions = repository.waitlist_positions(session, chosen)
            contacts = {}
            for registration in chosen:
                contacts[registration.registration_id] = self._contact(
                    by_activity[registration.activity_id], registration, people.get(registration.person_id),
                    positions)
        return {registration_id: contacts.get(registration_id) for registration_id in ids}

    @rpc
    def contacts_for_activity(self, activity_id):
        """Everyone to tell about a change of the activity: its active registrations; for a cancelled
        activity, the registrations its cancellation ended. People without an address are left out."""
        if not isinstance(activity_id, str) or not activity_id or len(activity_id) > 64:
            return []
        with self.db.read() as session:
            activity = repository.find_activity(session, activity_id)
            if activity is None:
                return []
            if activity.status == domain.CANCELLED:
                chosen = [r for r in activity.registrations
                          if r.cancelled_by == "system" and r.cancelled_at == activity.cancelled_at]
            else:
                chosen = [r for r in activity.registrations if r.active]
            people = repository.persons_by_id(session, {r.person_id for r in chosen})
            positions = activity.waitlist_positions()
            contacts = (self._contact(activity, r, people.get(r.person_id), positions) for r in chosen)
            return [contact for contact in contacts if contact is not None]

    def _contact(self, activity: Activity, registration: Registration, person: Person | None,
                 waitlist_positions: dict[str, int]) -> dict | None:
        if person is None:
            return None
        email = person.email or registration.begeleider_email
        if not email:
            return None
        token = None
        if registration.active:
            derived = domain.cancel_token_for(self._cancel_link_key(), registration.registration_id)
            if secrets.compare_digest(domain.hash_token(derived), registration.cancel_token_hash):
                token = derived
        return {
            "registration_id": registration.registration_id,
            "person_id": person.person_id,
            "name": person.name,
            "email": email,
            "language": registration.language,
            "status": registration.status,
            "waitlist_position": waitlist_positions.get(registration.registration_id),
            "cancel_token": token,
            "activity": {
                "activity_id": activity.activity_id,
                "title": activity.title,
                "starts_at": activity.starts_at.isoformat(),
                "ends_at": activity.ends_at.isoformat(),
                "location": activity.location,
                "online_link": activity.online_link,
                "status": activity.status,
                "cancel_reason": activity.cancel_reason,
            },
        }

    @rpc
    def record_attendance(self, registration_id, days_attended):
        data = load(_attendance, {"days_attended": days_attended})
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            session = uow.session
            activity, registration = repository.registration(session, registration_id=registration_id)
            activity.record_attendance(registration, data["days_attended"], now)
            uow.emit("attendance.recorded", registration.attendance_event())
            return _staff_registration_view(
                registration, repository.find_person(session, registration.person_id),
                activity.waitlist_position(registration),
            )

    @rpc
    def register_walk_in(self, activity_id, payload):
        """Someone who came without registering, added on the attendance sheet: registered, confirmed
        and attended at once (registration.created says walk_in, so nobody is told they registered)."""
        data = load(_walk_in, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            session = uow.session
            activity = repository.detached_activity(session, activity_id)
            profile = self._profile(uow, data, now)
            person = repository.person_for(
                session, domain.walk_in_identity(activity.activity_id, data["name"], data["email"]), data["name"],
                data["email"], now)
            repository.lock_for_seats(session, activity)
            capacity = activity.capacity
            registration_id = domain.new_id()
            registration = activity.walk_in(
                person, profile, data["days_attended"], now, role=data["role"], language=data["language"],
                registration_id=registration_id,
                cancel_token=domain.cancel_token_for(self._cancel_link_key(), registration_id)).registration
            repository.add_registrations(session, activity, [registration])
            if activity.capacity != capacity:
                repository.save_capacity(session, activity)
                uow.emit("activity.updated", activity.scheduled_event())
            uow.emit("registration.created", registration.created_event(walk_in=True))
            uow.emit("attendance.recorded", registration.attendance_event())
            return _staff_registration_view(registration, person, None)

    # --- privacy: export and erasure (GDPR; docs/PRIVACY.md) ---------------------------------------------

    @rpc
    def find_persons(self, email):
        """Ids of the persons an address identifies (domain.person_identity), oldest first: the
        participant with this address, and every person a begeleider with this address registered
        without an address of their own. [] when there is none (or they were erased)."""
        address = _address(email)
        own, accompanied = domain.identity_keys_for(address)
        with self.db.read() as session:
            found = repository.person_ids_for(session, own, address, accompanied)
        return list(dict.fromkeys(found))

    @rpc
    def export_person(self, person_id):
        """Everything registration holds about a person: the person, and each registration with its
        activity, organisation, needs, begeleider and attendance (JSON-able). NotFound if unknown."""
        with self.db.read() as session:
            person = repository.find_person(session, existing_id(person_id, "person"))
            if person is None:
                raise NotFound("person not found")
            return _person_export(session, person, repository.registrations_of(session, person))

    @rpc
    def erase_person(self, person_id):
        """Erase a person in one unit of work: name, address and identity anonymised, needs and
        begeleider data removed from their registrations (whose facts stay, so no figure changes),
        and `person.erased` emitted through the outbox, once. Erasing again changes nothing and
        emits nothing ("already erased"). NotFound if unknown."""
        now = utcnow()
        with self.db.unit_of_work() as uow:
            session = uow.session
            person = repository.locked_person(session, person_id)
            if person is None:
                raise NotFound("person not found")
            theirs = repository.registrations_of(session, person, lock=True)
            newly = domain.erase_person(person, theirs, now)
            event = uow.emit("person.erased", {"person_id": person.person_id}) if newly else None
        log.info("person %s %s", person.person_id, "erased" if newly else "was erased already")
        return {
            "person_id": person.person_id,
            "erased": newly,
            "already_erased": not newly,
            "registrations": len(theirs),
            "event_id": event["event_id"] if event else None,
            "message": "erased" if newly else "already erased",
        }

    @rpc
    def export_begeleider(self, email):
        """The registrations on which this address is the begeleider: the begeleider's data and the
        activity, nothing about the participant (their own export holds that)."""
        address = _address(email)
        with self.db.read() as session:
            found = repository.accompanied(session, address)
            titles = _activities_by_id(session, {r.activity_id for r in found})
            return [
                {"registration_id": r.registration_id, "activity": titles.get(r.activity_id),
                 "begeleider": {"name": r.begeleider_name, "email": r.begeleider_email},
                 "created_at": _iso(r.created_at)}
                for r in found
            ]

    @rpc
    def erase_begeleider(self, email):
        """Remove a begeleider's name and address from every registration they made for someone else
        (that person keeps their own data). No event: no other service holds a begeleider's data."""
        address = _address(email)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            changed = [r.registration_id for r in repository.accompanied(uow.session, address, lock=True)
                       if domain.forget_begeleider(r, now)]
        if changed:
            log.info("begeleider data removed from %d registration(s)", len(changed))
        return {"registrations": len(changed)}

# --- the cancel-link key ----------------------------------------------------------------------------------

CANCEL_LINK_KEY_FILE = ROOT / "var" / "cancel-link.key"


def cancel_link_key(config: dict) -> bytes:
    """REGISTRATION.CANCEL_LINK_SECRET, or (not configured: the embedded default) a random key kept in
    var/cancel-link.key, made on first use. Every registration instance must share it."""
    return secret_key(config, "REGISTRATION", "CANCEL_LINK_SECRET", CANCEL_LINK_KEY_FILE)


# --- event data and views ----------------------------------------------------------------------------------


def _organisation_event(organisation: Organisation) -> dict:
    return {
        "organisation_id": organisation.organisation_id,
        "org_type": organisation.org_type,
        "recognised": organisation.recognised,
        "target_group": organisation.target_group,
    }


def _check_repeated(session, repeat_of: str | None, activity_id: str | None = None) -> None:
    """A herneming repeats an activity that exists, and not itself."""
    if repeat_of is None:
        return
    if repeat_of == activity_id or repository.find_activity(session, repeat_of) is None:
        raise ValidationFailed("unknown activity", {"repeat_of": ["Unknown activity."]})


def _confirmed_event(registration: Registration) -> dict:
    return {"registration_id": registration.registration_id, "activity_id": registration.activity_id}


def _cancelled_event(registration: Registration) -> dict:
    return {
        "registration_id": registration.registration_id,
        "activity_id": registration.activity_id,
        "cancelled_by": registration.cancelled_by,
    }


def _public_registration_view(activity: Activity, registration: Registration) -> dict:
    return _public_registration.dump({
        "registration_id": registration.registration_id,
        "activity_id": activity.activity_id,
        "activity_title": activity.title,
        "status": registration.status,
        "waitlist_position": activity.waitlist_position(registration),
        "starts_at": activity.starts_at,
    })


def _staff_registration_view(registration: Registration, person: Person, waitlist_position) -> dict:
    begeleider = None
    if registration.begeleider_email:
        begeleider = {"name": registration.begeleider_name, "email": registration.begeleider_email}
    return _staff_registration.dump({
        "registration_id": registration.registration_id,
        "activity_id": registration.activity_id,
        "person_id": registration.person_id,
        "name": person.name,
        "email": person.email,
        "organisation_id": registration.organisation_id,
        "org_type": registration.org_type,
        "recognised": registration.recognised,
        "target_group": registration.target_group,
        "role": registration.role,
        "language": registration.language,
        "needs": registration.needs,
        "begeleider": begeleider,
        "status": registration.status,
        "waitlist_position": waitlist_position,
        "cancelled_by": registration.cancelled_by,
        "cancelled_at": registration.cancelled_at,
        "days_attended": registration.days_attended,
        "created_at": registration.created_at,
    })


# --- privacy: the export ---------------------------------------------------------------------------------


def _address(email) -> str:
    """An address to look for, normalised; ValidationFailed when it cannot be one."""
    if not isinstance(email, str) or "@" not in email or len(email.strip()) > 254:
        raise ValidationFailed("invalid email address", {"email": ["Not a valid email address."]})
    return domain.normalise_email(email)


def _is_uuid(value) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _activities_by_id(session, activity_ids) -> dict[str, dict]:
    return {
        row.activity_id: {"activity_id": row.activity_id, "title": row.title, "kind": row.kind,
                          "starts_at": _iso(row.starts_at), "ends_at": _iso(row.ends_at), "location": row.location,
                          "status": row.status}
        for row in repository.activity_summaries(session, activity_ids)
    }


def _person_export(session, person: Person, theirs: list[Registration]) -> dict:
    erased = domain.is_erased(person)
    organisation_ids = {r.organisation_id for r in theirs if r.organisation_id}
    names = repository.organisation_names(session, organisation_ids)
    by_id = _activities_by_id(session, {r.activity_id for r in theirs})
    return {
        "person": {
            "person_id": person.person_id, "name": person.name, "email": person.email,
            "identified_by": "erased" if erased else person.identity_key.split(":", 1)[0],
            "erased": erased, "created_at": _iso(person.created_at), "updated_at": _iso(person.updated_at),
        },
        "registrations": [
            {
                "registration_id": r.registration_id,
                "activity": by_id.get(r.activity_id),
                "status": r.status,
                "organisation": {"organisation_id": r.organisation_id, "name": names.get(r.organisation_id),
                                 "org_type": r.org_type, "recognised": r.recognised,
                                 "target_group": r.target_group},
                "role": r.role,
                "language": r.language,
                "needs": dict(r.needs or {}),
                "begeleider": ({"name": r.begeleider_name, "email": r.begeleider_email}
                               if r.begeleider_name or r.begeleider_email else None),
                "cancelled_by": r.cancelled_by,
                "cancelled_at": _iso(r.cancelled_at),
                "attendance": ({"days_attended": r.days_attended, "recorded_at": _iso(r.attendance_recorded_at)}
                               if r.days_attended is not None else None),
                "created_at": _iso(r.created_at),
                "updated_at": _iso(r.updated_at),
            }
            for r in theirs
        ],
    }
