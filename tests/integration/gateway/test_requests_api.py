"""The request desk through the gateway against the real platform: public intake (JSON and the
no-JavaScript form), the staff desk's lifecycle, queues, CSV export, matching and directory,
field-level 400s, 404s, 409s, and the staff token on every staff path."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import requests

from tests.conftest import ADMIN_TOKEN
from tests.integration.gateway.support import form_post

pytestmark = pytest.mark.usefixtures("platform")


def intake(**overrides) -> dict:
    payload = {
        "name": "An Peeters", "email": "an@example.org", "phone": None, "language": "nl",
        "org_type": "civiel_scw", "organisation_name": "Buurtinitiatief De Kaai",
        "question": "Kunnen jullie onze vrijwilligers vormen?", "theme": "vrijwilligers",
        "preferred_timing": "in het najaar", "privacy_consent": True,
    }
    payload.update(overrides)
    return payload


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/staff/requests"), ("post", "/api/staff/requests"), ("get", "/api/staff/requests/export.csv"),
        ("get", "/api/staff/requests/x"), ("patch", "/api/staff/requests/x"),
        ("get", "/api/staff/requests/x/suggestions"), ("post", "/api/staff/requests/x/explore"),
        ("post", "/api/staff/requests/x/notes"), ("post", "/api/staff/requests/x/accept"),
        ("post", "/api/staff/requests/x/decline"), ("post", "/api/staff/requests/x/deliveries"),
        ("post", "/api/staff/requests/x/close"), ("get", "/api/staff/requests/staff"),
        ("post", "/api/staff/requests/staff"), ("get", "/api/staff/requests/staff/x"),
        ("patch", "/api/staff/requests/staff/x"),
    ],
)
def test_the_request_desk_needs_the_staff_token(api, method, path):
    public, _ = api
    response = getattr(public, method)(path, json={}, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_intake_to_closure_through_the_api(api):
    public, staff = api
    created = staff.post("/api/staff/requests/staff", json={"name": "Bram Claes", "email": None,
                                                            "themes": ["vrijwilligers"]})
    assert created.status_code == 201, created.text
    bram = created.json()
    staff.post("/api/staff/requests/staff", json={"name": "Cas Mertens", "themes": ["bestuur"]})

    response = public.post("/api/requests", json=intake())
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert set(receipt) == {"request_id", "status", "message"} and receipt["status"] == "received"
    request_id = receipt["request_id"]
    base = f"/api/staff/requests/{request_id}"

    suggestions = staff.get(f"{base}/suggestions").json()
    assert [s["name"] for s in suggestions] == ["Bram Claes", "Cas Mertens"]
    assert staff.post(f"{base}/accept", json={"assignee": bram["staff_id"]}).status_code == 409
    explored = staff.post(f"{base}/explore")
    assert explored.status_code == 200, explored.text
    assert staff.post(f"{base}/notes", json={"text": "Gebeld"}).json()["notes"][0]["text"] == "Gebeld"
    assert staff.patch(base, json={"goal": "SD1.OD4"}).json()["goal"] == "SD1.OD4"
    accepted = staff.post(f"{base}/accept", json={"assignee": bram["staff_id"]})
    assert accepted.status_code == 200 and accepted.json()["assignee"] == bram["staff_id"]
    mine = staff.get("/api/staff/requests", params={"queue": "mine", "assignee": bram["staff_id"]}).json()
    assert [r["request_id"] for r in mine] == [request_id]
    delivered = staff.post(f"{base}/deliveries", json={"date": date.today().isoformat(), "form": "inhouse_training",
                                                       "dagdelen": 2, "participants": 10, "participations": 20})
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["totals"]["participants"] == 10
    closed = staff.post(f"{base}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert staff.post(f"{base}/close").status_code == 409
    assert staff.get(f"/api/staff/requests/staff/{bram['staff_id']}").json()["open_load"] == 0


def test_phone_intake_decline_search_and_csv(api, gateway_url):
    _, staff = api
    payload = intake(name="Jan Smet", email="jan@example.org", theme="bestuur", goal="SD2.OD3")
    del payload["privacy_consent"]
    response = staff.post("/api/staff/requests", json=payload)
    assert response.status_code == 201, response.text
    phoned = response.json()
    assert phoned["channel"] == "phone" and phoned["goal"] == "SD2.OD3"
    base = f"/api/staff/requests/{phoned['request_id']}"
    staff.post(f"{base}/explore", json={"notes": "Vraag naar financiering"})
    declined = staff.post(f"{base}/decline", json={"reason": "out_of_scope", "referred_to": "Financieringsloket"})
    assert declined.status_code == 200 and declined.json()["referred_to"] == "Financieringsloket"

    found = staff.get("/api/staff/requests", params={"q": "jan@", "status": "declined", "theme": ""}).json()
    assert [r["request_id"] for r in found] == [phoned["request_id"]]
    assert staff.get("/api/staff/requests", params={"queue": "new"}).json() == []
    # the export holds every requester's contact details at once: an admin token's, not a staff one's
    assert staff.get("/api/staff/requests/export.csv", params={"status": "declined"}).status_code == 403
    export = requests.get(f"{gateway_url}/api/staff/requests/export.csv", params={"status": "declined"},
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [(r["request_id"], r["decline_reason"]) for r in rows] == [(phoned["request_id"], "out_of_scope")]


def test_bad_input_not_found_and_wrong_method(api):
    public, staff = api
    response = public.post("/api/requests", json={"email": "nope", "privacy_consent": False, "passport": "X1"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_failed"
    assert {"name", "email", "question", "theme", "privacy_consent", "passport"} <= set(body["details"])
    assert public.post("/api/requests", data="[1]", headers={"Content-Type": "application/json"}).status_code == 400
    assert staff.get("/api/staff/requests", params={"queue": "later"}).status_code == 400
    assert staff.get("/api/staff/requests/nope").status_code == 404
    assert staff.post("/api/staff/requests/nope/explore").status_code == 404
    assert staff.get("/api/staff/requests/staff/nope").status_code == 404
    response = public.get("/api/requests")
    assert response.status_code == 405 and "POST" in response.headers["Allow"]
    assert staff.get("/api/staff/requests").json() == []


def test_the_public_form_without_javascript(api, gateway_url):
    public, staff = api
    page = public.get("/requests/new")
    assert page.status_code == 200 and 'lang="nl"' in page.text and "<script" not in page.text
    assert "Vraag ondersteuning op maat" in page.text
    assert "Ask for tailored support" in public.get("/requests/new?lang=en").text
    assert "Demander un accompagnement" in public.get("/requests/new?lang=fr").text

    empty = form_post(f"{gateway_url}/requests/new?lang=nl", {})
    assert empty.status_code == 400
    for field in ("name", "email", "question", "theme", "privacy_consent"):
        assert f'id="e-{field}"' in empty.text
    assert staff.get("/api/staff/requests").json() == []

    sent = form_post(f"{gateway_url}/requests/new?lang=en", {
        "name": "Ann", "email": "ann@example.org", "organisation": "type:civiel_scw", "question": "Help?",
        "theme": "participatie", "privacy_consent": "yes", "language": "en",
    })
    assert sent.status_code == 201, sent.text
    assert "We have received your question" in sent.text
    (saved,) = staff.get("/api/staff/requests").json()
    assert (saved["org_type"], saved["language"], saved["channel"]) == ("civiel_scw", "en", "web")


def test_phone_intake_may_leave_the_email_out_and_the_public_form_may_not(api, platform_config, gateway_url):
    from prometheus_client import REGISTRY

    from tests.helpers import EventSpy, drain_queue, wait_for

    def acknowledgements(outcome):
        return REGISTRY.get_sample_value("platform_events_consumed_total", {
            "consumer": "notifications.on_request_received", "event_type": "request.received", "outcome": outcome,
        }) or 0.0

    public, staff = api
    events = EventSpy(platform_config["AMQP_URI"], "requests")
    handled, retried = acknowledgements("handled"), acknowledgements("retried")
    phoned = intake(name="Jan Smet", email=None, phone="+32 470 12 34 56")
    del phoned["privacy_consent"]
    response = staff.post("/api/staff/requests", json=phoned)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["email"], created["phone"], created["channel"]) == (None, "+32 470 12 34 56", "phone")
    del phoned["email"]
    nothing = staff.post("/api/staff/requests", json={**phoned, "phone": None})  # no address, no number
    assert nothing.status_code == 201, nothing.text
    received = events.wait("request.received", 2)
    assert {e["data"]["request_id"] for e in received} == {created["request_id"], nothing.json()["request_id"]}
    wait_for(lambda: acknowledgements("handled") >= handled + 2, message="both acknowledgements handled")
    assert acknowledgements("retried") == retried
    assert staff.get("/api/staff/notifications").json() == []  # no message to nobody
    assert drain_queue(platform_config["AMQP_URI"], "platform.dead-letter") == []

    # the public form still needs an address
    for body in (intake(email=None), {k: v for k, v in intake().items() if k != "email"}, intake(email="")):
        refused = public.post("/api/requests", json=body)
        assert refused.status_code == 400
        assert set(refused.json()["details"]) == {"email"}
    page = form_post(f"{gateway_url}/requests/new?lang=en", {
        "name": "Ann", "phone": "+32 470 12 34 56", "question": "Help?", "theme": "participatie",
        "privacy_consent": "yes",
    })
    assert page.status_code == 400 and 'id="e-email"' in page.text
    assert len(staff.get("/api/staff/requests").json()) == 2
