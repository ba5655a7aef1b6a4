"""Notifications service: every message a person or the on-call staff gets from the platform.

Thin nameko layer: event handlers (one per event type) ask the owning service for the
recipient's details at send time (RPC), and hand over to `_deliver`, which claims one log row
per (cause event, recipient, template) in its own transaction, sends, and records the outcome
with `notification.sent` / `notification.failed` in the outbox, in one transaction.

A temporary failure (SMTP down, 4xx) raises, so the kernel retries the event with back-off;
the rows already sent are skipped on the retry. A permanent failure (address refused) or the
last attempt marks the row failed, emits `notification.failed` and dead-letters the event.
A row begun for someone who is no longer a recipient when the event comes back (the
registration cancelled meanwhile) ends "dropped", without a mail or an event.
"""
from __future__ import annotations

import email
import logging
import uuid
from datetime import datetime, timedelta
from email import policy

from eventlet.greenpool import GreenPool
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import Timer
from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from kernel import health
from kernel.config import answer_within_working_days, retry_delays_ms
from kernel.consumer import DoNotRetry, batch_event_handler, event_handler
from kernel.dependencies import Database
from kernel.envelope import event_stamp
from kernel.errors import NotFound
from kernel.rpc import RpcProxy
from kernel.tables import utcnow
from services.notifications import domain, rendering
from services.notifications.delivery import (
    DeliveryFailure,
    PermanentFailure,
    RateLimiter,
    Settings,
    SmtpMailer,
    TemporaryFailure,
    post_webhook,
)
from services.notifications.models import activity_schedule, alert_state, captured_mail, messages

log = logging.getLogger(__name__)

ERROR_LIMIT = 500
SURVEY_BATCH = 250  # survey mail events per batch worker
SURVEY_WAIT_MS = 300  # how long a batch of survey mail events may gather (they come in waves; no hurry)
KEY_CHUNK = 500  # dedup keys per IN (...) lookup; SQLite caps bound parameters


class GaveUp(DoNotRetry):
    """Some message of this event failed for good: the event goes to the dead-letter queue now."""


class ReminderTimer(Timer):
    """nameko's timer with its interval from NOTIFICATIONS.REMINDER_CHECK_SECONDS."""

    def setup(self):
        self.interval = Settings.from_config(self.container.config).reminder_check_seconds
        super().setup()


class Delivery(DependencyProvider):
    """SMTP (or the local capture), webhooks and the send rate, shared by the service's workers."""

    def setup(self):
        config = self.container.config
        self.settings = Settings.from_config(config)
        self.limiter = RateLimiter(self.settings.send_rate_per_second)
        self.mailer = None if self.settings.mail_capture else SmtpMailer(self.settings)
        self.max_attempts = len(retry_delays_ms(config)) + 1

    def stop(self):
        if self.mailer is not None:
            self.mailer.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return WorkerDelivery(self, int(worker_ctx.data.get("x-attempt", 0) or 0) + 1)


class WorkerDelivery:
    def __init__(self, provider: Delivery, attempt: int):
        self.settings = provider.settings
        self.capture = provider.mailer is None
        self.max_attempts = provider.max_attempts
        self.attempt = attempt
        self._provider = provider

    def send_email(self, message, to: str) -> bytes | None:
        """Send (or, capturing, return the raw message to keep)."""
        self._provider.limiter.wait()
        if self.capture:
            return message.as_bytes()
        self._provider.mailer.send(message, to)
        return None

    def post_webhook(self, url: str, body: dict) -> None:
        self._provider.limiter.wait()
        post_webhook(url, body, self.settings.webhook_timeout)


def _aware(value) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment


class NotificationsService(health.HealthRpc):
    name = "notifications"
    db = Database()
    config = Config()
    delivery = Delivery()
    registration = RpcProxy("registration")
    requests = RpcProxy("requests")
    evaluation = RpcProxy("evaluation")

    # --- participants ----------------------------------------------------------------------------------

    @event_handler("registration", "registration.created")
    def on_registration_created(self, event):
        template = domain.CREATED_TEMPLATES[event["data"]["status"]]
        contact = self.registration.contact_for_registration(event["data"]["registration_id"])
        self._deliver(event, template, self._people([contact]))

    @event_handler("registration", "registration.confirmed")
    def on_registration_confirmed(self, event):
        contact = self.registration.contact_for_registration(event["data"]["registration_id"])
        self._deliver(event, "promoted", self._people([contact]))

    @event_handler("registration", "registration.cancelled")
    def on_registration_cancelled(self, event):
        if event["data"]["cancelled_by"] == "system":
            return  # the activity was cancelled: activity_cancelled tells them
        contact = self.registration.contact_for_registration(
            event["data"]["registration_id"], include_cancelled=True
        )
        self._deliver(event, "registration_cancelled", self._people([contact]))

    @event_handler("registration", "activity.scheduled")
    def on_activity_scheduled(self, event):
        self._activity_times(event, scheduled=True)

    @event_handler("registration", "activity.updated")
    def on_activity_updated(self, event):
        self._activity_times(event, scheduled=False)

    def _activity_times(self, event, scheduled: bool):
        """Keep the newest times of the activity (two queues: its events come in any order) and tell its
        registrants of a move once (domain.times_change); the mail's cause is the update that moved it."""
        data = event["data"]
        activity_id, starts_at, ends_at = data["activity_id"], _aware(data["starts_at"]), _aware(data["ends_at"])
        stamp = event_stamp(event)
        contacts = None
        if domain.times_change(_known(self._schedule(activity_id)), stamp, starts_at, ends_at, scheduled).moved_by:
            contacts = self.registration.contacts_for_activity(activity_id)  # asked before the transaction
        moved_by, row = None, None
        with self.db.unit_of_work() as uow:
            claimed = uow.claim(event)
            if claimed:
                moved_by, sequence = self._apply_times(uow.session, activity_id, stamp, starts_at, ends_at, scheduled)
                if moved_by:
                    if contacts is None:
                        contacts = self.registration.contacts_for_activity(activity_id)
                    cause = {"event_id": moved_by, "event_type": "activity.updated"}
                    for recipient in self._people(contacts, sequence=sequence):
                        self._claim_row(uow.session, cause, "activity_moved", recipient)
        if not claimed:  # a retry: the mails its first run left to go, caused by itself or by the stored update
            row = self._schedule(activity_id)
            moved_by = next((cause for cause in (event["event_id"], row.times_event_id if row else None)
                             if cause and self._has_pending(cause)), None)
        if not moved_by:
            return
        if contacts is None:
            contacts = self.registration.contacts_for_activity(activity_id)
        if row is None:  # the sequence now: a newer move may have come meanwhile (the mail shows the newest)
            row = self._schedule(activity_id)
        self._deliver({"event_id": moved_by, "event_type": "activity.updated"}, "activity_moved",
                      self._people(contacts, sequence=row.sequence if row is not None else 0), create=False)

    @event_handler("registration", "activity.cancelled")
    def on_activity_cancelled(self, event):
        data = event["data"]
        with self.db.unit_of_work() as uow:
            if uow.claim(event):
                uow.session.execute(
                    update(activity_schedule).where(activity_schedule.c.activity_id == data["activity_id"])
                    .values(status="cancelled", updated_at=utcnow())
                )
        contacts = self.registration.contacts_for_activity(data["activity_id"])
        self._deliver(event, "activity_cancelled", self._people(contacts, reason=data["reason"]))

    # Survey mails come in waves (every attendee of an activity at once): batch consumers, so a batch
    # of N events costs two RPCs, one claiming and one recording transaction (see _survey_mails).
    # Same queue names as the one-event handlers they replace (one binding each).
    @batch_event_handler([("evaluation", "evaluation.requested")], max_batch=SURVEY_BATCH, max_wait_ms=SURVEY_WAIT_MS)
    def on_evaluation_requested(self, events):
        self._survey_mails(events, "evaluation_invitation")

    @batch_event_handler([("evaluation", "evaluation.midway_requested")], max_batch=SURVEY_BATCH, max_wait_ms=SURVEY_WAIT_MS)
    def on_evaluation_midway_requested(self, events):
        self._survey_mails(events, "evaluation_midway")

    @batch_event_handler([("evaluation", "evaluation.reminded")], max_batch=SURVEY_BATCH, max_wait_ms=SURVEY_WAIT_MS)
    def on_evaluation_reminded(self, events):
        self._survey_mails(events, "evaluation_reminder")

    def _survey_mails(self, events, template):
        """`_survey_mail` for a batch: the surveys (one RPC), the contacts (one RPC), then `_deliver_many`.
        One event (also each event of a failed batch, which the kernel hands over one at a time, with
        its attempt number) takes the one-event path."""
        if len(events) == 1:
            self._survey_mail(events[0], template)
            return
        invitations = self.evaluation.invitations_for([e["data"]["evaluation_id"] for e in events]) or {}
        open_ = []
        for event in events:
            invitation = invitations.get(event["data"]["evaluation_id"])
            if not invitation or invitation.get("status") != "open":
                log.info("survey %s is not open: no %s", event["data"]["evaluation_id"], template)
            else:
                open_.append((event, invitation))
        if not open_:
            return
        contacts = self.registration.contacts_for_registrations(
            [e["data"]["registration_id"] for e, _ in open_], include_cancelled=False) or {}
        jobs = []
        for event, invitation in open_:
            contact = contacts.get(event["data"]["registration_id"])
            language = (contact or {}).get("language") or "nl"
            for recipient in self._people([contact], survey_url=f"{invitation['survey_url']}?lang={language}"):
                jobs.append((event, recipient))
        self._deliver_many(template, jobs)

    def _survey_mail(self, event, template):
        """The participant's personal survey link, from the evaluation service (which signs it), in the
        participant's language; nothing when the survey is no longer open (answered or closed)."""
        data = event["data"]
        invitation = self.evaluation.invitation_for(data["evaluation_id"])
        if not invitation or invitation.get("status") != "open":
            log.info("survey %s is not open: no %s", data["evaluation_id"], template)
            return
        contact = self.registration.contact_for_registration(data["registration_id"], include_cancelled=False)
        language = (contact or {}).get("language") or "nl"
        self._deliver(event, template,
                      self._people([contact], survey_url=f"{invitation['survey_url']}?lang={language}"))

    @event_handler("registration", "person.erased")
    def on_person_erased(self, event):
        person_id = event["data"]["person_id"]
        with self.db.unit_of_work() as uow:
            uow.claim(event)
            uow.session.execute(delete(messages).where(messages.c.person_id == person_id))
            uow.session.execute(delete(captured_mail).where(captured_mail.c.person_id == person_id))

    @event_handler("requests", "request.requester_erased")
    def on_requester_erased(self, event):
        """A requester's contact details were erased: the log of messages to them and the mail kept
        for them go (keyed by the request: recipient "request:<id>")."""
        to_them = messages.c.recipient == domain.requester_ref(event["data"]["request_id"])
        with self.db.unit_of_work() as uow:
            uow.claim(event)
            uow.session.execute(delete(captured_mail).where(
                captured_mail.c.notification_id.in_(select(messages.c.notification_id).where(to_them))))
            uow.session.execute(delete(messages).where(to_them))

    @rpc
    def export_person(self, person_id):
        """What the log holds about a participant (GDPR export): their messages (template, subject,
        status, times) and the mail kept for them (recipient, subject); no bodies."""
        if not isinstance(person_id, str) or not person_id or len(person_id) > 64:
            return {"messages": [], "captured_mail": []}
        return self._export(messages.c.person_id == person_id, captured_mail.c.person_id == person_id)

    @rpc
    def export_requester(self, request_id):
        """The same for the requester of a request."""
        if not isinstance(request_id, str) or not request_id or len(request_id) > 64:
            return {"messages": [], "captured_mail": []}
        sent_to_them = select(messages.c.notification_id).where(
            messages.c.recipient == domain.requester_ref(request_id))
        return self._export(messages.c.notification_id.in_(sent_to_them),
                            captured_mail.c.notification_id.in_(sent_to_them))

    def _export(self, message_filter, mail_filter) -> dict:
        with self.db.read() as session:
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

    # --- requesters (the request desk) ------------------------------------------------------------------

    @event_handler("requests", "request.received")
    def on_request_received(self, event):
        self._deliver(event, "request_acknowledgement",
                      self._requester(event["data"]["request_id"], answer_within=self._answer_within()))

    @event_handler("requests", "request.declined")
    def on_request_declined(self, event):
        data = event["data"]
        self._deliver(event, "request_declined", self._requester(
            data["request_id"], decline_reason=data["reason"], referred_to=data.get("referred_to")))

    @event_handler("requests", "request.overdue")
    def on_request_overdue(self, event):
        """Remind staff once of a request without an answer in time: its assignee (asked of the requests
        service at send time), or else the desk (NOTIFICATIONS.REQUEST_DESK_EMAILS, else ALERT_EMAILS)."""
        data = event["data"]
        try:
            assignee = self.requests.assignee_contact(data["request_id"])
        except NotFound:
            log.info("request %s not found: no overdue reminder", data["request_id"])
            return
        settings = self.delivery.settings
        context = domain.overdue_context(data, self._answer_within(), self.config.get("PUBLIC_BASE_URL") or "")
        recipients = domain.overdue_recipients(assignee, settings.desk_emails, settings.alert_language, context)
        if not recipients:
            log.warning("request %s is overdue and nobody is set to hear of it (NOTIFICATIONS.REQUEST_DESK_EMAILS)",
                        data["request_id"])
        self._deliver(event, "request_overdue", recipients)

    def _requester(self, request_id, **extra) -> list[domain.Recipient]:
        """The requester of `request_id` (asked at send time); nobody when the request has no address
        (taken by phone without one) or is not known (any more)."""
        try:
            contact = self.requests.contact_for_request(request_id)
        except NotFound:
            log.info("request %s not found: no message to its requester", request_id)
            return []
        recipient = domain.requester_recipient(request_id, contact, extra)
        return [recipient] if recipient is not None else []

    def _answer_within(self) -> int:
        return answer_within_working_days(self.config)

    @ReminderTimer.decorator(interval=300)
    def send_reminders(self):
        """Remind everyone registered NOTIFICATIONS.REMINDER_DAYS_BEFORE days before the start."""
        settings = self.delivery.settings
        now = utcnow()
        horizon = now + timedelta(days=settings.reminder_days_before)
        with self.db.unit_of_work() as uow:
            due = uow.session.execute(
                select(activity_schedule.c.activity_id, activity_schedule.c.starts_at)
                .where(activity_schedule.c.status == "scheduled")
                .where(activity_schedule.c.starts_at > now, activity_schedule.c.starts_at <= horizon)
                .where(or_(activity_schedule.c.reminded_for.is_(None),
                           activity_schedule.c.reminded_for != activity_schedule.c.starts_at))
                .order_by(activity_schedule.c.starts_at)
            ).all()
        for activity_id, starts_at in due:
            cause = {"event_id": domain.reminder_cause(activity_id, starts_at), "event_type": "reminder"}
            try:
                contacts = self.registration.contacts_for_activity(activity_id)
                self._deliver(cause, "reminder", self._people(contacts))
            except (TemporaryFailure, GaveUp) as exc:
                log.warning("reminders for %s not all sent (%s); next round retries", activity_id, exc)
                if isinstance(exc, TemporaryFailure):
                    continue
            except Exception:  # noqa: BLE001 - one activity must not stop the others
                log.exception("reminders for %s failed", activity_id)
                continue
            with self.db.unit_of_work() as uow:
                uow.session.execute(
                    update(activity_schedule).where(activity_schedule.c.activity_id == activity_id)
                    .where(activity_schedule.c.starts_at == starts_at).values(reminded_for=starts_at)
                )

    # --- staff and on-call alerts ----------------------------------------------------------------------

    @event_handler("reporting", "kpi.threshold_breached")
    def on_kpi_breached(self, event):
        self._alert(event)

    @event_handler("reporting", "kpi.threshold_recovered")
    def on_kpi_recovered(self, event):
        self._alert(event)

    def _alert(self, event):
        settings = self.delivery.settings
        context = domain.alert_context(event)
        recipients = domain.alert_recipients(
            settings.alert_emails, settings.alert_webhook_urls, settings.alert_language, context
        )
        now = utcnow()
        with self.db.unit_of_work() as uow:
            if uow.claim(event) and recipients:
                key = and_(alert_state.c.kpi == context["kpi"], alert_state.c.scope == context["scope"],
                           alert_state.c.kind == context["kind"])
                state = uow.session.execute(select(alert_state).where(key).with_for_update()).first()
                if domain.alert_due(state.last_sent_at if state else None, now, settings.alert_dedup_seconds):
                    if state is None:
                        uow.session.execute(insert(alert_state).values(
                            kpi=context["kpi"], scope=context["scope"], kind=context["kind"], last_sent_at=now,
                            suppressed=0))
                    else:
                        uow.session.execute(update(alert_state).where(key).values(last_sent_at=now))
                    for recipient in recipients:
                        self._claim_row(uow.session, event, "kpi_alert", recipient)
                else:
                    uow.session.execute(update(alert_state).where(key).values(suppressed=state.suppressed + 1))
                    log.info("alert %s/%s/%s suppressed (de-duplication window)",
                             context["kpi"], context["scope"], context["kind"])
        self._deliver(event, "kpi_alert", recipients, create=False)

    @rpc
    def relay_ops_alerts(self, alerts):
        """Alertmanager's alerts (validated by the gateway's webhook) to the on-call recipients
        (ALERT_EMAILS, ALERT_WEBHOOK_URLS): one message per alert (fingerprint), status and firing
        episode, a firing one at most once per ALERT_DEDUP_SECONDS (flapping), a resolved one once and
        only after a firing one went out. Returns counts; `retry_later` > 0 asks for the same again."""
        settings = self.delivery.settings
        result = {"alerts": len(alerts), "notified": 0, "repeated": 0, "suppressed": 0, "failed": 0,
                  "retry_later": 0, "no_recipients": 0}
        for alert in alerts:
            context = domain.ops_alert_context(alert)
            recipients = domain.alert_recipients(
                settings.alert_emails, settings.alert_webhook_urls, settings.alert_language, context
            )
            if not recipients:
                log.warning("alert %s (%s) has nobody to go to (NOTIFICATIONS.ALERT_EMAILS / ALERT_WEBHOOK_URLS)",
                            context["alertname"], context["status"])
                result["no_recipients"] += 1
                continue
            cause = {"event_id": domain.ops_alert_cause(context), "event_type": f"alertmanager.{context['status']}"}
            with self.db.unit_of_work() as uow:
                repeated = self._claim_row(uow.session, cause, "ops_alert", recipients[0], create=False) is not None
                due = not repeated and self._ops_alert_due(uow.session, context, settings.alert_dedup_seconds)
                if due:
                    for recipient in recipients:
                        self._claim_row(uow.session, cause, "ops_alert", recipient)
            if not (repeated or due):
                result["suppressed"] += 1
                continue
            result["repeated" if repeated else "notified"] += 1
            try:  # the messages still to go (a repeat sends only what an earlier try left pending)
                self._deliver(cause, "ops_alert", recipients, create=False)
            except TemporaryFailure as exc:
                log.warning("alert %s not sent yet (%s): Alertmanager is asked to try again", cause["event_id"], exc)
                result["retry_later"] += 1
            except GaveUp as exc:
                log.error("alert %s failed for good: %s", cause["event_id"], exc)
                result["failed"] += 1
        return result

    @staticmethod
    def _ops_alert_due(session, context: dict, window_seconds: float) -> bool:
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

    # --- staff views -----------------------------------------------------------------------------------

    @rpc
    def list_notifications(self, limit=200, person_id=None):
        """The message log, newest first: what went to whom, why, and how it went."""
        limit = max(1, min(int(limit or 200), 1000))
        with self.db.unit_of_work() as uow:
            query = select(messages).order_by(messages.c.created_at.desc()).limit(limit)
            if person_id:
                query = query.where(messages.c.person_id == person_id)
            rows = uow.session.execute(query).all()
        return [
            {
                "notification_id": row.notification_id, "template": row.template, "channel": row.channel,
                "recipient": row.recipient, "person_id": row.person_id, "language": row.language,
                "cause_event_id": row.cause_event_id, "cause_event_type": row.cause_event_type,
                "status": row.status, "attempts": row.attempts, "subject": row.subject, "error": row.error,
                "created_at": row.created_at.isoformat(), "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            }
            for row in rows
        ]

    @rpc
    def list_captured_mail(self, limit=100):
        limit = max(1, min(int(limit or 100), 1000))
        with self.db.unit_of_work() as uow:
            rows = uow.session.execute(
                select(captured_mail.c.id, captured_mail.c.recipient, captured_mail.c.subject,
                       captured_mail.c.captured_at, captured_mail.c.notification_id)
                .order_by(captured_mail.c.id.desc()).limit(limit)
            ).all()
        return [{"id": r.id, "recipient": r.recipient, "subject": r.subject, "notification_id": r.notification_id,
                 "captured_at": r.captured_at.isoformat()} for r in rows]

    @rpc
    def get_captured_mail(self, mail_id):
        try:
            mail_id = int(mail_id)
        except (TypeError, ValueError):
            return None
        with self.db.unit_of_work() as uow:
            row = uow.session.execute(select(captured_mail).where(captured_mail.c.id == mail_id)).first()
        if row is None:
            return None
        parsed = email.message_from_bytes(row.raw, policy=policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        return {
            "id": row.id, "recipient": row.recipient, "subject": row.subject,
            "captured_at": row.captured_at.isoformat(), "notification_id": row.notification_id,
            "from": str(parsed["From"]), "language": str(parsed["Content-Language"] or ""),
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
            "attachments": [part.get_filename() for part in parsed.iter_attachments()],
        }

    # --- delivery --------------------------------------------------------------------------------------

    def _people(self, contacts, **extra) -> list[domain.Recipient]:
        base = self.config.get("PUBLIC_BASE_URL") or ""
        people = (domain.person_recipient(contact, base, extra) for contact in contacts or ())
        return [person for person in people if person is not None]

    def _deliver(self, cause: dict, template: str, recipients: list[domain.Recipient], create: bool = True):
        """Send `template` to each recipient once; raise if some message must be retried or failed for good."""
        temporary, permanent = [], []
        for recipient in recipients:
            failure = self._deliver_one(cause, template, recipient, create)
            if failure is None:
                continue
            exc, final = failure
            (permanent if final else temporary).append(f"{recipient.ref}: {exc}")
        self._drop_former_recipients(cause, template, {recipient.ref for recipient in recipients})
        if temporary:
            raise TemporaryFailure(f"{len(temporary)} message(s) to retry: {'; '.join(temporary)[:400]}")
        if permanent:
            raise GaveUp(f"{len(permanent)} message(s) failed: {'; '.join(permanent)[:400]}")

    def _drop_former_recipients(self, cause: dict, template: str, recipients: set[str]) -> None:
        """Close the unfinished messages of this cause to people who are recipients no longer: a worker
        that died while sending one left it "sending", and by the event's redelivery the registration was
        cancelled (or the person erased), so nothing else would ever finish it. Looked for on a read
        session first: almost always there is none, and every event goes through here."""
        former = and_(messages.c.cause_event_id == cause["event_id"], messages.c.template == template,
                      messages.c.status.in_((domain.PENDING, domain.SENDING)),
                      messages.c.recipient.not_in(recipients))
        with self.db.read() as session:
            if session.execute(select(messages.c.notification_id).where(former).limit(1)).first() is None:
                return
        with self.db.unit_of_work() as uow:
            uow.session.execute(update(messages).where(former).values(
                status=domain.DROPPED, error="no longer a recipient", email=None, claim=None, updated_at=utcnow()))

    def _deliver_many(self, template: str, jobs: list[tuple[dict, domain.Recipient]]):
        """`_deliver` for a batch of (cause event, recipient): one transaction claims every log row, the
        messages go out in parallel over the pooled SMTP connections (the send rate still holds), one
        transaction records every outcome with its `notification.sent`.

        A message that fails (or whose row another worker holds) is left pending, uncounted, and the
        batch raises: the kernel then handles each event of the batch on its own (`_deliver`), which
        skips what was sent here and retries, fails or dead-letters the rest as it always does."""
        claim, claimed, busy = self._claim_rows(template, jobs)
        outcomes = list(GreenPool(max(1, self.delivery.settings.smtp_connections)).imap(
            lambda item: self._send_claimed(template, *item), claimed))
        sent = [outcome for outcome in outcomes if outcome[1] is None]
        failed = [(outcome[0], outcome[1]) for outcome in outcomes if outcome[1] is not None]
        now = utcnow()
        with self.db.unit_of_work() as uow:
            sent = self._still_held(uow.session, claim, sent)
            if sent:
                uow.session.execute(
                    update(messages).where(messages.c.notification_id == bindparam("b_id")).values(
                        status=domain.SENT, sent_at=now, error=None, email=None, claim=None, updated_at=now,
                        attempts=bindparam("b_attempts"), subject=bindparam("b_subject")),
                    [{"b_id": row.notification_id, "b_attempts": row.attempts + 1, "b_subject": subject[:300]}
                     for row, _, subject, _, _ in sent])
                uow.emit_many("notification.sent", [{
                    "notification_id": row.notification_id, "channel": row.channel, "template": row.template,
                    "cause_event_id": row.cause_event_id,
                } for row, *_ in sent])
                for row, _, subject, raw, recipient in sent:
                    if raw is not None:
                        uow.session.execute(insert(captured_mail).values(
                            notification_id=row.notification_id, person_id=row.person_id,
                            recipient=recipient.address, subject=subject[:300], raw=raw, captured_at=now,
                        ))
            if failed:  # handed back untouched: the one-event path sends and counts them
                uow.session.execute(
                    update(messages).where(messages.c.notification_id.in_([row.notification_id for row, _ in failed]))
                    .where(_held_by(claim)).values(status=domain.PENDING, claim=None, updated_at=now))
        if failed or busy:
            reasons = [f"{row.recipient}: {exc}" for row, exc in failed] + [f"{ref}: being sent by another worker"
                                                                            for ref in busy]
            raise TemporaryFailure(f"{len(reasons)} message(s) to hand over one event at a time: "
                                   f"{'; '.join(reasons)[:400]}")

    @staticmethod
    def _still_held(session, claim: str, sent: list) -> list:
        """The messages of `sent` still held by `claim`, locked until the transaction ends: one whose
        lease ran out meanwhile belongs to the worker that took it over, which records it."""
        ids = [row.notification_id for row, *_ in sent]
        held = set()
        for start in range(0, len(ids), KEY_CHUNK):
            held.update(session.execute(
                select(messages.c.notification_id).where(messages.c.notification_id.in_(ids[start:start + KEY_CHUNK]))
                .where(_held_by(claim)).with_for_update()).scalars())
        for row, *_ in sent:
            if row.notification_id not in held:
                log.warning("%s %s: sent after its lease ran out; left to the worker that took it over",
                            row.template, row.notification_id)
        return [outcome for outcome in sent if outcome[0].notification_id in held]

    def _claim_rows(self, template, jobs):
        """In one transaction: each job's log row, made (status "sending") if new, else taken if pending
        (or left by a dead worker); rows sent or failed before are skipped. (claim, claimed, busy refs)."""
        wanted: dict[str, tuple[dict, domain.Recipient]] = {}
        for cause, recipient in jobs:
            wanted.setdefault(domain.dedup_key(cause["event_id"], recipient.ref, template), (cause, recipient))
        keys = list(wanted)
        claimed, busy = [], []
        now, claim = utcnow(), str(uuid.uuid4())
        with self.db.unit_of_work() as uow:
            session = uow.session

            def rows_of(some_keys):
                found = {}
                for start in range(0, len(some_keys), KEY_CHUNK):
                    found.update((row.dedup_key, row) for row in session.execute(
                        select(messages).where(messages.c.dedup_key.in_(some_keys[start:start + KEY_CHUNK]))))
                return found

            existing = rows_of(keys)
            new = [key for key in keys if key not in existing]
            if new:
                session.execute(insert(messages), [{
                    "notification_id": str(uuid.uuid4()), "dedup_key": key, "template": template,
                    "channel": recipient.channel, "recipient": recipient.ref, "person_id": recipient.person_id,
                    "language": recipient.language, "cause_event_id": cause["event_id"],
                    "cause_event_type": cause.get("event_type"), "status": domain.SENDING, "attempts": 0,
                    "claim": claim, "email": recipient.address if recipient.channel == "email" else None,
                    "created_at": now, "updated_at": now,
                } for key in new for cause, recipient in (wanted[key],)])
                made = rows_of(new)
                claimed += [(made[key], wanted[key][0], wanted[key][1]) for key in new]
            for key, row in existing.items():
                if row.status in domain.FINAL:
                    continue  # sent (or given up) before: a redelivered event sends nothing twice
                taken = session.execute(
                    update(messages).where(messages.c.notification_id == row.notification_id)
                    .where(self._takeable(now)).values(status=domain.SENDING, claim=claim, updated_at=now)
                ).rowcount == 1
                if taken:
                    claimed.append((row, *wanted[key]))
                else:
                    busy.append(row.recipient)
        return claim, claimed, busy

    def _send_claimed(self, template, row, cause, recipient):
        """Render and send one claimed message: (row, None, subject, raw, recipient) or (row, failure)."""
        try:
            rendered = rendering.render(template, recipient.language, recipient.context)
            raw = None
            if recipient.channel == "email":
                message = rendering.email_message(rendered, self.delivery.settings.mail_from, recipient.address,
                                                  row.notification_id)
                raw = self.delivery.send_email(message, recipient.address)
            else:
                self.delivery.post_webhook(
                    recipient.address,
                    domain.webhook_body(rendered.subject, rendered.text, recipient.context, cause["event_id"]),
                )
        except Exception as exc:  # noqa: BLE001 - handed over to the one-event path, which sorts it out
            log.warning("%s %s to %s not sent in its batch (%s); handed over", template, row.notification_id,
                        recipient.ref, type(exc).__name__)
            return row, exc
        return row, None, rendered.subject, raw, recipient

    def _claim_row(self, session, cause: dict, template: str, recipient: domain.Recipient, create: bool = True,
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

    def _deliver_one(self, cause, template, recipient, create):
        claim = str(uuid.uuid4())
        with self.db.unit_of_work() as uow:
            row = self._claim_row(uow.session, cause, template, recipient, create=False)
            made_here = row is None and create
            if made_here:  # made already taken by this worker (status "sending"): one transaction less
                row = self._claim_row(uow.session, cause, template, recipient, claim=claim)
        if row is None or row.status in domain.FINAL:
            return None  # sent (or given up) before: a redelivered event sends nothing twice
        notification_id = row.notification_id
        if not made_here and not self._take(row, claim):
            # another worker is sending it right now (the same event delivered twice at once), or died
            # while sending; past the last attempt the event is dead-lettered, never acked: a replay
            # after the lease sends it, or finds it sent
            held = TemporaryFailure("being sent by another worker")
            return held, self.delivery.attempt >= self.delivery.max_attempts
        rendered = rendering.render(template, recipient.language, recipient.context)
        settings = self.delivery.settings
        raw = None
        try:
            if recipient.channel == "email":
                message = rendering.email_message(rendered, settings.mail_from, recipient.address, notification_id)
                raw = self.delivery.send_email(message, recipient.address)
            else:
                self.delivery.post_webhook(
                    recipient.address,
                    domain.webhook_body(rendered.subject, rendered.text, recipient.context, cause["event_id"]),
                )
        except DeliveryFailure as exc:
            attempt = max(self.delivery.attempt, row.attempts + 1)
            final = isinstance(exc, PermanentFailure) or attempt >= self.delivery.max_attempts
            self._record(row, claim, rendered.subject, failure=str(exc), final=final)
            log.warning("%s %s to %s failed (%s, attempt %d%s)", template, notification_id, recipient.ref, exc,
                        attempt, ", giving up" if final else "")
            return exc, final
        self._record(row, claim, rendered.subject, raw=raw, recipient=recipient)
        return None

    def _takeable(self, now):
        """A message no worker holds: pending, or "sending" by a worker silent for longer than the lease
        (one that died while sending; the lease outlasts the slowest SMTP exchange)."""
        lease = timedelta(seconds=3 * self.delivery.settings.smtp_timeout + 5)
        return or_(messages.c.status == domain.PENDING,
                   and_(messages.c.status == domain.SENDING, messages.c.updated_at < now - lease))

    def _take(self, row, claim: str) -> bool:
        """Mark the row as being sent under `claim`; False when another worker holds it."""
        now = utcnow()
        with self.db.unit_of_work() as uow:
            result = uow.session.execute(
                update(messages).where(messages.c.notification_id == row.notification_id)
                .where(self._takeable(now)).values(status=domain.SENDING, claim=claim, updated_at=now)
            )
            return result.rowcount == 1

    def _record(self, row, claim, subject, failure=None, final=False, raw=None, recipient=None):
        """The outcome of sending under `claim`; nothing when the lease ran out meanwhile and another
        worker took the message over (that one records it: counted and captured once)."""
        now = utcnow()
        values = {"attempts": row.attempts + 1, "updated_at": now, "subject": subject[:300], "claim": None}
        if failure is None:
            values.update(status=domain.SENT, sent_at=now, error=None, email=None)
        else:
            values.update(error=failure[:ERROR_LIMIT], status=domain.FAILED if final else domain.PENDING)
            if final:
                values["email"] = None
        with self.db.unit_of_work() as uow:
            held = uow.session.execute(
                update(messages).where(messages.c.notification_id == row.notification_id)
                .where(_held_by(claim)).values(**values)
            ).rowcount == 1
            if not held:
                log.warning("%s %s: %s after its lease ran out; left to the worker that took it over",
                            row.template, row.notification_id, "failed" if failure else "sent")
                return
            if failure is None or final:
                uow.emit("notification.sent" if failure is None else "notification.failed", {
                    "notification_id": row.notification_id, "channel": row.channel, "template": row.template,
                    "cause_event_id": row.cause_event_id,
                })
            if raw is not None:
                uow.session.execute(insert(captured_mail).values(
                    notification_id=row.notification_id, person_id=row.person_id, recipient=recipient.address,
                    subject=subject[:300], raw=raw, captured_at=now,
                ))

    def _has_pending(self, cause_event_id: str) -> bool:
        with self.db.unit_of_work() as uow:
            return uow.session.execute(
                select(messages.c.notification_id).where(messages.c.cause_event_id == cause_event_id)
                .where(messages.c.status.in_((domain.PENDING, domain.SENDING))).limit(1)
            ).first() is not None

    # --- the activity schedule -------------------------------------------------------------------------

    def _schedule(self, activity_id, session=None, lock: bool = False):
        query = select(activity_schedule).where(activity_schedule.c.activity_id == activity_id)
        if session is not None:
            if lock:  # PostgreSQL: the activity's events (two queues) apply one after the other
                query = query.with_for_update()
            return session.execute(query).first()
        with self.db.unit_of_work() as uow:
            return uow.session.execute(query).first()

    def _apply_times(self, session, activity_id, stamp, starts_at, ends_at, scheduled: bool) -> tuple[str | None, int]:
        """domain.times_change applied to the activity's row: (the update whose move is to be told, sequence)."""
        row = self._schedule(activity_id, session, lock=True)
        change = domain.times_change(_known(row), stamp, starts_at, ends_at, scheduled)
        if row is None:
            try:
                with session.begin_nested():
                    sequence = self._store_schedule(session, activity_id, None, change, stamp, starts_at, ends_at)
                return change.moved_by, sequence
            except IntegrityError:  # made meanwhile by the handler of its other event (PostgreSQL): apply to that
                return self._apply_times(session, activity_id, stamp, starts_at, ends_at, scheduled)
        return change.moved_by, self._store_schedule(session, activity_id, row, change, stamp, starts_at, ends_at)

    @staticmethod
    def _store_schedule(session, activity_id, row, change: domain.TimesChange, stamp, starts_at, ends_at) -> int:
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


def _known(row) -> domain.KnownTimes | None:
    if row is None:
        return None
    return domain.KnownTimes(row.starts_at, row.ends_at, row.times_at, row.times_event_id, bool(row.move_unknown))


def _held_by(claim: str):
    """The message is being sent under `claim`."""
    return and_(messages.c.status == domain.SENDING, messages.c.claim == claim)
