"""An invitation code that cannot be one (non-ASCII, punctuation) is bad input: 400 from the JSON
API, a refusal page (not an error page) from the HTML page; never a 500."""
from __future__ import annotations

import pytest

from tests.integration.gateway.support import activity_payload, registration_payload

pytestmark = pytest.mark.usefixtures("platform")
NOT_CODES = ("café", "ÅÅÅ", "コード", "a b", "x&lang=en")


def test_a_code_with_non_ascii_characters_is_a_bad_request_not_an_error(api):
    public, staff = api
    created = staff.post("/api/staff/activities", json=activity_payload(invitation_only=True))
    assert created.status_code == 201, created.text
    activity_id, code = created.json()["activity_id"], created.json()["invitation_code"]
    assert public.get(f"/api/activities/{activity_id}", params={"code": code}).status_code == 200
    for not_a_code in NOT_CODES:
        shown = public.get(f"/api/activities/{activity_id}", params={"code": not_a_code})
        assert shown.status_code == 400 and shown.json()["details"]["code"], (not_a_code, shown.text)
        registered = public.post(f"/api/activities/{activity_id}/registrations",
                                 json=registration_payload(invitation_code=not_a_code))
        assert registered.status_code == 400 and "invitation_code" in registered.json()["details"], registered.text
        page = public.get(f"/activities/{activity_id}", params={"code": not_a_code})
        assert page.status_code == 403, (not_a_code, page.status_code)
