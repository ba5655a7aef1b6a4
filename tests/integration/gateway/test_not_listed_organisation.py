"""An organisation that is not in the directory, named on the public registration form: kept for
staff to confirm (its reach is not lost), never offered to other visitors before that."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel.config import CENTRE_TIMEZONE
from tests.helpers import wait_for
from tests.integration.gateway.support import activity_payload, form_post, iso, registration_payload

pytestmark = pytest.mark.usefixtures("platform")

NAME = "Buurtwerk De Linde"


def staged(staff) -> list[dict]:
    return [o for o in staff.get("/api/staff/organisations").json() if o["name"].casefold() == NAME.casefold()]


def test_a_named_organisation_is_kept_once_offered_after_confirmation_and_its_reach_counted(api, gateway_url):
    public, staff = api
    activity = staff.post("/api/staff/activities", json=activity_payload(capacity=10)).json()
    path = f"/api/activities/{activity['activity_id']}/registrations"
    first = public.post(path, json=registration_payload(
        email="a@example.org", new_organisation={"name": NAME, "org_type": "civiel_scw"}))
    assert first.status_code == 201, first.text
    # a colleague types it differently: the same organisation, not a second one
    second = public.post(path, json=registration_payload(
        email="b@example.org", new_organisation={"name": "  buurtwerk  de LINDE ", "org_type": "vereniging"}))
    assert second.status_code == 201, second.text
    (organisation,) = staged(staff)
    assert (organisation["confirmed"], organisation["recognised"], organisation["org_type"]) == (
        False, False, "civiel_scw")
    listed = staff.get(f"/api/staff/activities/{activity['activity_id']}/registrations").json()
    assert {r["organisation_id"] for r in listed} == {organisation["organisation_id"]}
    both = public.post(path, json=registration_payload(
        email="c@example.org", organisation_id=organisation["organisation_id"],
        new_organisation={"name": "Iets anders", "org_type": "overheid"}))
    assert both.status_code == 400 and "new_organisation" in both.json()["details"], both.text

    page = f"{gateway_url}/activities/{activity['activity_id']}"
    assert NAME not in public.get(f"/activities/{activity['activity_id']}").text  # not offered before staff confirm
    refused = form_post(page, {"name": "Dirk", "email": "d@example.org", "organisation": "not_listed",
                               "privacy_consent": "yes"})
    assert refused.status_code == 400
    assert 'id="e-new_organisation_name"' in refused.text and 'id="e-new_organisation_type"' in refused.text
    assert len(staff.get(f"/api/staff/activities/{activity['activity_id']}/registrations").json()) == 2
    # the name typed with the list left at its first choice is an organisation not listed
    typed = form_post(page, {"name": "Els", "email": "e@example.org", "new_organisation_name": "Vzw Het Anker",
                             "new_organisation_type": "vereniging", "privacy_consent": "yes"})
    assert typed.status_code == 201, typed.text
    anchor = [o for o in staff.get("/api/staff/organisations").json() if o["name"] == "Vzw Het Anker"]
    assert [(o["confirmed"], o["org_type"]) for o in anchor] == [(False, "vereniging")]

    confirmed = staff.patch(f"/api/staff/organisations/{organisation['organisation_id']}",
                            json={"confirmed": True, "recognised": True, "org_type": "vereniging"})
    assert confirmed.status_code == 200 and confirmed.json()["confirmed"] is True, confirmed.text
    assert NAME in public.get(f"/activities/{activity['activity_id']}").text
    assert staff.patch(f"/api/staff/organisations/{organisation['organisation_id']}",
                       json={"confirmed": False}).status_code == 400

    # held yesterday, attended and completed: the organisation is reached
    yesterday = datetime.now(UTC) - timedelta(days=1)
    staff.patch(f"/api/staff/activities/{activity['activity_id']}", json={
        "starts_at": iso(yesterday), "ends_at": iso(yesterday + timedelta(hours=7)),
        "registration_opens_at": None, "registration_closes_at": None})
    for registration in listed:
        done = staff.put(f"/api/staff/registrations/{registration['registration_id']}/attendance",
                         json={"days_attended": 1})
        assert done.status_code == 200, done.text
    assert staff.post(f"/api/staff/activities/{activity['activity_id']}/complete").status_code == 200
    year = yesterday.astimezone(CENTRE_TIMEZONE).year

    def reached():
        document = staff.get(f"/api/kpis/annual/{year}").json()["open_offer"]
        return document["organisations_reached"], document["participants"]

    wait_for(lambda: reached() == (1, 2), timeout=30, message="the named organisation reached by both participants")
