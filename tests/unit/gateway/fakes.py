"""A stand-in for the registration RPC proxy, to drive the gateway's handlers without a broker."""
from __future__ import annotations

from itertools import count

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from kernel.errors import Conflict, NotFound, ValidationFailed
from services.gateway.service import GatewayService

ACTIVITY = {
    "activity_id": "act-1", "title": "Vorming <Samen> sterk", "description": "Een dag over samenwerken.",
    "kind": "vorming", "theme": "samenwerking", "format": "offline", "starts_at": "2026-05-12T09:00:00+02:00",
    "ends_at": "2026-05-12T16:00:00+02:00", "days": 1, "dagdelen": 2, "location": "Brussel",
    "online_link": None, "language": "nl", "price_eur": "25.00", "reduced_price_eur": "5.00",
    "registration_opens_at": None, "registration_closes_at": "2026-05-05T23:59:00+02:00",
    "invitation_only": False, "status": "scheduled", "seats": {"confirmed": 0, "waitlisted": 0, "available": 1},
    "registration_open": True,
}


class FakeRegistration:
    def __init__(self, capacity=1):
        self.capacity = capacity
        self.registrations = {}
        self.calls = []
        self._ids = count(1)

    def list_public_activities(self):
        return [ACTIVITY]

    def list_organisations(self):
        return [{"organisation_id": "org-1", "name": "Vereniging Eén", "org_type": "vereniging"}]

    def get_public_activity(self, activity_id, invitation_code=None):
        if activity_id != "act-1":
            raise NotFound("No such activity.")
        return ACTIVITY

    def get_activity(self, activity_id):
        return self.get_public_activity(activity_id)

    def register(self, activity_id, payload, with_activity=False):
        self.calls.append(("register", activity_id, payload))
        if "@" not in payload["email"]:
            raise ValidationFailed("Invalid registration.", {"email": ["Not a valid email address."]})
        if any(r["email"] == payload["email"] and r["status"] != "cancelled" for r in self.registrations.values()):
            raise Conflict("Already registered for this activity.")
        n = next(self._ids)
        confirmed = sum(r["status"] == "confirmed" for r in self.registrations.values())
        status = "confirmed" if confirmed < self.capacity else "waitlisted"
        token = f"tok{n}"
        self.registrations[token] = {
            "registration_id": f"reg-{n}", "activity_id": activity_id, "status": status, "email": payload["email"],
            "waitlist_position": None if status == "confirmed" else n - self.capacity,
        }
        answer = {"registration_id": f"reg-{n}", "activity_id": activity_id, "status": status,
                  "waitlist_position": self.registrations[token]["waitlist_position"], "cancel_token": token,
                  "message": status}
        if with_activity:
            answer["activity"] = self.get_public_activity(activity_id)
        return answer

    def get_registration_by_token(self, token):
        if token not in self.registrations:
            raise NotFound("No such registration.")
        return {k: v for k, v in self.registrations[token].items() if k != "email"}

    def cancel_registration_by_token(self, token):
        self.calls.append(("cancel", token))
        registration = self.get_registration_by_token(token)
        if registration["status"] == "cancelled":
            raise Conflict("Already cancelled.")
        self.registrations[token]["status"] = "cancelled"
        return self.get_registration_by_token(token)


def gateway(registration=None, config=None):
    service = GatewayService()
    service.registration = registration or FakeRegistration()
    service.accounts = FakeAccounts()
    service.config = config or {"PUBLIC_BASE_URL": "https://example.test", "AUTH": {"STAFF_TOKEN_SHA256": ""}}
    return service


def request(method="GET", path="/", query=None, form=None, headers=None, cookies=None, data=None):
    builder = EnvironBuilder(method=method, path=path, query_string=query, data=form if form is not None else data,
                             headers=headers)
    if cookies:
        builder.headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return Request(builder.get_environ())


class FakeAccounts:
    """A stand-in for the accounts service: one account per role, signed in by the session
    "session-<role>", with the personal API token "personal-<role>" and the password "right password"."""

    def __init__(self):
        self.accounts = {role: {"account_id": f"acc-{role}", "email": f"{role}@steunpunt.example",
                                "name": f"{role.title()} Tester", "role": role} for role in ("staff", "ops", "admin")}
        self.signed_out = []
        self.audit = []

    def session_account(self, token):
        role = token.removeprefix("session-") if token not in self.signed_out else None
        return self.accounts.get(role)

    def token_account(self, token):
        return self.accounts.get(token.removeprefix("personal-"))

    def sign_in(self, email, password):
        account = next((a for a in self.accounts.values() if a["email"] == email), None)
        if account is None or password != "right password":
            return {"token": None, "outcome": "failed"}
        return {"token": f"session-{account['role']}", "account": account}

    def sign_out(self, token):
        self.signed_out.append(token)
        return True

    def record_audit(self, entry):
        self.audit.append(entry)
