"""The gateway's JSON API against the real platform (RabbitMQ, every service)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.utils import get_container

from services.evaluation.service import EvaluationService
from services.gateway.core.openapi import spec_paths
from services.gateway.service import all_routes
from tests.integration.gateway.support import (
    activity_payload,
    iso,
    organisation_payload,
    registration_payload,
)
from tests.unit.gateway.openapi_check import check_openapi_document, werkzeug_to_openapi

pytestmark = pytest.mark.usefixtures("platform")


def create_activity(staff, **overrides):
    response = staff.post("/api/staff/activities", json=activity_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def registrations_of(staff, activity_id):
    response = staff.get(f"/api/staff/activities/{activity_id}/registrations")
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------------ health


def test_health_is_200_when_broker_and_every_service_answer(api):
    public, _ = api
    response = public.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["services"]) == {"registration", "evaluation", "requests", "reporting", "notifications", "accounts"}
    assert all(answer["ok"] and answer["database"] for answer in body["services"].values())


def test_health_is_503_naming_the_service_that_does_not_answer(api, platform):
    public, _ = api
    get_container(platform, EvaluationService).stop()
    response = public.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["evaluation"]
    assert body["services"]["evaluation"]["ok"] is False
    assert body["services"]["registration"]["ok"] is True


# ------------------------------------------------------------------ staff auth


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/staff/organisations"),
        ("post", "/api/staff/organisations"),
        ("get", "/api/staff/activities"),
        ("post", "/api/staff/activities"),
        ("get", "/api/staff/activities/x"),
        ("patch", "/api/staff/activities/x"),
        ("post", "/api/staff/activities/x/cancel"),
        ("post", "/api/staff/activities/x/complete"),
        ("get", "/api/staff/activities/x/registrations"),
        ("post", "/api/staff/registrations/x/cancel"),
        ("put", "/api/staff/registrations/x/attendance"),
        ("get", "/api/staff/organisations/x"),
        ("patch", "/api/staff/organisations/x"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic dGVzdA==", "Bearer "])
def test_staff_endpoints_need_the_staff_token(api, method, path, authorization):
    public, _ = api
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = getattr(public, method)(path, headers=headers, json={})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


# ------------------------------------------------------------------ registering


def test_organisation_activity_and_registration_round_trip(api):
    public, staff = api
    created = staff.post("/api/staff/organisations", json=organisation_payload())
    assert created.status_code == 201, created.text
    organisation = created.json()
    fetched = staff.get(f"/api/staff/organisations/{organisation['organisation_id']}")
    assert fetched.status_code == 200 and fetched.json()["name"] == "Vereniging Samen"
    patched = staff.patch(f"/api/staff/organisations/{organisation['organisation_id']}", json={"name": "Samen vzw"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Samen vzw"

    activity = create_activity(staff)
    listed = public.get("/api/activities")
    assert listed.status_code == 200
    assert activity["activity_id"] in [a["activity_id"] for a in listed.json()]
    detail = public.get(f"/api/activities/{activity['activity_id']}").json()
    assert detail["registration_open"] is True

    payload = registration_payload(organisation_id=organisation["organisation_id"])
    del payload["organisation_kind"]
    response = public.post(f"/api/activities/{activity['activity_id']}/registrations", json=payload)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["status"] == "confirmed"
    assert result["waitlist_position"] is None
    assert result["cancel_token"]

    mine = public.get(f"/api/registrations/{result['cancel_token']}")
    assert mine.status_code == 200 and mine.json()["status"] == "confirmed"


def test_full_activity_puts_the_next_person_on_the_waitlist_and_says_so(api):
    public, staff = api
    activity = create_activity(staff, capacity=1)
    path = f"/api/activities/{activity['activity_id']}/registrations"
    first = public.post(path, json=registration_payload(email="one@example.org"))
    second = public.post(path, json=registration_payload(email="two@example.org"))
    assert first.status_code == 201 and first.json()["status"] == "confirmed"
    assert second.status_code == 201, second.text
    body = second.json()
    assert body["status"] == "waitlisted"
    assert body["waitlist_position"] == 1
    assert "wait" in body["message"].lower()

    # the participant cancels: the first on the waitlist is promoted
    cancelled = public.post(f"/api/registrations/{first.json()['cancel_token']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    promoted = public.get(f"/api/registrations/{body['cancel_token']}")
    assert promoted.json()["status"] == "confirmed"


def test_duplicate_registration_is_409(api):
    public, staff = api
    activity = create_activity(staff)
    path = f"/api/activities/{activity['activity_id']}/registrations"
    assert public.post(path, json=registration_payload()).status_code == 201
    again = public.post(path, json=registration_payload(email="ANN@example.org"))
    assert again.status_code == 409
    assert again.json()["error"] == "conflict" and again.json()["message"]
    assert len(registrations_of(staff, activity["activity_id"])) == 1


def test_registration_for_a_cancelled_activity_is_409(api):
    public, staff = api
    activity = create_activity(staff)
    cancel = staff.post(f"/api/staff/activities/{activity['activity_id']}/cancel", json={"reason": "trainer ziek"})
    assert cancel.status_code == 200, cancel.text
    response = public.post(f"/api/activities/{activity['activity_id']}/registrations", json=registration_payload())
    assert response.status_code == 409
    assert response.json()["message"]


def test_registration_before_it_opens_is_409(api):
    public, staff = api
    opens = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    activity = create_activity(staff, registration_opens_at=opens)
    response = public.post(f"/api/activities/{activity['activity_id']}/registrations", json=registration_payload())
    assert response.status_code == 409
    assert registrations_of(staff, activity["activity_id"]) == []


def test_bad_input_is_400_with_field_names_and_creates_nothing(api):
    public, staff = api
    activity = create_activity(staff)
    path = f"/api/activities/{activity['activity_id']}/registrations"
    response = public.post(
        path, json=registration_payload(name="", email="not-an-email", role="king", privacy_consent=False)
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_failed"
    assert {"email", "role", "privacy_consent"} <= set(body["details"])
    assert registrations_of(staff, activity["activity_id"]) == []


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"', ""])
def test_malformed_or_non_object_json_is_400(api, data):
    public, staff = api
    activity = create_activity(staff)
    response = public.post(
        f"/api/activities/{activity['activity_id']}/registrations",
        data=data, headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["message"]
    assert staff.post("/api/staff/organisations", data=data).status_code == 400


def test_staff_input_errors(api):
    _, staff = api
    bad = staff.post("/api/staff/activities", json=activity_payload(format="hologram", days="many"))
    assert bad.status_code == 400
    assert {"format", "days"} <= set(bad.json()["details"])
    activity = create_activity(staff)
    no_reason = staff.post(f"/api/staff/activities/{activity['activity_id']}/cancel", json={})
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["details"]


def test_unknown_ids_are_404(api):
    public, staff = api
    assert public.get("/api/activities/does-not-exist").status_code == 404
    assert public.post("/api/activities/does-not-exist/registrations", json=registration_payload()).status_code == 404
    assert public.get("/api/registrations/no-such-token").status_code == 404
    assert public.post("/api/registrations/no-such-token/cancel").status_code == 404
    assert staff.get("/api/staff/activities/does-not-exist").status_code == 404
    assert staff.get("/api/staff/organisations/does-not-exist").status_code == 404
    assert staff.post("/api/staff/registrations/does-not-exist/cancel").status_code == 404
    missing = staff.put("/api/staff/registrations/does-not-exist/attendance", json={"days_attended": 1})
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_unknown_api_path_is_a_json_404_and_a_wrong_method_a_405(api):
    public, _ = api
    response = public.get("/api/nothing/here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    wrong = public.delete("/api/activities")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["Allow"]


def test_staff_lifecycle_attendance_and_complete(api):
    public, staff = api
    activity = create_activity(staff)
    registered = public.post(
        f"/api/activities/{activity['activity_id']}/registrations", json=registration_payload()
    ).json()
    too_early = staff.put(
        f"/api/staff/registrations/{registered['registration_id']}/attendance", json={"days_attended": 1}
    )
    assert too_early.status_code == 409 and too_early.json()["message"]
    assert staff.post(f"/api/staff/activities/{activity['activity_id']}/complete").status_code == 409

    # the activity took place yesterday
    yesterday = datetime.now(UTC) - timedelta(days=1)
    updated = staff.patch(f"/api/staff/activities/{activity['activity_id']}", json={
        "title": "Nieuwe titel", "starts_at": iso(yesterday), "ends_at": iso(yesterday + timedelta(hours=7)),
        "registration_opens_at": None, "registration_closes_at": None,
    })
    assert updated.status_code == 200, updated.text
    assert staff.get(f"/api/staff/activities/{activity['activity_id']}").json()["title"] == "Nieuwe titel"
    attendance = staff.put(
        f"/api/staff/registrations/{registered['registration_id']}/attendance", json={"days_attended": 1}
    )
    assert attendance.status_code == 200, attendance.text
    wrong = staff.put(
        f"/api/staff/registrations/{registered['registration_id']}/attendance", json={"days_attended": "one"}
    )
    assert wrong.status_code == 400 and "days_attended" in wrong.json()["details"]
    completed = staff.post(f"/api/staff/activities/{activity['activity_id']}/complete")
    assert completed.status_code == 200, completed.text
    assert staff.get("/api/staff/activities").status_code == 200


def test_staff_cancels_a_registration(api):
    public, staff = api
    activity = create_activity(staff)
    registered = public.post(
        f"/api/activities/{activity['activity_id']}/registrations", json=registration_payload()
    ).json()
    response = staff.post(f"/api/staff/registrations/{registered['registration_id']}/cancel")
    assert response.status_code == 200, response.text
    assert public.get(f"/api/registrations/{registered['cancel_token']}").json()["status"] == "cancelled"


def test_staff_promote_by_hand_postpone_and_the_minimum(api):
    public, staff = api
    activity = create_activity(staff, capacity=1, min_participants=1)
    assert activity["attention"] == ["minimum_not_reached"]
    path = f"/api/activities/{activity['activity_id']}/registrations"
    ids = [public.post(path, json=registration_payload(email=f"p{n}@example.org")).json()["registration_id"]
           for n in range(3)]
    # the last on the waitlist is given a seat: none was free, so the capacity grows by one
    promoted = staff.post(f"/api/staff/registrations/{ids[2]}/promote")
    assert promoted.status_code == 200 and promoted.json()["status"] == "confirmed", promoted.text
    again = staff.post(f"/api/staff/registrations/{ids[2]}/promote")
    assert again.status_code == 409, again.text
    listed = {r["registration_id"]: r for r in registrations_of(staff, activity["activity_id"])}
    assert (listed[ids[1]]["status"], listed[ids[1]]["waitlist_position"]) == ("waitlisted", 1)
    shown = staff.get(f"/api/staff/activities/{activity['activity_id']}").json()
    assert (shown["capacity"], shown["seats"]["confirmed"], shown["attention"]) == (2, 2, ["full"])

    later = datetime.fromisoformat(activity["starts_at"]) + timedelta(days=14)
    postponed = staff.post(f"/api/staff/activities/{activity['activity_id']}/postpone", json={
        "starts_at": iso(later), "ends_at": iso(later + timedelta(hours=7)), "reason": "Lesgever ziek"})
    assert postponed.status_code == 200, postponed.text
    body = postponed.json()
    assert (body["postponed_from"], body["postpone_reason"]) == (activity["starts_at"], "Lesgever ziek")
    assert datetime.fromisoformat(body["starts_at"]) == later and body["seats"]["confirmed"] == 2
    bad = staff.post(f"/api/staff/activities/{activity['activity_id']}/postpone", json={
        "starts_at": iso(later), "ends_at": iso(later - timedelta(hours=1)), "reason": "x"})
    assert bad.status_code == 400 and "ends_at" in bad.json()["details"], bad.text


def test_a_repeat_names_an_activity_that_exists(api):
    _, staff = api
    original = create_activity(staff)
    repeat = create_activity(staff, repeat_of=original["activity_id"])
    assert repeat["repeat_of"] == original["activity_id"]
    unknown = staff.post("/api/staff/activities", json=activity_payload(repeat_of="no-such-activity"))
    assert unknown.status_code == 400 and "repeat_of" in unknown.json()["details"], unknown.text
    over = staff.post("/api/staff/activities", json=activity_payload(capacity=2, min_participants=3))
    assert over.status_code == 400 and "min_participants" in over.json()["details"], over.text


# ------------------------------------------------------------------ OpenAPI


def test_openapi_is_valid_and_lists_every_route_the_gateway_serves(api):
    public, _ = api
    response = public.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert check_openapi_document(document) == []
    served = {
        (werkzeug_to_openapi(url), method)
        for url, methods in all_routes()
        for method in methods
        if (url.startswith("/api/") or url == "/health") and "<path:" not in url
    }
    assert served <= spec_paths(document)
    for path, item in document["paths"].items():
        for operation in item.values():
            protected = ("/api/staff/", "/api/kpis/", "/api/alerts/", "/api/admin/")
            assert ("security" in operation) == path.startswith(protected)
