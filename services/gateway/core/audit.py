"""The audit trail: who changed what, and when. A route that changes something calls `record`
after the change succeeded, naming the action ("activity.created"), the kind of thing changed
and its id; the account comes from the request's Viewer (services.gateway.core.auth).

Placeholder until the accounts service keeps the log: records nothing yet."""
from __future__ import annotations


def record(service, request, action: str, subject_type: str, subject_id: str | None = None, **details) -> None:
    """Write one line of the audit log for the change `request` made (details: small, no personal data)."""
