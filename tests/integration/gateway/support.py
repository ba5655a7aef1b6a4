"""The platform's service classes and payloads shared by the gateway's integration and end-to-end tests."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def all_services() -> tuple:
    """The gateway and every service of the platform (imported when needed)."""
    from services.accounts.service import AccountsService
    from services.evaluation.service import EvaluationService
    from services.gateway.service import GatewayService
    from services.notifications.service import NotificationsService
    from services.registration.service import RegistrationService
    from services.reporting.service import ReportingService
    from services.requests.service import RequestsService

    return (
        GatewayService, RegistrationService, EvaluationService, RequestsService, ReportingService,
        NotificationsService, AccountsService,
    )


def answers(url: str, path: str = "/health") -> bool:
    """Does the gateway at `url` answer `path` with 200 (not yet listening: no)?"""
    import requests

    try:
        return requests.get(f"{url}{path}", timeout=5).status_code == 200
    except requests.ConnectionError:
        return False


def form_post(url: str, data=None, session=None, page_url: str | None = None, **kwargs):
    """POST a form as a browser does: GET its page first (`page_url`, else `url`), take the hidden
    CSRF field and the `csrf` cookie, then POST `data` (a dict or a list of pairs) with both.
    Returns the POST's response; `session` (a requests.Session) keeps the cookies across calls."""
    import requests

    session = session if session is not None else requests.Session()
    kwargs.setdefault("timeout", 10)
    page = session.get(page_url or url, timeout=kwargs["timeout"])
    found = CSRF_FIELD.search(page.text)
    assert found, f"no CSRF field on {page_url or url} ({page.status_code})"
    fields = list(data.items()) if isinstance(data, dict) else list(data or [])
    return session.post(url, data=fields + [("csrf_token", found.group(1))], **kwargs)


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def activity_payload(**overrides) -> dict:
    """An activity open for registration now, starting in a month."""
    now = datetime.now(UTC)
    starts = now + timedelta(days=30)
    payload = {
        "title": "Vorming: samen sterk",
        "description": "Een dag over samenwerken in het sociaal-cultureel werk.",
        "kind": "vorming",
        "theme": "samenwerking",
        "goal": "SD1.OD4",
        "format": "offline",
        "starts_at": iso(starts),
        "ends_at": iso(starts + timedelta(hours=7)),
        "days": 1,
        "dagdelen": 2,
        "capacity": 2,
        "location": "Brussel",
        "language": "nl",
        "price_eur": "25.00",
        "reduced_price_eur": "5.00",
        "registration_opens_at": iso(now - timedelta(days=1)),
        "registration_closes_at": iso(starts - timedelta(days=1)),
        "invitation_only": False,
    }
    payload.update(overrides)
    return payload


def organisation_payload(**overrides) -> dict:
    payload = {"name": "Vereniging Samen", "org_type": "vereniging", "recognised": True}
    payload.update(overrides)
    return payload


def registration_payload(**overrides) -> dict:
    payload = {
        "name": "Ann Peeters",
        "email": "ann@example.org",
        "organisation_id": None,
        "organisation_kind": "individual",
        "role": "vrijwilliger",
        "language": "nl",
        "needs": {"accessibility": False, "sign_language_interpreter": True, "childcare": False,
                  "dietary": None, "other": None},
        "privacy_consent": True,
        "invitation_code": None,
        "begeleider": None,
    }
    payload.update(overrides)
    return payload


ACCOUNT_PASSWORD = "een lange zin als wachtwoord"


def create_account(gateway_url: str, role: str = "staff", email: str | None = None, name: str | None = None,
                   password: str = ACCOUNT_PASSWORD) -> dict:
    """A staff account made through POST /api/admin/accounts with the environment's admin token."""
    import requests

    from tests.conftest import ADMIN_TOKEN

    payload = {"email": email or f"{role}@steunpunt.example", "name": name or f"{role.title()} Tester", "role": role,
               "password": password}
    made = requests.post(f"{gateway_url}/api/admin/accounts", json=payload, timeout=10,
                         headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert made.status_code == 201, made.text
    return made.json()


def sign_in(gateway_url: str, email: str, password: str = ACCOUNT_PASSWORD, session=None):
    """A requests.Session signed in at /staff/login with that account (its session cookie set)."""
    import requests

    from services.gateway.core.auth import SESSION_COOKIE

    session = session if session is not None else requests.Session()
    answer = form_post(f"{gateway_url}/staff/login", {"email": email, "password": password}, session=session,
                       allow_redirects=False)
    assert answer.status_code == 303 and session.cookies.get(SESSION_COOKIE), (answer.status_code, answer.text[:300])
    return session


def staff_session(gateway_url: str, role: str = "staff"):
    """A browser signed in with a new account of `role`."""
    return sign_in(gateway_url, create_account(gateway_url, role)["email"])
