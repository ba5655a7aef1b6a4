"""Rules shared by the services' domains, in plain Python (no framework here): the languages the
platform speaks, how an organisation's target group follows from its profile, the profile events
carry, what an erased person's name becomes, and the rule violations a domain raises.

The service layer turns the violations into the kernel's RPC errors with
`kernel.inputs.domain_errors()`: InvalidInput -> 400, StateConflict -> 409,
AccessDenied -> 403.
"""
from __future__ import annotations

from dataclasses import dataclass

from kernel.contract import ORG_TYPES, ORG_TYPES_RECOGNISED

LANGUAGES = ("nl", "en", "fr")  # of an activity, and of what participants and requesters are written
TARGET_GROUP_POLICIES = ("recognised", "org_type")
ERASED_NAME = "erased"  # the name an erased participant or requester keeps


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


class TargetGroupPolicy:
    """How an organisation's target group follows from its type and recognition.

    "recognised": primary iff recognised by the Flemish government;
    "org_type": primary iff its type is one of `primary_org_types`.
    """

    def __init__(self, mode: str = "recognised", primary_org_types=ORG_TYPES_RECOGNISED):
        if mode not in TARGET_GROUP_POLICIES:
            raise ValueError(f"unknown target group policy {mode!r}; use one of {TARGET_GROUP_POLICIES}")
        unknown = set(primary_org_types) - set(ORG_TYPES)
        if unknown:
            raise ValueError(f"unknown org types in PRIMARY_ORG_TYPES: {sorted(unknown)}")
        self.mode = mode
        self.primary_org_types = frozenset(primary_org_types)

    @classmethod
    def from_config(cls, config: dict) -> TargetGroupPolicy:
        """REGISTRATION.TARGET_GROUP_POLICY and PRIMARY_ORG_TYPES of config.yml (for requests too)."""
        settings = config.get("REGISTRATION") or {}
        kwargs = {}
        if settings.get("PRIMARY_ORG_TYPES"):
            kwargs["primary_org_types"] = settings["PRIMARY_ORG_TYPES"]
        return cls(settings.get("TARGET_GROUP_POLICY") or "recognised", **kwargs)

    def target_group(self, org_type: str, recognised: bool) -> str:
        if self.mode == "recognised":
            primary = bool(recognised)
        else:
            primary = org_type in self.primary_org_types
        return "primary" if primary else "secondary"


@dataclass(frozen=True)
class OrgProfile:
    """What events say about a participant's or requester's organisation (or its absence)."""

    organisation_id: str | None
    org_type: str
    recognised: bool
    target_group: str

    def as_event_data(self) -> dict:
        return {
            "organisation_id": self.organisation_id,
            "org_type": self.org_type,
            "recognised": self.recognised,
            "target_group": self.target_group,
        }
