"""The evaluation service's SQL: plain functions on the caller's session, loading and saving the
domain's activities (registration's facts), attendance, erased persons and surveys (mapped in
models.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError

from kernel.db import in_chunks
from services.evaluation import domain
from services.evaluation.domain import Activity, Attendance, ErasedPerson, Evaluation
from services.evaluation.models import activities, attendance, evaluations

BATCH = 500  # surveys per transaction of the reminding and closing rounds


# --- registration's facts ----------------------------------------------------------------------------------


def activity_facts(session, activity_id: str, now: datetime) -> Activity:
    """The activity's facts, made on the first event about it (whichever that is); its row is locked
    (PostgreSQL) so concurrent handlers of its events apply one after the other."""
    locked = select(Activity).where(activities.c.activity_id == activity_id).with_for_update()
    activity = session.execute(locked).scalars().first()
    if activity is None:
        candidate = Activity(activity_id, updated_at=now)
        try:
            with session.begin_nested():
                session.add(candidate)
                session.flush()
            return candidate
        except IntegrityError:  # made meanwhile by a concurrent handler (PostgreSQL)
            activity = session.execute(locked).scalars().one()
    return activity


def find_activity(session, activity_id: str) -> Activity | None:
    return session.get(Activity, activity_id)


def activities_by_id(session, activity_ids: list[str]) -> dict[str, Activity]:
    if not activity_ids:
        return {}
    return {a.activity_id: a for a in session.execute(
        select(Activity).where(activities.c.activity_id.in_(activity_ids))).scalars()}


def find_attendance(session, registration_id: str) -> Attendance | None:
    return session.get(Attendance, registration_id)


def is_erased(session, person_id: str) -> bool:
    """A `person.erased` for this person was processed."""
    return session.get(ErasedPerson, person_id) is not None


# --- a person's records (privacy) --------------------------------------------------------------------------


def attendance_of_person(session, person_id: str) -> list[Attendance]:
    return list(session.execute(select(Attendance).where(attendance.c.person_id == person_id)).scalars())


def evaluations_of_person(session, person_id: str) -> list[Evaluation]:
    return list(session.execute(select(Evaluation).where(evaluations.c.person_id == person_id)).scalars())


def person_records(session, person_id: str) -> tuple[list[Attendance], list[Evaluation]]:
    """The person's attendance and surveys, oldest first (for the export)."""
    attended = session.execute(
        select(Attendance).where(attendance.c.person_id == person_id)
        .order_by(attendance.c.recorded_at, attendance.c.registration_id)
    ).scalars().all()
    surveys = session.execute(
        select(Evaluation).where(evaluations.c.person_id == person_id)
        .order_by(evaluations.c.requested_at, evaluations.c.evaluation_id)
    ).scalars().all()
    return attended, surveys


# --- due work ----------------------------------------------------------------------------------------------


def invitation_candidates(session, now: datetime, settings: domain.Settings) -> list[str]:
    """Activities with an attendee not yet invited for a stage that may be due (the domain decides)."""
    a, att, ev = activities.c, attendance.c, evaluations.c

    def uninvited(stage):
        return exists(
            select(att.registration_id)
            .where(att.activity_id == a.activity_id, att.erased_at.is_(None))
            .where(~exists(select(ev.evaluation_id).where(ev.registration_id == att.registration_id,
                                                          ev.stage == stage)))
        )

    conditions = [and_(a.status == domain.COMPLETED, a.ends_at.is_not(None),
                       a.ends_at <= now - settings.invite_delay, uninvited(domain.FINAL))]
    if settings.midway_for_tracks:
        conditions.append(and_(a.status == domain.SCHEDULED, a.kind.in_(settings.track_kinds),
                               a.starts_at <= now, a.ends_at > now, uninvited(domain.MIDWAY)))
    return list(session.execute(
        select(a.activity_id).where(or_(*conditions)).order_by(a.ends_at, a.activity_id)
    ).scalars())


def invitation_state(session, activity_id: str) -> tuple[Activity, list[Attendance], set[tuple[str, str]]]:
    """The activity (locked until the commit), its attendees and the (registration, stage) pairs
    invited already."""
    activity = session.execute(
        select(Activity).where(activities.c.activity_id == activity_id).with_for_update()
    ).scalars().one()
    attendees = session.execute(
        select(Attendance).where(attendance.c.activity_id == activity_id)
    ).scalars().all()
    already = {
        (row.registration_id, row.stage)
        for row in session.execute(
            select(evaluations.c.registration_id, evaluations.c.stage)
            .where(evaluations.c.activity_id == activity_id)
        )
    }
    return activity, attendees, already


def due_for_reminder(session, now: datetime, reminder_after: timedelta) -> list[Evaluation]:
    """Up to BATCH open surveys requested at least `reminder_after` ago and not reminded yet, locked
    (those another worker holds are skipped)."""
    ev = evaluations.c
    return session.execute(
        select(Evaluation)
        .where(ev.submitted_at.is_(None), ev.closed_at.is_(None), ev.reminder_sent_at.is_(None))
        .where(ev.requested_at <= now - reminder_after, ev.closes_at > now)
        .order_by(ev.requested_at, ev.evaluation_id).limit(BATCH)
        .with_for_update(skip_locked=True)
    ).scalars().all()


def due_for_closing(session, now: datetime) -> list[Evaluation]:
    """Up to BATCH unanswered surveys past their term and not closed yet, locked (as above)."""
    ev = evaluations.c
    return session.execute(
        select(Evaluation)
        .where(ev.submitted_at.is_(None), ev.closed_at.is_(None), ev.closes_at <= now)
        .order_by(ev.closes_at, ev.evaluation_id).limit(BATCH)
        .with_for_update(skip_locked=True)
    ).scalars().all()


# --- surveys -----------------------------------------------------------------------------------------------


def find_evaluation(session, evaluation_id: str, lock: bool = False) -> Evaluation | None:
    """The survey; `lock`: held until the commit (answering it)."""
    statement = select(Evaluation).where(evaluations.c.evaluation_id == evaluation_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalars().first()


def get_evaluation(session, evaluation_id: str) -> Evaluation | None:
    return session.get(Evaluation, evaluation_id)


def evaluations_by_id(session, evaluation_ids: list[str]) -> dict[str, Evaluation]:
    found: dict = {}
    for chunk in in_chunks(evaluation_ids):
        found.update((e.evaluation_id, e) for e in session.execute(
            select(Evaluation).where(evaluations.c.evaluation_id.in_(chunk))).scalars())
    return found


def evaluations_of_activity(session, activity_id: str, stage: str | None = None) -> list[Evaluation]:
    """The activity's surveys (of `stage`, or all)."""
    statement = select(Evaluation).where(evaluations.c.activity_id == activity_id)
    if stage is not None:
        statement = statement.where(evaluations.c.stage == stage)
    return session.execute(statement).scalars().all()


def evaluations_of_stage(session, stage: str) -> list[Evaluation]:
    return list(session.execute(select(Evaluation).where(evaluations.c.stage == stage)).scalars())


def answered(session, activity_id: str, stage: str) -> list[Evaluation]:
    """The activity's answered surveys of `stage`, in the order they were answered."""
    return session.execute(
        select(Evaluation)
        .where(evaluations.c.activity_id == activity_id, evaluations.c.stage == stage,
               evaluations.c.submitted_at.is_not(None))
        .order_by(evaluations.c.submitted_at, evaluations.c.evaluation_id)
    ).scalars().all()
