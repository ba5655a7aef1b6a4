"""The notifications service's SQL: plain functions on the caller's session (or unit of work, where
an event goes out with the change).

- the message log: one row per (cause event, recipient, template), made or taken under a claim
  ("sending") for as long as a lease, then recorded sent, pending again or failed;
- the captured mail, the log's exports and erasure;
- the activities' times (for move notices and reminders) and the alerts' de-duplication state.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from kernel.db import in_chunks
from kernel.tables import utcnow
from services.notifications import domain
from services.notifications.models import activity_schedule, alert_state, captured_mail, messages

log = logging.getLogger(__name__)

ERROR_LIMIT = 500


# --- the message log: claims and leases ------------------------------------------------------------------


def held_by(claim: str):
    """The message is being sent under `claim`."""
    return and_(messages.c.status == domain.SENDING, messages.c.claim == claim)


def takeable(now: datetime, lease: timedelta):
    """A message no worker holds: pending, or "sending" by a worker silent for longer than the lease
    (one that died while sending; the lease outlasts the slowest SMTP exchange)."""
    return or_(messages.c.status == domain.PENDING,
               and_(messages.c.status == domain.SENDING, messages.c.updated_at < now - lease))


def message_row(session, cause: dict, template: str, recipient: domain.Recipient, create: bool = True,
                claim: str | None = None):
    """The log row of (cause, recipient, template), made now if it is new (taken by `claim`: "sending",
    else pending); None if not to make."""
    key = domain.dedup_key(cause["event_id"], recipient.ref, template)
    row = session.execute(select(messages).where(messages.c.dedup_key == key)).first()
    if row is not None or not create:
        return row
    now = utcnow()
    session.execute(insert(messages).values(
        notification_id=str(uuid.uuid4()), dedup_key=key, template=template, channel=recipient.channel,
        recipient=recipient.ref, person_id=recipient.person_id, language=recipient.language,
        cause_event_id=cause["event_id"], cause_event_type=cause.get("event_type"),
        status=domain.PENDING if claim is None else domain.SENDING, claim=claim, attempts=0,
        email=recipient.address if recipient.channel == "email" else None,
        created_at=now, updated_at=now,
    ))
    return session.execute(select(messages).where(messages.c.dedup_key == key)).first()


def take(session, notification_id: str, claim: str, now: datetime, lease: timedelta) -> bool:
    """Mark the message as being sent under `claim`; False when another worker holds it."""
    result = session.execute(
        update(messages).where(messages.c.notification_id == notification_id)
        .where(takeable(now, lease)).values(status=domain.SENDING, claim=claim, updated_at=now)
    )
    return result.rowcount == 1


def claim_messages(session, wanted: dict[str, tuple[dict, str, domain.Recipient]], asked: set[tuple[str, str]],
                   claim: str, now: datetime, lease: timedelta) -> tuple[list, list]:
    """Each wanted message's log row (by dedup key: (cause, template, recipient)), made ("sending") if new,
    else taken if pending (or left by a dead worker); rows sent or failed before are skipped. The
    unfinished rows of the `asked` (cause event id, template) to anyone not wanted now are dropped (see
    `drop_former_recipients`). Keys in order, so that two workers with overlapping batches take their
    rows in the same order. (claimed (row, cause, recipient), busy recipient refs)."""
    claimed, busy = [], []
    of_causes = {}  # every message of the batch's causes: one read finds the wanted and the former ones
    for chunk in in_chunks(sorted({cause_event_id for cause_event_id, _ in asked})):
        of_causes.update((row.dedup_key, row) for row in session.execute(
            select(messages).where(messages.c.cause_event_id.in_(chunk))))
    former = sorted(row.notification_id for key, row in of_causes.items()
                    if key not in wanted and (row.cause_event_id, row.template) in asked
                    and row.status in (domain.PENDING, domain.SENDING))
    for chunk in in_chunks(former):
        session.execute(update(messages).where(messages.c.notification_id.in_(chunk))
                        .where(messages.c.status.in_((domain.PENDING, domain.SENDING))).values(**_dropped(now)))
    new = sorted(key for key in wanted if key not in of_causes)
    if new:
        session.execute(insert(messages), [{
            "notification_id": str(uuid.uuid4()), "dedup_key": key, "template": template,
            "channel": recipient.channel, "recipient": recipient.ref, "person_id": recipient.person_id,
            "language": recipient.language, "cause_event_id": cause["event_id"],
            "cause_event_type": cause.get("event_type"), "status": domain.SENDING, "attempts": 0,
            "claim": claim, "email": recipient.address if recipient.channel == "email" else None,
            "created_at": now, "updated_at": now,
        } for key in new for cause, template, recipient in (wanted[key],)])
        made = {}
        for chunk in in_chunks(new):
            made.update((row.dedup_key, row) for row in session.execute(
                select(messages).where(messages.c.dedup_key.in_(chunk))))
        claimed += [(made[key], wanted[key][0], wanted[key][2]) for key in new]
    for key in sorted(key for key in wanted if key in of_causes):
        row = of_causes[key]
        if row.status in domain.FINAL:
            continue  # sent (or given up) before: a redelivered event sends nothing twice
        taken = session.execute(
            update(messages).where(messages.c.notification_id == row.notification_id)
            .where(takeable(now, lease)).values(status=domain.SENDING, claim=claim, updated_at=now)
        ).rowcount == 1
        if taken:
            claimed.append((row, wanted[key][0], wanted[key][2]))
        else:
            busy.append(row.recipient)
    return claimed, busy


# --- the message log: outcomes -----------------------------------------------------------------------------


def _sent_event(row) -> dict:
    return {"notification_id": row.notification_id, "channel": row.channel, "template": row.template,
            "cause_event_id": row.cause_event_id}


def _capture(session, kept: list[tuple], now: datetime) -> None:
    """Keep the raw mails of `kept` ((row, address, subject, raw)), in one statement."""
    if kept:
        session.execute(insert(captured_mail), [{
            "notification_id": row.notification_id, "person_id": row.person_id, "recipient": address,
            "subject": subject[:300], "raw": raw, "captured_at": now,
        } for row, address, subject, raw in kept])


def record(uow, row, claim: str, subject: str, now: datetime, failure: str | None = None, final: bool = False,
           raw: bytes | None = None, recipient: domain.Recipient | None = None) -> None:
    """The outcome of sending under `claim`, with `notification.sent` / `notification.failed`; nothing when
    the lease ran out meanwhile and another worker took the message over (that one records it: counted
    and captured once)."""
    values = {"attempts": row.attempts + 1, "updated_at": now, "subject": subject[:300], "claim": None}
    if failure is None:
        values.update(status=domain.SENT, sent_at=now, error=None, email=None)
    else:
        values.update(error=failure[:ERROR_LIMIT], status=domain.FAILED if final else domain.PENDING)
        if final:
            values["email"] = None
    held = uow.session.execute(
        update(messages).where(messages.c.notification_id == row.notification_id)
        .where(held_by(claim)).values(**values)
    ).rowcount == 1
    if not held:
        log.warning("%s %s: %s after its lease ran out; left to the worker that took it over",
                    row.template, row.notification_id, "failed" if failure else "sent")
        return
    if failure is None or final:
        uow.emit("notification.sent" if failure is None else "notification.failed", _sent_event(row))
    if raw is not None:
        _capture(uow.session, [(row, recipient.address, subject, raw)], now)


def still_held(session, claim: str, sent: list) -> list:
    """The messages of `sent` still held by `claim`, locked until the transaction ends: one whose
    lease ran out meanwhile belongs to the worker that took it over, which records it."""
    ids = [row.notification_id for row, *_ in sent]
    held = set()
    for chunk in in_chunks(ids):
        held.update(session.execute(
            select(messages.c.notification_id).where(messages.c.notification_id.in_(chunk))
            .where(held_by(claim)).with_for_update()).scalars())
    for row, *_ in sent:
        if row.notification_id not in held:
            log.warning("%s %s: sent after its lease ran out; left to the worker that took it over",
                        row.template, row.notification_id)
    return [outcome for outcome in sent if outcome[0].notification_id in held]


def record_batch(uow, claim: str, sent: list, failed: list, now: datetime) -> None:
    """A batch's outcomes: the messages `sent` ((row, None, subject, raw, recipient)) still held by
    `claim` recorded with their `notification.sent`; the `failed` ones ((row, exc)) pending again,
    uncounted."""
    session = uow.session
    sent = still_held(session, claim, sent)
    if sent:
        session.execute(
            update(messages).where(messages.c.notification_id == bindparam("b_id")).values(
                status=domain.SENT, sent_at=now, error=None, email=None, claim=None, updated_at=now,
                attempts=bindparam("b_attempts"), subject=bindparam("b_subject")),
            [{"b_id": row.notification_id, "b_attempts": row.attempts + 1, "b_subject": subject[:300]}
             for row, _, subject, _, _ in sent])
        uow.emit_many("notification.sent", [_sent_event(row) for row, *_ in sent])
        _capture(session, [(row, recipient.address, subject, raw) for row, _, subject, raw, recipient in sent
                           if raw is not None], now)
    if failed:
        session.execute(
            update(messages).where(messages.c.notification_id.in_([row.notification_id for row, _ in failed]))
            .where(held_by(claim)).values(status=domain.PENDING, claim=None, updated_at=now))


def has_pending(session, cause_event_id: str) -> bool:
    """Some message of this cause is still to go (pending or being sent)."""
    return session.execute(
        select(messages.c.notification_id).where(messages.c.cause_event_id == cause_event_id)
        .where(messages.c.status.in_((domain.PENDING, domain.SENDING))).limit(1)
    ).first() is not None


def _to_former_recipients(cause_event_id: str, template: str, recipients: set[str]):
    return and_(messages.c.cause_event_id == cause_event_id, messages.c.template == template,
                messages.c.status.in_((domain.PENDING, domain.SENDING)),
                messages.c.recipient.not_in(recipients))


def has_former_recipients(session, cause_event_id: str, template: str, recipients: set[str]) -> bool:
    """An unfinished message of this cause and template to someone not in `recipients`."""
    former = _to_former_recipients(cause_event_id, template, recipients)
    return session.execute(select(messages.c.notification_id).where(former).limit(1)).first() is not None


def drop_former_recipients(session, cause_event_id: str, template: str, recipients: set[str]) -> None:
    """Close those messages: "dropped", without their address."""
    session.execute(update(messages).where(_to_former_recipients(cause_event_id, template, recipients))
                    .values(**_dropped(utcnow())))


def _dropped(now: datetime) -> dict:
    return {"status": domain.DROPPED, "error": "no longer a recipient", "email": None, "claim": None,
            "updated_at": now}


# --- privacy: erasure and export ---------------------------------------------------------------------------


def erase_person(session, person_id: str) -> None:
    session.execute(delete(messages).where(messages.c.person_id == person_id))
    session.execute(delete(captured_mail).where(captured_mail.c.person_id == person_id))


def erase_requester(session, request_id: str) -> None:
    """The log of messages to a requester and the mail kept for them (keyed by the request: recipient
    "request:<id>")."""
    to_them = messages.c.recipient == domain.requester_ref(request_id)
    session.execute(delete(captured_mail).where(
        captured_mail.c.notification_id.in_(select(messages.c.notification_id).where(to_them))))
    session.execute(delete(messages).where(to_them))


def export_person(session, person_id: str) -> dict:
    return _export(session, messages.c.person_id == person_id, captured_mail.c.person_id == person_id)


def export_requester(session, request_id: str) -> dict:
    sent_to_them = select(messages.c.notification_id).where(messages.c.recipient == domain.requester_ref(request_id))
    return _export(session, messages.c.notification_id.in_(sent_to_them),
                   captured_mail.c.notification_id.in_(sent_to_them))


def _export(session, message_filter, mail_filter) -> dict:
    logged = session.execute(select(messages).where(message_filter)
                             .order_by(messages.c.created_at, messages.c.notification_id)).all()
    kept = session.execute(
        select(captured_mail.c.id, captured_mail.c.notification_id, captured_mail.c.recipient,
               captured_mail.c.subject, captured_mail.c.captured_at)
        .where(mail_filter).order_by(captured_mail.c.id)
    ).all()
    return {
        "messages": [
            {"notification_id": r.notification_id, "template": r.template, "channel": r.channel,
             "language": r.language, "subject": r.subject, "status": r.status,
             "cause_event_type": r.cause_event_type, "created_at": r.created_at.isoformat(),
             "sent_at": r.sent_at.isoformat() if r.sent_at else None}
            for r in logged
        ],
        "captured_mail": [
            {"id": r.id, "notification_id": r.notification_id, "recipient": r.recipient, "subject": r.subject,
             "captured_at": r.captured_at.isoformat()}
            for r in kept
        ],
    }


# --- staff views -------------------------------------------------------------------------------------------


def list_messages(session, limit: int, person_id: str | None = None) -> list[dict]:
    """The message log, newest first."""
    query = select(messages).order_by(messages.c.created_at.desc()).limit(limit)
    if person_id:
        query = query.where(messages.c.person_id == person_id)
    return [
        {
            "notification_id": row.notification_id, "template": row.template, "channel": row.channel,
            "recipient": row.recipient, "person_id": row.person_id, "language": row.language,
            "cause_event_id": row.cause_event_id, "cause_event_type": row.cause_event_type,
            "status": row.status, "attempts": row.attempts, "subject": row.subject, "error": row.error,
            "created_at": row.created_at.isoformat(), "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        }
        for row in session.execute(query).all()
    ]


def list_captured_mail(session, limit: int) -> list[dict]:
    """The mail kept, newest first (no bodies)."""
    rows = session.execute(
        select(captured_mail.c.id, captured_mail.c.recipient, captured_mail.c.subject,
               captured_mail.c.captured_at, captured_mail.c.notification_id)
        .order_by(captured_mail.c.id.desc()).limit(limit)
    ).all()
    return [{"id": r.id, "recipient": r.recipient, "subject": r.subject, "notification_id": r.notification_id,
             "captured_at": r.captured_at.isoformat()} for r in rows]


def captured_mail_row(session, mail_id: int):
    return session.execute(select(captured_mail).where(captured_mail.c.id == mail_id)).first()


# --- the activity schedule ---------------------------------------------------------------------------------


def schedule_row(session, activity_id: str, lock: bool = False):
    """The activity's known times; `lock` (PostgreSQL): the activity's events (two queues) apply one
    after the other."""
    query = select(activity_schedule).where(activity_schedule.c.activity_id == activity_id)
    if lock:
        query = query.with_for_update()
    return session.execute(query).first()


def known_times(row) -> domain.KnownTimes | None:
    if row is None:
        return None
    return domain.KnownTimes(row.starts_at, row.ends_at, row.times_at, row.times_event_id, bool(row.move_unknown))


def apply_times(session, activity_id: str, stamp, starts_at: datetime, ends_at: datetime,
                scheduled: bool) -> tuple[str | None, int]:
    """domain.times_change applied to the activity's row: (the update whose move is to be told, sequence)."""
    row = schedule_row(session, activity_id, lock=True)
    change = domain.times_change(known_times(row), stamp, starts_at, ends_at, scheduled)
    if row is None:
        try:
            with session.begin_nested():
                sequence = _store_schedule(session, activity_id, None, change, stamp, starts_at, ends_at)
            return change.moved_by, sequence
        except IntegrityError:  # made meanwhile by the handler of its other event (PostgreSQL): apply to that
            return apply_times(session, activity_id, stamp, starts_at, ends_at, scheduled)
    return change.moved_by, _store_schedule(session, activity_id, row, change, stamp, starts_at, ends_at)


def _store_schedule(session, activity_id: str, row, change: domain.TimesChange, stamp, starts_at: datetime,
                    ends_at: datetime) -> int:
    """Apply `change` to the activity's row (`row`: as read, None if there is none); its sequence now."""
    now = utcnow()
    at, event_id = stamp
    if row is None:
        session.execute(insert(activity_schedule).values(
            activity_id=activity_id, starts_at=starts_at, ends_at=ends_at, status="scheduled", reminded_for=None,
            sequence=0, updated_at=now, times_at=at, times_event_id=event_id, move_unknown=change.move_unknown))
        return 0
    sequence = row.sequence + (1 if change.moved_by else 0)
    values = {"sequence": sequence, "move_unknown": change.move_unknown, "updated_at": now}
    if change.store:  # the status stays: "cancelled" is for good
        values.update(starts_at=starts_at, ends_at=ends_at, times_at=at, times_event_id=event_id)
    session.execute(
        update(activity_schedule).where(activity_schedule.c.activity_id == activity_id).values(**values)
    )
    return sequence


def cancel_schedule(session, activity_id: str) -> None:
    session.execute(
        update(activity_schedule).where(activity_schedule.c.activity_id == activity_id)
        .values(status="cancelled", updated_at=utcnow())
    )


def due_reminders(session, now: datetime, horizon: datetime) -> list:
    """(activity_id, starts_at) of the scheduled activities starting within (now, horizon] whose
    reminder for that start has not gone out, soonest first."""
    return session.execute(
        select(activity_schedule.c.activity_id, activity_schedule.c.starts_at)
        .where(activity_schedule.c.status == "scheduled")
        .where(activity_schedule.c.starts_at > now, activity_schedule.c.starts_at <= horizon)
        .where(or_(activity_schedule.c.reminded_for.is_(None),
                   activity_schedule.c.reminded_for != activity_schedule.c.starts_at))
        .order_by(activity_schedule.c.starts_at)
    ).all()


def mark_reminded(session, activity_id: str, starts_at: datetime) -> None:
    """The reminder for this start went out (a move since then wants another)."""
    session.execute(
        update(activity_schedule).where(activity_schedule.c.activity_id == activity_id)
        .where(activity_schedule.c.starts_at == starts_at).values(reminded_for=starts_at)
    )


# --- alerts' de-duplication --------------------------------------------------------------------------------


def kpi_alert_due(session, context: dict, now: datetime, window_seconds: float) -> bool:
    """Decide (and record in alert_state, under its row lock) whether this KPI alert's messages go out:
    not when the same one went out within the window (then it counts as suppressed)."""
    key = and_(alert_state.c.kpi == context["kpi"], alert_state.c.scope == context["scope"],
               alert_state.c.kind == context["kind"])
    state = session.execute(select(alert_state).where(key).with_for_update()).first()
    if domain.alert_due(state.last_sent_at if state else None, now, window_seconds):
        if state is None:
            session.execute(insert(alert_state).values(
                kpi=context["kpi"], scope=context["scope"], kind=context["kind"], last_sent_at=now, suppressed=0))
        else:
            session.execute(update(alert_state).where(key).values(last_sent_at=now))
        return True
    session.execute(update(alert_state).where(key).values(suppressed=state.suppressed + 1))
    log.info("alert %s/%s/%s suppressed (de-duplication window)", context["kpi"], context["scope"], context["kind"])
    return False


def ops_alert_due(session, context: dict, window_seconds: float) -> bool:
    """Decide (and record in alert_state, under its row locks) whether this alert's message goes out."""
    where = and_(alert_state.c.kpi == domain.OPS_ALERT_KPI, alert_state.c.scope == context["fingerprint"])
    states = {row.kind: row for row in session.execute(select(alert_state).where(where).with_for_update())}
    firing, resolved, now = states.get("firing"), states.get("resolved"), utcnow()
    kind = context["status"]
    if domain.ops_alert_due(kind, firing.last_sent_at if firing else None,
                            resolved.last_sent_at if resolved else None, now, window_seconds):
        if kind in states:
            session.execute(update(alert_state).where(where, alert_state.c.kind == kind).values(last_sent_at=now))
        else:
            session.execute(insert(alert_state).values(kpi=domain.OPS_ALERT_KPI, scope=context["fingerprint"],
                                                       kind=kind, last_sent_at=now, suppressed=0))
        return True
    if kind in states:
        session.execute(update(alert_state).where(where, alert_state.c.kind == kind)
                        .values(suppressed=states[kind].suppressed + 1))
    log.info("alert %s %s (%s) suppressed", context["alertname"], kind, context["fingerprint"])
    return False
