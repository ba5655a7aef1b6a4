"""Notifications service: every message a person or the on-call staff gets from the platform.

Thin nameko layer: event handlers (one per event type) ask the owning service for the
recipient's details at send time (RPC) and hand over to `sending` (each message once, claimed,
sent and recorded with `notification.sent` / `notification.failed` in the outbox); the SQL is in
`repository`, the rules in `domain`. The participants' registration and survey mails come in
bursts (a registration opening, every attendee of an activity) and are batch consumers: one RPC
for a batch's recipients, one transaction claiming and one recording its messages
(`sending.deliver_many`); an event alone, or one of a failed batch, goes the one-event way
(`sending.deliver`).
"""
from __future__ import annotations

import email
import logging
from datetime import datetime, timedelta
from email import policy

from nameko.dependency_providers import Config
from nameko.timer import Timer

from kernel import health
from kernel.config import answer_within_working_days
from kernel.consumer import batch_event_handler, event_handler
from kernel.dependencies import Database
from kernel.envelope import event_stamp
from kernel.errors import NotFound
from kernel.rpc import RpcProxy, rpc
from kernel.tables import utcnow
from services.notifications import domain, repository, sending
from services.notifications.delivery import Settings, TemporaryFailure
from services.notifications.sending import Delivery, GaveUp

log = logging.getLogger(__name__)

REGISTRATION_BATCH = 200  # registration mail events per batch worker
REGISTRATION_WAIT_MS = 100  # how long a batch of them may gather: a confirmation is awaited
SURVEY_BATCH = 250  # survey mail events per batch worker
SURVEY_WAIT_MS = 300  # how long a batch of survey mail events may gather (they come in waves; no hurry)


class ReminderTimer(Timer):
    """nameko's timer with its interval from NOTIFICATIONS.REMINDER_CHECK_SECONDS."""

    def setup(self):
        self.interval = Settings.from_config(self.container.config).reminder_check_seconds
        super().setup()


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

    # A registration opening brings hundreds of registrations within seconds: batch consumers, so a
    # batch of N events costs one RPC, one claiming and one recording transaction (_registration_mails).
    # Same queue names as the one-event handlers they replaced (one binding each).
    @batch_event_handler([("registration", "registration.created")],
                         max_batch=REGISTRATION_BATCH, max_wait_ms=REGISTRATION_WAIT_MS)
    def on_registration_created(self, events):
        self._registration_mails(events)

    @batch_event_handler([("registration", "registration.confirmed")],
                         max_batch=REGISTRATION_BATCH, max_wait_ms=REGISTRATION_WAIT_MS)
    def on_registration_confirmed(self, events):
        self._registration_mails(events)

    @batch_event_handler([("registration", "registration.cancelled")],
                         max_batch=REGISTRATION_BATCH, max_wait_ms=REGISTRATION_WAIT_MS)
    def on_registration_cancelled(self, events):
        self._registration_mails(events, include_cancelled=True)

    def _registration_mails(self, events, include_cancelled: bool = False):
        """Each participant's mail about their registration (domain.registration_template: none for a
        walk-in or a cancellation by the system), with their details at send time (a cancelled
        registration's only with `include_cancelled`), all asked in one RPC. A batch goes out with
        `_deliver_many`; a lone event (also each event of a failed batch, which the kernel hands over
        one at a time, with its attempt number) with `_deliver`, which counts its failures."""
        told = [(event, template) for event in events if (template := domain.registration_template(event))]
        if not told:
            return
        contacts = self.registration.contacts_for_registrations(
            [event["data"]["registration_id"] for event, _ in told], include_cancelled=include_cancelled) or {}
        jobs = [sending.Job(event, template, self._people([contacts.get(event["data"]["registration_id"])]))
                for event, template in told]
        if len(events) == 1:
            self._deliver(*jobs[0])
        else:
            self._deliver_many(jobs)

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
        known = repository.known_times(self._schedule(activity_id))
        if domain.times_change(known, stamp, starts_at, ends_at, scheduled).moved_by:
            contacts = self.registration.contacts_for_activity(activity_id)  # asked before the transaction
        moved_by, row = None, None
        with self.db.unit_of_work() as uow:
            claimed = uow.claim(event)
            if claimed:
                moved_by, sequence = repository.apply_times(uow.session, activity_id, stamp, starts_at, ends_at,
                                                            scheduled)
                if moved_by:
                    if contacts is None:
                        contacts = self.registration.contacts_for_activity(activity_id)
                    cause = {"event_id": moved_by, "event_type": "activity.updated"}
                    for recipient in self._people(contacts, sequence=sequence):
                        repository.message_row(uow.session, cause, "activity_moved", recipient)
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

    def _schedule(self, activity_id):
        with self.db.unit_of_work() as uow:
            return repository.schedule_row(uow.session, activity_id)

    def _has_pending(self, cause_event_id: str) -> bool:
        with self.db.unit_of_work() as uow:
            return repository.has_pending(uow.session, cause_event_id)

    @event_handler("registration", "activity.cancelled")
    def on_activity_cancelled(self, event):
        data = event["data"]
        with self.db.unit_of_work() as uow:
            if uow.claim(event):
                repository.cancel_schedule(uow.session, data["activity_id"])
        contacts = self.registration.contacts_for_activity(data["activity_id"])
        self._deliver(event, "activity_cancelled", self._people(contacts, reason=data["reason"]))

    # Survey mails come in waves (every attendee of an activity at once): batch consumers, so a batch
    # of N events costs two RPCs, one claiming and one recording transaction (see _survey_mails).
    @batch_event_handler([("evaluation", "evaluation.requested")], max_batch=SURVEY_BATCH, max_wait_ms=SURVEY_WAIT_MS)
    def on_evaluation_requested(self, events):
        self._survey_mails(events, "evaluation_invitation")

    @batch_event_handler([("evaluation", "evaluation.midway_requested")],
                         max_batch=SURVEY_BATCH, max_wait_ms=SURVEY_WAIT_MS)
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
            jobs.append(sending.Job(event, template, self._people(
                [contact], survey_url=f"{invitation['survey_url']}?lang={language}")))
        self._deliver_many(jobs)

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
        with self.db.unit_of_work() as uow:
            uow.claim(event)
            repository.erase_person(uow.session, event["data"]["person_id"])

    @event_handler("requests", "request.requester_erased")
    def on_requester_erased(self, event):
        """A requester's contact details were erased: the log of messages to them and the mail kept
        for them go."""
        with self.db.unit_of_work() as uow:
            uow.claim(event)
            repository.erase_requester(uow.session, event["data"]["request_id"])

    @rpc
    def export_person(self, person_id):
        """What the log holds about a participant (GDPR export): their messages (template, subject,
        status, times) and the mail kept for them (recipient, subject); no bodies."""
        if not isinstance(person_id, str) or not person_id or len(person_id) > 64:
            return {"messages": [], "captured_mail": []}
        with self.db.read() as session:
            return repository.export_person(session, person_id)

    @rpc
    def export_requester(self, request_id):
        """The same for the requester of a request."""
        if not isinstance(request_id, str) or not request_id or len(request_id) > 64:
            return {"messages": [], "captured_mail": []}
        with self.db.read() as session:
            return repository.export_requester(session, request_id)

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
            due = repository.due_reminders(uow.session, now, horizon)
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
                repository.mark_reminded(uow.session, activity_id, starts_at)

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
                if repository.kpi_alert_due(uow.session, context, now, settings.alert_dedup_seconds):
                    for recipient in recipients:
                        repository.message_row(uow.session, event, "kpi_alert", recipient)
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
                session = uow.session
                repeated = repository.message_row(session, cause, "ops_alert", recipients[0], create=False) is not None
                due = not repeated and repository.ops_alert_due(session, context, settings.alert_dedup_seconds)
                if due:
                    for recipient in recipients:
                        repository.message_row(session, cause, "ops_alert", recipient)
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

    # --- staff views -----------------------------------------------------------------------------------

    @rpc
    def list_notifications(self, limit=200, person_id=None):
        """The message log, newest first: what went to whom, why, and how it went."""
        limit = max(1, min(int(limit or 200), 1000))
        with self.db.unit_of_work() as uow:
            return repository.list_messages(uow.session, limit, person_id)

    @rpc
    def list_captured_mail(self, limit=100):
        limit = max(1, min(int(limit or 100), 1000))
        with self.db.unit_of_work() as uow:
            return repository.list_captured_mail(uow.session, limit)

    @rpc
    def get_captured_mail(self, mail_id):
        try:
            mail_id = int(mail_id)
        except (TypeError, ValueError):
            return None
        with self.db.unit_of_work() as uow:
            row = repository.captured_mail_row(uow.session, mail_id)
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

    # --- recipients and delivery -----------------------------------------------------------------------

    def _people(self, contacts, **extra) -> list[domain.Recipient]:
        base = self.config.get("PUBLIC_BASE_URL") or ""
        people = (domain.person_recipient(contact, base, extra) for contact in contacts or ())
        return [person for person in people if person is not None]

    def _deliver(self, cause: dict, template: str, recipients: list[domain.Recipient], create: bool = True):
        sending.deliver(self.db, self.delivery, cause, template, recipients, create)

    def _deliver_many(self, jobs: list[sending.Job]):
        sending.deliver_many(self.db, self.delivery, jobs)
