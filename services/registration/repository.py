"""The registration service's SQL: plain functions on the caller's session, loading and saving the
domain's organisations, activities, persons and registrations (mapped in models.py).

The register path is written for speed: the person by one INSERT ... ON CONFLICT, the activity's
seat counters on its own row (locked as late as possible on PostgreSQL), the registration by one
Core INSERT that the partial unique index turns into "already registered".
"""
from __future__ import annotations

from bisect import bisect_left

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from kernel.db import in_chunks
from kernel.errors import NotFound
from kernel.inputs import existing_id
from services.registration import domain
from services.registration.domain import Activity, Organisation, Person, Registration
from services.registration.models import activities, organisations, persons, registrations

SEAT_COUNTERS = ("confirmed_count", "waitlisted_count", "next_waitlist_seq")

# The register path's writes, built once with their values bound at execution: a statement built
# per call with its values in it costs SQLAlchemy more (its cache key, its binds) than the database
# takes to run it. INSERT ... ON CONFLICT DO NOTHING is spelled per dialect.
_NEW_PERSON = {
    dialect.dialect().name: dialect.insert(persons).on_conflict_do_nothing(index_elements=[persons.c.identity_key])
    .returning(persons.c.identity_key)
    for dialect in (postgresql, sqlite)
}
_NEW_REGISTRATION = insert(registrations)
_SEAT_COUNTERS = update(activities).where(activities.c.activity_id == bindparam("b_activity_id"))


# --- organisations -----------------------------------------------------------------------------------------


def organisation(session, organisation_id) -> Organisation:
    """The organisation; NotFound if there is none."""
    found = find_organisation(session, existing_id(organisation_id, "organisation"))
    if found is None:
        raise NotFound("organisation not found")
    return found


def find_organisation(session, organisation_id: str) -> Organisation | None:
    return session.get(Organisation, organisation_id)


def organisations_by_name(session) -> list[Organisation]:
    return list(session.execute(
        select(Organisation).order_by(organisations.c.name, organisations.c.organisation_id)
    ).scalars())


def organisation_named(session, name: str) -> Organisation | None:
    """The organisation of that name, whatever its case and spacing; a confirmed one first. (Read
    whole: a new organisation is named rarely, and the directory is a few hundred rows.)"""
    wanted = domain.normalise_name(name)
    candidates = [o for o in organisations_by_name(session) if domain.normalise_name(o.name) == wanted]
    return min(candidates, key=lambda o: (not o.confirmed, o.created_at), default=None)


def organisation_names(session, organisation_ids) -> dict[str, str]:
    if not organisation_ids:
        return {}
    return dict(session.execute(
        select(organisations.c.organisation_id, organisations.c.name)
        .where(organisations.c.organisation_id.in_(list(organisation_ids)))
    ).all())


# --- activities --------------------------------------------------------------------------------------------


_ACTIVITY = select(Activity).where(activities.c.activity_id == bindparam("b_activity_id"))
_LOCKED_ACTIVITY = _ACTIVITY.with_for_update()


def activity(session, activity_id, lock: bool = False) -> Activity:
    """The activity; `lock` takes its row lock (PostgreSQL) before seats are counted. NotFound if none."""
    statement = _LOCKED_ACTIVITY if lock else _ACTIVITY
    found = session.execute(statement, {"b_activity_id": existing_id(activity_id, "activity")}).scalars().first()
    if found is None:
        raise NotFound("activity not found")
    return found


def find_activity(session, activity_id: str) -> Activity | None:
    return session.get(Activity, activity_id)


def activities_in_order(session) -> list[Activity]:
    return session.execute(select(Activity).order_by(activities.c.starts_at, activities.c.title)).scalars().all()


def public_activities(session, now) -> list[Activity]:
    """Scheduled, open (not invitation-only) activities that have not ended, soonest first."""
    return session.execute(
        select(Activity)
        .where(activities.c.status == domain.SCHEDULED)
        .where(activities.c.invitation_only.is_(False))
        .where(activities.c.ends_at > now)
        .order_by(activities.c.starts_at, activities.c.title)
    ).scalars().all()


def activity_titles(session, activity_ids: list[str]) -> dict[str, str]:
    titles = {}
    for chunk in in_chunks(activity_ids):
        titles.update(session.execute(select(activities.c.activity_id, activities.c.title).where(
            activities.c.activity_id.in_(chunk))).all())
    return titles


def activities_by_id(session, activity_ids) -> dict[str, Activity]:
    if not activity_ids:
        return {}
    return {a.activity_id: a for a in session.execute(
        select(Activity).where(activities.c.activity_id.in_(activity_ids))).scalars()}


def activity_summaries(session, activity_ids) -> list:
    """What a person's export shows of each activity: rows of id, title, kind, times, place, status."""
    if not activity_ids:
        return []
    return session.execute(
        select(activities.c.activity_id, activities.c.title, activities.c.kind, activities.c.starts_at,
               activities.c.ends_at, activities.c.location, activities.c.status)
        .where(activities.c.activity_id.in_(list(activity_ids)))
    ).all()


# --- registering -------------------------------------------------------------------------------------------


def detached_activity(session, activity_id) -> Activity:
    """The activity, out of the session: its row is written by `add_registrations`, in one statement,
    not by the ORM's flush."""
    found = activity(session, activity_id)
    session.expunge(found)
    return found


def person_for(session, identity_key: str, name: str, email: str | None, now) -> Person:
    """The person with this identity, created on first registration."""
    return persons_for(session, [(identity_key, name, email)], now)[0]


def persons_for(session, wanted: list[tuple[str, str, str | None]], now) -> list[Person]:
    """The person of each (identity, name, email), created on first registration: one INSERT for
    the newcomers, one SELECT for those known before (a person created meanwhile by a concurrent
    transaction is simply found); a known person's name becomes the one given last."""
    candidates: dict[str, Person] = {}
    for identity_key, name, email in wanted:
        candidates.setdefault(identity_key, Person.new(identity_key, name, email, now))
    created = set(session.execute(_NEW_PERSON[session.get_bind().dialect.name], [
        {"person_id": candidate.person_id, "identity_key": candidate.identity_key, "name": candidate.name,
         "email": candidate.email, "created_at": now, "updated_at": now}
        for candidate in candidates.values()]).scalars())
    known = [key for key in candidates if key not in created]
    found = {person.identity_key: person for person in session.execute(
        select(Person).where(persons.c.identity_key.in_(known))).scalars()} if known else {}
    chosen = []
    for identity_key, name, _ in wanted:
        person = candidates[identity_key] if identity_key in created else found[identity_key]
        if identity_key not in created and person.name != name:
            person.name = name
            person.updated_at = now
        chosen.append(person)
    return chosen


def lock_for_seats(session, activity: Activity) -> None:
    """Make the (detached) activity current and hold its row until the commit, as late as possible.

    PostgreSQL: the row is locked and read again (concurrent registrations queue here, and for as
    short a time as can be). SQLite: the transaction has held the database's write lock since its
    BEGIN IMMEDIATE, so the row already read is current."""
    if session.get_bind().dialect.name == "sqlite":
        return
    row = session.execute(
        select(activities).where(activities.c.activity_id == activity.activity_id).with_for_update()
    ).mappings().one()
    for column in activities.columns:
        setattr(activity, column.key, row[column.key])


def add_registrations(session, activity: Activity, new: list[Registration]) -> None:
    """New registrations (the domain's duplicate_registration when a person has an active one
    already) and the activity's seat counters after them."""
    try:
        session.execute(_NEW_REGISTRATION, [
            {column.key: getattr(registration, column.key) for column in registrations.columns}
            for registration in new])
    except IntegrityError as exc:
        if "person_id" not in str(exc.orig) and "uq_registrations_active_person" not in str(exc.orig):
            raise
        raise domain.duplicate_registration() from None
    session.execute(_SEAT_COUNTERS, {"b_activity_id": activity.activity_id,
                                     **{name: getattr(activity, name) for name in SEAT_COUNTERS}})


def save_capacity(session, activity: Activity) -> None:
    """A (detached) activity's capacity, grown by a place given to someone who came."""
    session.execute(update(activities).where(activities.c.activity_id == activity.activity_id).values(
        capacity=activity.capacity, updated_at=activity.updated_at))


# --- registrations -----------------------------------------------------------------------------------------


def registration(session, registration_id=None, token=None) -> tuple[Activity, Registration]:
    """A registration and its (locked) activity, by id or by cancel token; NotFound if there is none."""
    if token is not None:
        if not isinstance(token, str) or not token or len(token) > 200:
            raise NotFound("registration not found")
        column, value = registrations.c.cancel_token_hash, domain.hash_token(token)
    else:
        column, value = registrations.c.registration_id, existing_id(registration_id, "registration")
    activity_id = session.execute(select(registrations.c.activity_id).where(column == value)).scalar()
    if activity_id is None:
        raise NotFound("registration not found")
    locked = activity(session, activity_id, lock=True)
    return locked, next(r for r in locked.registrations if getattr(r, column.key) == value)


def find_registration(session, registration_id: str) -> Registration | None:
    return session.get(Registration, registration_id)


def registrations_by_id(session, registration_ids: list[str]) -> dict[str, Registration]:
    found: dict = {}
    for chunk in in_chunks(registration_ids):
        found.update((r.registration_id, r) for r in session.execute(
            select(Registration).where(registrations.c.registration_id.in_(chunk))).scalars())
    return found


def waitlist_positions(session, chosen: list[Registration]) -> dict[str, int | None]:
    """Each registration's place in its activity's waiting queue (None when not waitlisted): one
    read of each activity's queue."""
    waiting = [registration for registration in chosen if registration.status == domain.WAITLISTED]
    queues = {}
    for activity_id in {registration.activity_id for registration in waiting}:
        queues[activity_id] = session.execute(
            select(registrations.c.waitlist_seq).where(
                registrations.c.activity_id == activity_id, registrations.c.status == domain.WAITLISTED,
            ).order_by(registrations.c.waitlist_seq)
        ).scalars().all()
    positions: dict[str, int | None] = {registration.registration_id: None for registration in chosen}
    for registration in waiting:
        positions[registration.registration_id] = bisect_left(queues[registration.activity_id],
                                                              registration.waitlist_seq) + 1
    return positions


# --- persons -----------------------------------------------------------------------------------------------


def find_person(session, person_id: str) -> Person | None:
    return session.get(Person, person_id)


def persons_by_id(session, person_ids) -> dict[str, Person]:
    """The persons of `person_ids` (a few: one IN (...))."""
    if not person_ids:
        return {}
    return {
        p.person_id: p for p in session.execute(select(Person).where(persons.c.person_id.in_(person_ids))).scalars()
    }


def many_persons_by_id(session, person_ids: list[str]) -> dict[str, Person]:
    """`persons_by_id` for any number of persons, in chunks."""
    people: dict = {}
    for chunk in in_chunks(person_ids):
        people.update(persons_by_id(session, chunk))
    return people


def person_ids_for(session, own_identity: str, address: str, accompanied_prefix: str) -> list[str]:
    """Ids of the persons with this identity or address, or registered by a begeleider with this
    address (identity key prefix), oldest first."""
    return session.execute(
        select(persons.c.person_id)
        .where(or_(persons.c.identity_key == own_identity, persons.c.email == address,
                   persons.c.identity_key.startswith(accompanied_prefix, autoescape=True)))
        .order_by(persons.c.created_at, persons.c.person_id)
    ).scalars().all()


def locked_person(session, person_id) -> Person | None:
    return session.execute(
        select(Person).where(persons.c.person_id == existing_id(person_id, "person")).with_for_update()
    ).scalars().first()


def registrations_of(session, person: Person, lock: bool = False) -> list[Registration]:
    """The person's registrations; `lock`: for erasure (held until the commit), in no particular order,
    else oldest first."""
    if lock:
        return session.execute(
            select(Registration).where(registrations.c.person_id == person.person_id).with_for_update()
        ).scalars().all()
    return session.execute(
        select(Registration).where(registrations.c.person_id == person.person_id)
        .order_by(registrations.c.created_at, registrations.c.registration_id)
    ).scalars().all()


def accompanied(session, address: str, lock: bool = False) -> list[Registration]:
    """The registrations on which `address` is the begeleider's, oldest first."""
    statement = select(Registration).where(registrations.c.begeleider_email == address).order_by(
        registrations.c.created_at, registrations.c.registration_id)
    if lock:
        statement = statement.with_for_update()
    return list(session.execute(statement).scalars())
