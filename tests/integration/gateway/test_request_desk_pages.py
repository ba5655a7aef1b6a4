"""The staff desk's request list comes in pages and holds no contact details; a request's own page
has them."""
from __future__ import annotations

import pytest

from tests.integration.gateway.test_requests_api import intake

pytestmark = pytest.mark.usefixtures("platform")


def test_the_list_is_paginated_and_shows_contact_details_only_on_the_request_s_own_page(api):
    public, staff = api
    created = []
    for number in range(3):
        received = public.post("/api/requests", json=intake(
            name=f"Requester {number}", email=f"requester{number}@example.org", phone=f"+32 470 00 00 0{number}"))
        assert received.status_code == 201, received.text
        created.append(received.json()["request_id"])
    first = staff.get("/api/staff/requests", params={"limit": 2})
    rest = staff.get("/api/staff/requests", params={"limit": 2, "offset": 2})
    assert first.status_code == 200 and rest.status_code == 200, (first.text, rest.text)
    assert len(first.json()) == 2 and len(rest.json()) == 1
    assert {line["request_id"] for line in first.json() + rest.json()} == set(created)
    for line in first.json() + rest.json():
        assert not {"email", "phone", "notes"} & set(line), line
        assert "@example.org" not in str(line) and "+32 470" not in str(line), line
    one = staff.get(f"/api/staff/requests/{created[0]}").json()
    assert (one["email"], one["phone"]) == ("requester0@example.org", "+32 470 00 00 00")
    for bad in ({"limit": 0}, {"limit": 10_000}, {"offset": -1}, {"limit": "many"}):
        assert staff.get("/api/staff/requests", params=bad).status_code == 400, bad
