"""Notification rules in plain Python: who gets which message for which event, the
de-duplication keys, alert suppression and the webhook body. No nameko, no database."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

SENT, PENDING, SENDING, FAILED, DROPPED = "sent", "pending", "sending", "failed", "dropped"
# dropped: begun, then its recipient was no longer one (registration cancelled, person erased)
FINAL = (SENT, FAILED, DROPPED)

# registration.created's status -> template
CREATED_TEMPLATES = {"confirmed": "registration_confirmed", "waitlisted": "waitlisted"}


def registration_template(event: dict) -> str | None:
    """The mail a participant gets about a registration event; None: none. A walk-in was added on the
    attendance sheet after coming (there is no registration to confirm); a cancellation by the system
    is the activity's (activity_cancelled tells them)."""
    data = event["data"]
    if event["event_type"] == "registration.created":
        return None if data.get("walk_in") else CREATED_TEMPLATES[data["status"]]
    if event["event_type"] == "registration.confirmed":
        return "promoted"
    return None if data["cancelled_by"] == "system" else "registration_cancelled"


@dataclass
class Recipient:
    ref: str  # "person:<id>", "staff:<address>", "webhook:<digest>"
    channel: str  # email | webhook
    address: str
    language: str
    context: dict = field(default_factory=dict)
    person_id: str | None = None


def dedup_key(cause_event_id: str, recipient_ref: str, template: str) -> str:
    """One message per (cause event, recipient, template)."""
    return hashlib.sha256(f"{cause_event_id}\x1f{recipient_ref}\x1f{template}".encode()).hexdigest()


def person_recipient(contact: dict, public_base_url: str, extra: dict | None = None) -> Recipient | None:
    """A participant from registration's contact details (None: nobody to write to)."""
    if not contact or not contact.get("email"):
        return None
    context = {
        "name": contact.get("name"),
        "activity": contact.get("activity"),
        "waitlist_position": contact.get("waitlist_position"),
        "cancel_url": cancel_url(public_base_url, contact.get("cancel_token")),
        **(extra or {}),
    }
    return Recipient(
        ref=f"person:{contact['person_id']}", channel="email", address=contact["email"],
        language=contact.get("language") or "nl", context=context, person_id=contact["person_id"],
    )


def requester_recipient(request_id: str, contact: dict | None, extra: dict | None = None) -> Recipient | None:
    """Whoever asked the centre for support, from the requests service's contact details (None: no
    address to write to, e.g. a request taken by phone without one). One recipient per request."""
    if not contact or not contact.get("email"):
        return None
    return Recipient(
        ref=requester_ref(request_id), channel="email", address=contact["email"],
        language=contact.get("language") or "nl", context={"name": contact.get("name"), **(extra or {})},
    )


def requester_ref(request_id: str) -> str:
    """The log's recipient key of a request's requester: the request, never their address, so the
    messages can be found (and purged on `request.requester_erased`) without it."""
    return f"request:{request_id}"


def cancel_url(public_base_url: str, token: str | None) -> str | None:
    if not token:
        return None
    return f"{str(public_base_url or '').rstrip('/')}/registrations/{token}/cancel"


def webhook_ref(url: str) -> str:
    """Webhook URLs often hold a secret: the log keeps a digest, not the URL."""
    return "webhook:" + hashlib.sha256(url.encode()).hexdigest()[:16]


def alert_recipients(emails, webhook_urls, language: str, context: dict) -> list[Recipient]:
    recipients = [Recipient(f"staff:{address}", "email", address, language, context) for address in emails]
    recipients += [Recipient(webhook_ref(url), "webhook", url, language, context) for url in webhook_urls]
    return recipients


def alert_kind(event_type: str) -> str:
    return "recovered" if event_type.endswith("recovered") else "breached"


def alert_due(last_sent_at: datetime | None, now: datetime, window_seconds: float) -> bool:
    """At most one alert per (kpi, scope, kind) within the window: a flapping KPI floods no one."""
    return last_sent_at is None or now - last_sent_at >= timedelta(seconds=window_seconds)


def alert_context(event: dict) -> dict:
    data = event["data"]
    return {
        "kind": alert_kind(event["event_type"]),
        "kpi": data["kpi"], "scope": data["scope"], "value": data.get("value"), "threshold": data["threshold"],
    }


def webhook_body(subject: str, text: str, context: dict, event_id: str | None) -> dict:
    """JSON Mattermost and Slack incoming webhooks accept: `text` is what they show."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    props = {"kind": context.get("kind"), "kpi": context.get("kpi"), "scope": context.get("scope"),
             "value": context.get("value"), "threshold": context.get("threshold"), "event_id": event_id}
    props.update({key: context[key] for key in OPS_ALERT_PROPS if key in context})
    return {"text": f"**{subject}**\n{first}", "props": props}


# --- overdue requests (request.overdue) -----------------------------------------------------------------


def overdue_context(data: dict, answer_within: int, public_base_url: str) -> dict:
    """What the staff reminder of an overdue request says: its number, when it came in, the last day
    of the term and where to find it on the desk; nothing about the requester."""
    due = datetime.fromisoformat(str(data["answer_due_at"]))
    return {
        "request_id": data["request_id"], "received_at": data["received_at"],
        "last_day": (due - timedelta(seconds=1)).isoformat(),  # the term ends at midnight after its last day
        "answer_within": answer_within,
        "desk_url": f"{str(public_base_url or '').rstrip('/')}/api/staff/requests/{data['request_id']}",
    }


def overdue_recipients(assignee: dict | None, desk_emails, language: str, context: dict) -> list[Recipient]:
    """The colleague the request is assigned to (when known, active and with an address), else the desk."""
    if assignee and assignee.get("email"):
        return [Recipient(f"staff:{assignee['email']}", "email", assignee["email"], language,
                          {**context, "name": assignee.get("name"), "assigned": True})]
    return [Recipient(f"staff:{address}", "email", address, language, {**context, "name": None, "assigned": False})
            for address in desk_emails]


# --- Alertmanager's alerts (the gateway's webhook) ------------------------------------------------------

OPS_ALERT_KPI = "alertmanager"  # alert_state.kpi of Alertmanager's alerts (scope: the fingerprint)
OPS_ALERT_PROPS = ("alertname", "severity", "fingerprint", "status")


def ops_alert_context(alert: dict) -> dict:
    """An Alertmanager alert as the ops_alert template shows it (labels and annotations, no more)."""
    labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
    annotations = {str(k): str(v) for k, v in (alert.get("annotations") or {}).items()}
    status = alert["status"]
    return {
        "kind": status, "status": status, "fingerprint": alert["fingerprint"],
        "alertname": labels.get("alertname", ""), "severity": labels.get("severity"),
        "summary": annotations.get("summary"), "description": annotations.get("description"),
        "runbook_url": annotations.get("runbook_url"),
        "labels": [f"{key}={labels[key]}" for key in sorted(labels) if key not in ("alertname", "severity")],
        "starts_at": alert["startsAt"],
        "ends_at": alert.get("endsAt") if status == "resolved" else None,
    }


def ops_alert_cause(context: dict) -> str:
    """The cause of an ops alert message (no event): this alert (fingerprint), this status, this firing
    episode (its start). Alertmanager repeating the same notification finds the same cause."""
    started = datetime.fromisoformat(str(context["starts_at"])).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"alertmanager:{context['fingerprint']}:{context['status']}:{started}"


def ops_alert_due(status: str, firing_sent_at: datetime | None, resolved_sent_at: datetime | None, now: datetime,
                  window_seconds: float) -> bool:
    """Firing: at most once per alert (fingerprint) within the window, so a flapping alert floods no one.
    Resolved: once, and only after a firing message someone got (not yet followed by its resolution)."""
    if status == "firing":
        return alert_due(firing_sent_at, now, window_seconds)
    return firing_sent_at is not None and (resolved_sent_at is None or resolved_sent_at < firing_sent_at)


def moved(known_starts_at: datetime | None, known_ends_at: datetime | None, starts_at: datetime,
          ends_at: datetime) -> bool:
    """An update moves the activity when we knew its dates and they changed."""
    if known_starts_at is None:
        return False
    return (known_starts_at, known_ends_at) != (starts_at, ends_at)


# --- an activity's times (activity.scheduled / activity.updated, on two queues: any order) ------------


def newer(event_stamp: tuple[datetime, str], at: datetime | None, event_id: str | None) -> bool:
    """`event_stamp` is after the stored (at, event_id); a row stored without a stamp is older than any."""
    return at is None or event_stamp > (at, event_id or "")


@dataclass(frozen=True)
class KnownTimes:
    """An activity's stored times, the event they come from, and whether a move by it is still unknown."""
    starts_at: datetime
    ends_at: datetime
    at: datetime | None
    event_id: str | None
    move_unknown: bool = False


@dataclass(frozen=True)
class TimesChange:
    store: bool  # the event's times (and stamp) replace the stored ones
    moved_by: str | None  # the update whose move the registrants are told of now (None: no mail)
    move_unknown: bool  # the row's move_unknown afterwards


def times_change(known: KnownTimes | None, event_stamp: tuple[datetime, str], starts_at: datetime,
                 ends_at: datetime, scheduled: bool) -> TimesChange:
    """What one activity.scheduled (`scheduled`) or activity.updated does to the stored times, whatever
    the order they come in: the newest version's times are kept, and a move is told once, caused by the
    update that made it (the dedup key of its mails, whichever event finds it out)."""
    if known is None:
        # nothing to compare with: an update handled first may have moved the activity; the next
        # version to come (the activity.scheduled at the latest) tells
        return TimesChange(store=True, moved_by=None, move_unknown=not scheduled)
    differs = moved(known.starts_at, known.ends_at, starts_at, ends_at)
    # activity.scheduled is each activity's first version: a stored row comes from a later one
    # (also a row stored before stamps were kept)
    if not scheduled and newer(event_stamp, known.at, known.event_id):
        return TimesChange(store=True, moved_by=event_stamp[1] if differs else None,
                           move_unknown=known.move_unknown and not differs)
    # an older version: the stored times stay; if nothing was compared with them yet, they moved the
    # activity when they differ (an equal older update says nothing about the versions before it)
    if known.move_unknown and differs:
        return TimesChange(store=False, moved_by=known.event_id, move_unknown=False)
    return TimesChange(store=False, moved_by=None, move_unknown=known.move_unknown and not scheduled)


def reminder_cause(activity_id: str, starts_at: datetime) -> str:
    """The cause of a reminder (no event): the activity at this start; a moved one is reminded again."""
    return f"reminder:{activity_id}:{starts_at.strftime('%Y%m%dT%H%M%SZ')}"
