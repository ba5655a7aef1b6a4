"""The audit trail: who changed what, and when. A page that changes something calls `record` after
the change succeeded, naming the action ("activity.created", one of the accounts service's
AUDIT_ACTIONS), the kind of thing changed and its id; a JSON API route says the same with
`@audited`. The account comes from the request's Viewer (services.gateway.core.auth), a machine
token as "machine:<role>". The accounts service keeps the log (its `record_audit` RPC) and stamps
the time."""
from __future__ import annotations

import logging
from functools import wraps

from nameko.exceptions import UnknownService

from kernel.errors import ServiceUnavailable
from services.gateway.core.auth import ROLES, Viewer, viewer_of

log = logging.getLogger(__name__)


def actor_of(viewer: Viewer) -> dict:
    """{"account_id", "name"} of the viewer: their account, or the machine token of their highest role."""
    if viewer.account_id is not None:
        return {"account_id": viewer.account_id, "name": viewer.name or viewer.email or viewer.account_id}
    role = next((role for role in reversed(ROLES) if viewer.may(role)), "none")
    return {"account_id": None, "name": f"machine:{role}"}


def record(service, request, action: str, subject_type: str, subject_id: str | None = None, **details) -> None:
    """Write one line of the audit log for the change `request` made (details: small, no personal data).

    The change is made by then: when the accounts service does not answer, the person is not told
    it failed (they would do it twice); the line is logged instead, for the record."""
    entry = {"actor": actor_of(viewer_of(request)), "action": action, "subject_type": subject_type,
             "subject_id": None if subject_id is None else str(subject_id), "details": details}
    try:
        service.accounts.record_audit(entry)
    except (ServiceUnavailable, UnknownService):  # slow, or not running at all
        log.error("audit line not written (accounts did not answer): %s", entry)


def audited(action: str, subject_type: str, subject_key: str | None = None, answer_key: str | None = None):
    """Decorate a JSON API entrypoint, between @api and @require: once it has answered without an
    error, record `action` on its subject, the route's `subject_key` argument, else the answer's
    `answer_key` (`<subject_type>_id` unless said; none for an export)."""
    def decorate(handler):
        @wraps(handler)
        def wrapper(self, request, *args, **kwargs):
            result = handler(self, request, *args, **kwargs)
            body = result[1] if isinstance(result, tuple) else result
            if subject_key is not None:
                subject_id = kwargs.get(subject_key, args[0] if args else None)
            else:
                subject_id = body.get(answer_key or f"{subject_type}_id") if isinstance(body, dict) else None
            record(self, request, action, subject_type, subject_id)
            return result

        return wrapper

    return decorate
