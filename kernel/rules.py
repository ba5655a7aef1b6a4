"""Rule violations a domain raises, in plain Python (no framework here).

The service layer turns them into the kernel's RPC errors with
`kernel.inputs.domain_errors()`: InvalidInput -> 400, StateConflict -> 409,
AccessDenied -> 403.
"""
from __future__ import annotations

LANGUAGES = ("nl", "en", "fr")  # of an activity, and of what participants and requesters are written


class RuleViolation(Exception):
    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = dict(details or {})


class InvalidInput(RuleViolation):
    """The data breaks a rule; `details` maps field names to messages."""


class StateConflict(RuleViolation):
    """The request is valid but the current state forbids it (a closed window, a wrong status)."""


class AccessDenied(RuleViolation):
    """The caller lacks what it takes (e.g. an invitation code)."""
