"""The RPCs the notifications service asks at send time: contact details of a registration and
of everyone registered for an activity, with the cancel link's secret (re-derived, never stored)."""
from __future__ import annotations

from services.registration import domain
from services.registration.service import cancel_link_key
from tests.integration.registration.conftest import activity_payload, registration_payload


def test_contact_for_registration(rpc, reg_config):
    activity = rpc.create_activity(activity_payload(capacity=1, title="Workshop"))
    first = rpc.register(activity["activity_id"], registration_payload(1, language="fr"))
    second = rpc.register(activity["activity_id"], registration_payload(2, language="en"))

    contact = rpc.contact_for_registration(first["registration_id"])
    assert contact["email"] == "deelnemer1@example.org" and contact["name"] == "Deelnemer 1"
    assert contact["language"] == "fr" and contact["status"] == "confirmed"
    assert contact["cancel_token"] == first["cancel_token"]  # the very link the registrant saw
    assert contact["activity"]["title"] == "Workshop"
    assert contact["activity"]["starts_at"] == activity["starts_at"]
    assert set(contact["activity"]) >= {"activity_id", "title", "starts_at", "ends_at", "location", "online_link"}
    waiting = rpc.contact_for_registration(second["registration_id"])
    assert (waiting["status"], waiting["waitlist_position"]) == ("waitlisted", 1)

    rpc.cancel_registration_by_token(first["cancel_token"])
    assert rpc.contact_for_registration(first["registration_id"]) is None
    cancelled = rpc.contact_for_registration(first["registration_id"], include_cancelled=True)
    assert cancelled["status"] == "cancelled" and cancelled["cancel_token"] is None
    assert rpc.contact_for_registration("nope") is None and rpc.contact_for_registration(None) is None
    # the token follows from the key and the id; only its hash is stored
    assert domain.cancel_token_for(cancel_link_key(reg_config), first["registration_id"]) == first["cancel_token"]


def test_begeleider_address_when_the_participant_has_none(rpc):
    activity = rpc.create_activity(activity_payload())
    result = rpc.register(activity["activity_id"], registration_payload(
        "x", email=None, begeleider={"name": "Begeleider", "email": "begeleider@example.org"}))
    assert rpc.contact_for_registration(result["registration_id"])["email"] == "begeleider@example.org"


def test_contacts_for_activity(rpc):
    activity = rpc.create_activity(activity_payload(capacity=2))
    regs = [rpc.register(activity["activity_id"], registration_payload(n)) for n in range(1, 5)]
    rpc.cancel_registration_by_token(regs[3]["cancel_token"])  # leaves the waitlist
    contacts = rpc.contacts_for_activity(activity["activity_id"])
    assert sorted(c["email"] for c in contacts) == [f"deelnemer{n}@example.org" for n in (1, 2, 3)]
    assert {c["registration_id"]: c["cancel_token"] for c in contacts} == {
        r["registration_id"]: r["cancel_token"] for r in regs[:3]}

    rpc.cancel_activity(activity["activity_id"], "ziekte")
    after = rpc.contacts_for_activity(activity["activity_id"])  # those the cancellation ended
    assert sorted(c["email"] for c in after) == [f"deelnemer{n}@example.org" for n in (1, 2, 3)]
    assert all(c["cancel_token"] is None and c["activity"]["cancel_reason"] == "ziekte" for c in after)
    assert rpc.contacts_for_activity("nope") == []


def test_configured_cancel_link_secret(reg_config, container_factory):
    from nameko.standalone.rpc import ServiceRpcProxy

    from services.registration.service import RegistrationService

    reg_config["REGISTRATION"]["CANCEL_LINK_SECRET"] = "s3cret-for-tests"
    container_factory(RegistrationService, reg_config).start()
    with ServiceRpcProxy("registration", reg_config) as rpc:
        activity = rpc.create_activity(activity_payload())
        result = rpc.register(activity["activity_id"], registration_payload(1))
        assert result["cancel_token"] == domain.cancel_token_for(b"s3cret-for-tests", result["registration_id"])
        assert rpc.contact_for_registration(result["registration_id"])["cancel_token"] == result["cancel_token"]
        assert rpc.get_registration_by_token(result["cancel_token"])["status"] == "confirmed"

def test_waitlist_positions_in_contacts_follow_the_queue(rpc):
    activity = rpc.create_activity(activity_payload(capacity=1))
    ids = [rpc.register(activity["activity_id"], registration_payload(i))["registration_id"] for i in range(4)]

    def position(registration_id):
        return rpc.contact_for_registration(registration_id)["waitlist_position"]

    assert [position(i) for i in ids] == [None, 1, 2, 3]
    rpc.cancel_registration(ids[2])  # leaves the queue: the one behind moves up
    assert [position(i) for i in (ids[1], ids[3])] == [1, 2]
    contacts = rpc.contacts_for_activity(activity["activity_id"])
    everyone = {c["registration_id"]: c["waitlist_position"] for c in contacts}
    assert everyone == {ids[0]: None, ids[1]: 1, ids[3]: 2}
    many = rpc.contacts_for_registrations(ids, include_cancelled=True)
    assert {i: c["waitlist_position"] for i, c in many.items()} == {ids[0]: None, ids[1]: 1, ids[2]: None, ids[3]: 2}
