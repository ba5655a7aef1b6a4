"""The requests service over a real RabbitMQ: each lifecycle step emits its event with exactly the
contract's fields (and no personal data), refused input and invalid transitions change nothing,
the desk's queues, search, CSV export, matching and the overdue flag."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.tables import outbox
from services.requests.models import deliveries, request_notes, requests, staff_members
from tests.helpers import contract_data
from tests.integration.requests.conftest import intake_payload, staff_payload

PERSONAL = ("An Peeters", "an@example.org", "123 45 67", "Buurtinitiatief", "vrijwilligers bij ons")


def assert_contract(event: dict) -> dict:
    text = str(contract_data(event, "requests"))
    assert not any(fragment in text for fragment in PERSONAL), text
    return event["data"]


def row_counts(engine) -> dict:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar()
            for table in (requests, request_notes, deliveries, staff_members, outbox)
        }


def request_row(engine, request_id) -> dict:
    with engine.connect() as connection:
        return dict(connection.execute(select(requests).where(requests.c.request_id == request_id)).mappings().one())


def test_the_whole_lifecycle_emits_the_contract_events(rpc, events, database_backend):
    bram = rpc.create_staff(staff_payload())
    receipt = rpc.submit_request(intake_payload())
    request_id = receipt["request_id"]
    assert receipt["status"] == "received" and receipt["message"]
    (received,) = events.wait("request.received")
    assert assert_contract(received) == {
        "request_id": request_id, "organisation_id": None, "org_type": "civiel_scw", "recognised": False,
        "target_group": "secondary", "theme": "vrijwilligers", "goal": None,
    }

    view = rpc.explore(request_id, {"notes": "Gebeld: zoeken een vorming", "staff_id": bram["staff_id"]})
    assert view["status"] == "exploring" and view["answered_at"] and view["assignee"] == bram["staff_id"]
    view = rpc.add_note(request_id, {"text": "Mail met voorstel gestuurd"})
    assert [n["text"] for n in view["notes"]] == ["Gebeld: zoeken een vorming", "Mail met voorstel gestuurd"]
    view = rpc.update_tags(request_id, {"goal": "SD1.OD4"})
    assert view["goal"] == "SD1.OD4"

    view = rpc.accept(request_id, {"assignee": bram["staff_id"]})
    assert view["status"] == "accepted" and view["allowed_actions"] == ["deliver"]
    (accepted,) = events.wait("request.accepted")
    assert assert_contract(accepted) == {"request_id": request_id, "assignee": bram["staff_id"]}

    today = datetime.now(UTC).date().isoformat()
    rpc.record_delivery(request_id, {"date": today, "form": "advice_conversation", "dagdelen": 1,
                                     "participants": 2, "participations": 2})
    view = rpc.record_delivery(request_id, {"date": today, "form": "inhouse_training", "dagdelen": 2,
                                            "participants": 14, "participations": 28, "description": "Vorming"})
    assert view["status"] == "delivered"
    assert view["totals"] == {"deliveries": 2, "dagdelen": 3, "participants": 16, "participations": 30}
    delivered = events.wait("request.delivered", 2)
    assert [assert_contract(e) for e in delivered] == [
        {"request_id": request_id, "dagdelen": 1, "participants": 2, "participations": 2},
        {"request_id": request_id, "dagdelen": 2, "participants": 14, "participations": 28},
    ]
    view = rpc.close(request_id)
    assert view["status"] == "closed" and view["closed_at"] and view["allowed_actions"] == []
    assert rpc.get_request(request_id) == view
    assert rpc.contact_for_request(request_id) == {"name": "An Peeters", "email": "an@example.org",
                                                   "language": "nl"}
    assert {e["event_type"] for e in events.settle()} == {"request.received", "request.accepted",
                                                          "request.delivered"}


def test_decline_with_referral_and_a_directory_organisation(rpc, registration_rpc, events):
    org = registration_rpc.create_organisation({"name": "Vormingplus", "org_type": "landelijke_vormingsinstelling",
                                                "recognised": True})
    payload = intake_payload(organisation_id=org["organisation_id"], org_type=None, organisation_name=None,
                             goal="SD2.OD1", language="fr")
    del payload["privacy_consent"]  # taken by phone
    view = rpc.record_request(payload)
    assert view["channel"] == "phone" and view["target_group"] == "primary" and view["recognised"] is True
    request_id = view["request_id"]
    received = assert_contract(events.wait("request.received")[0])
    assert (received["organisation_id"], received["org_type"], received["goal"]) == (
        org["organisation_id"], "landelijke_vormingsinstelling", "SD2.OD1")

    rpc.explore(request_id)
    view = rpc.decline(request_id, {"reason": "long_term_coaching", "referred_to": "Coachingpartner vzw",
                                    "notes": "Langdurige begeleiding"})
    assert (view["status"], view["decline_reason"], view["referred_to"]) == (
        "declined", "long_term_coaching", "Coachingpartner vzw")
    (declined,) = events.wait("request.declined")
    assert assert_contract(declined) == {"request_id": request_id, "reason": "long_term_coaching",
                                         "referred_to": "Coachingpartner vzw"}
    assert rpc.contact_for_request(request_id)["language"] == "fr"


def test_bad_input_is_refused_field_by_field_and_writes_nothing(rpc, db_engine, events):
    before = row_counts(db_engine)
    with pytest.raises(ValidationFailed) as caught:
        rpc.submit_request({"name": " ", "email": "not-an-address", "phone": "call me", "org_type": "club",
                            "question": "", "language": "de", "id_number": "123"})
    assert set(caught.value.details) == {"name", "email", "phone", "org_type", "question", "theme", "language",
                                         "privacy_consent", "id_number"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.submit_request(intake_payload(organisation_id="nope", org_type=None))
    assert set(caught.value.details) == {"organisation_id"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.submit_request(intake_payload(organisation_id="x", org_type="overheid"))
    assert set(caught.value.details) == {"org_type"}
    with pytest.raises(ValidationFailed):
        rpc.submit_request(intake_payload(privacy_consent=False))
    with pytest.raises(ValidationFailed) as caught:
        rpc.record_request({**intake_payload(goal="strategic"), "privacy_consent": None})
    assert set(caught.value.details) == {"goal", "privacy_consent"}
    with pytest.raises(ValidationFailed):
        rpc.submit_request("not an object")
    with pytest.raises(ValidationFailed) as caught:
        rpc.create_staff({"name": "", "themes": "bestuur"})
    assert set(caught.value.details) == {"name", "themes"}
    assert row_counts(db_engine) == before

    request_id = rpc.submit_request(intake_payload())["request_id"]
    rpc.explore(request_id)
    before = row_counts(db_engine)
    row = request_row(db_engine, request_id)
    with pytest.raises(ValidationFailed) as caught:
        rpc.accept(request_id, {"assignee": "nobody"})
    assert set(caught.value.details) == {"assignee"}
    with pytest.raises(ValidationFailed) as caught:
        rpc.decline(request_id, {"reason": "too_busy"})
    assert set(caught.value.details) == {"reason"}
    with pytest.raises(NotFound):
        rpc.accept("nope", {"assignee": "x"})
    with pytest.raises(NotFound):
        rpc.get_request("nope")
    with pytest.raises(NotFound):
        rpc.contact_for_request("nope")
    assert row_counts(db_engine) == before
    assert request_row(db_engine, request_id) == row


def test_invalid_transitions_are_conflicts_and_change_nothing(rpc, db_engine, events):
    member = rpc.create_staff(staff_payload())
    request_id = rpc.submit_request(intake_payload())["request_id"]
    today = date.today().isoformat()
    delivery = {"date": today, "form": "team_day", "dagdelen": 2, "participants": 8, "participations": 16}
    before = row_counts(db_engine)
    row = request_row(db_engine, request_id)
    for call in (
        lambda: rpc.accept(request_id, {"assignee": member["staff_id"]}),
        lambda: rpc.decline(request_id, {"reason": "no_capacity"}),
        lambda: rpc.record_delivery(request_id, delivery),
        lambda: rpc.close(request_id),
        lambda: rpc.add_note(request_id, {"text": "te vroeg"}),
    ):
        with pytest.raises(Conflict) as caught:
            call()
        assert caught.value.details["status"] == "received"
    assert row_counts(db_engine) == before and request_row(db_engine, request_id) == row

    rpc.explore(request_id)
    rpc.decline(request_id, {"reason": "no_capacity"})
    events.wait("request.declined")
    before = row_counts(db_engine)
    for call in (lambda: rpc.explore(request_id), lambda: rpc.accept(request_id, {"assignee": member["staff_id"]}),
                 lambda: rpc.record_delivery(request_id, delivery), lambda: rpc.close(request_id)):
        with pytest.raises(Conflict):
            call()
    assert row_counts(db_engine) == before
    assert [e["event_type"] for e in events.settle()] == ["request.received", "request.declined"]


def test_queues_filters_search_and_csv(rpc, db_engine, events):
    ann = rpc.create_staff(staff_payload("Ann Jacobs", ["digitalisering"]))
    fresh = rpc.submit_request(intake_payload(question="Digitale vergaderingen?", theme="digitalisering"))
    mine = rpc.submit_request(intake_payload(name="Jan", email="jan@example.org", question="=cmd|' /C calc'!A0"))
    late = rpc.submit_request(intake_payload(name="Piet", email="piet@example.org", theme="bestuur"))
    rpc.explore(mine["request_id"], {"staff_id": ann["staff_id"]})
    with db_engine.begin() as connection:
        connection.execute(update(requests).where(requests.c.request_id == late["request_id"])
                           .values(answer_due_at=datetime.now(UTC) - timedelta(hours=1)))

    def ids(**filters):
        return [r["request_id"] for r in rpc.list_requests(filters)]

    assert set(ids(queue="new")) == {fresh["request_id"], late["request_id"]}
    assert ids(queue="new")[0] == late["request_id"]  # the most urgent first
    assert ids(queue="mine", assignee=ann["staff_id"]) == [mine["request_id"]]
    assert ids(queue="overdue") == [late["request_id"]]
    assert ids(status="exploring") == [mine["request_id"]]
    assert ids(theme="Digitalisering") == [fresh["request_id"]]
    assert ids(q="VERGADER") == [fresh["request_id"]]
    assert ids(q="piet@") == [late["request_id"]]
    assert ids(q="100%") == []
    with pytest.raises(ValidationFailed) as caught:
        rpc.list_requests({"queue": "mine"})
    assert set(caught.value.details) == {"assignee"}
    with pytest.raises(ValidationFailed):
        rpc.list_requests({"status": "lost", "colour": "red"})

    assert rpc.mark_overdue() == 1
    assert rpc.mark_overdue() == 0  # flagged once
    flagged = rpc.get_request(late["request_id"])
    assert flagged["overdue"] is True and flagged["overdue_marked_at"]
    assert rpc.get_request(fresh["request_id"])["overdue"] is False
    settled = events.settle()
    assert [e["event_type"] for e in settled] == ["request.received"] * 3 + ["request.overdue"]  # once
    assert assert_contract(settled[-1]) == {"request_id": late["request_id"], "received_at": flagged["received_at"],
                                            "answer_due_at": flagged["answer_due_at"]}

    text = rpc.export_csv({})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3
    by_id = {row["request_id"]: row for row in rows}
    assert by_id[late["request_id"]]["overdue"] == "true"
    assert by_id[mine["request_id"]]["question"].startswith("'=")  # no formula for the spreadsheet
    assert [row["request_id"] for row in csv.DictReader(io.StringIO(rpc.export_csv({"queue": "overdue"})))] == [
        late["request_id"]]


def test_matching_suggests_by_theme_then_load(rpc):
    bram = rpc.create_staff(staff_payload("Bram Claes", ["vrijwilligers", "bestuur"]))
    ann = rpc.create_staff(staff_payload("Ann Jacobs", ["Vrijwilligers"]))
    cas = rpc.create_staff(staff_payload("Cas Mertens", ["digitalisering"]))
    away = rpc.create_staff(staff_payload("Dirk Wouters", ["vrijwilligers"]))
    rpc.update_staff(away["staff_id"], {"active": False})
    busy = rpc.submit_request(intake_payload())["request_id"]
    rpc.explore(busy, {"staff_id": bram["staff_id"]})
    request_id = rpc.submit_request(intake_payload())["request_id"]
    suggestions = rpc.suggest_staff(request_id)
    assert [(s["staff_id"], s["overlap"], s["open_load"]) for s in suggestions] == [
        (ann["staff_id"], 1, 0), (bram["staff_id"], 1, 1), (cas["staff_id"], 0, 0)]
    assert {m["name"]: m["open_load"] for m in rpc.list_staff()}["Bram Claes"] == 1
    assert rpc.get_staff(cas["staff_id"])["themes"] == ["digitalisering"]
    with pytest.raises(NotFound):
        rpc.get_staff("nope")
    with pytest.raises(NotFound):
        rpc.suggest_staff("nope")
    with pytest.raises(ValidationFailed):
        rpc.accept(request_id, {"assignee": away["staff_id"]})  # inactive


def test_the_timer_flags_overdue_requests(rpc, services, db_engine, events):
    from nameko.testing.services import entrypoint_hook
    from nameko.testing.utils import get_container

    from services.requests.service import RequestsService

    late = rpc.submit_request(intake_payload())["request_id"]
    with db_engine.begin() as connection:
        connection.execute(update(requests).where(requests.c.request_id == late)
                           .values(answer_due_at=datetime.now(UTC) - timedelta(minutes=1)))
    with entrypoint_hook(get_container(services, RequestsService), "flag_overdue_requests") as fire:
        fire()
        fire()  # the next round: nothing new
    assert request_row(db_engine, late)["overdue_marked_at"] is not None
    (overdue,) = events.wait("request.overdue")
    assert assert_contract(overdue)["request_id"] == late
    assert [e["event_type"] for e in events.settle()] == ["request.received", "request.overdue"]


def test_overdue_flags_each_request_once_also_under_concurrent_rounds(rpc, db_engine, events, database_backend):
    late = [rpc.submit_request(intake_payload())["request_id"] for _ in range(3)]
    with db_engine.begin() as connection:
        connection.execute(update(requests).where(requests.c.request_id.in_(late))
                           .values(answer_due_at=datetime.now(UTC) - timedelta(minutes=1)))
    rounds = [rpc.mark_overdue.call_async() for _ in range(4)]
    assert sum(r.result() for r in rounds) == 3
    overdue = events.wait("request.overdue", 3)
    events.settle()
    assert sorted(e["data"]["request_id"] for e in events.of_type("request.overdue")) == sorted(late)
    assert len(overdue) == 3


def test_staff_intake_without_an_email_address(rpc, events):
    payload = intake_payload(email=None, phone="+32 470 12 34 56")
    del payload["privacy_consent"]
    view = rpc.record_request(payload)
    assert view["email"] is None and view["phone"] == "+32 470 12 34 56" and view["channel"] == "phone"
    del payload["email"]
    assert rpc.record_request({**payload, "phone": None})["email"] is None  # nothing at all
    (received, _) = events.wait("request.received", 2)
    assert assert_contract(received)["request_id"] == view["request_id"]
    assert rpc.contact_for_request(view["request_id"]) == {"name": "An Peeters", "email": None, "language": "nl"}
    assert [r["request_id"] for r in rpc.list_requests({"q": "an@"})] == []
    rows = list(csv.DictReader(io.StringIO(rpc.export_csv({}))))
    assert {row["email"] for row in rows} == {""}
    with pytest.raises(ValidationFailed) as refused:
        rpc.submit_request(intake_payload(email=None))
    assert set(refused.value.details) == {"email"}


def test_a_delivery_sent_twice_with_one_idempotency_key_is_recorded_once(rpc, events, database_backend):
    bram = rpc.create_staff(staff_payload())
    request_id = rpc.submit_request(intake_payload())["request_id"]
    rpc.explore(request_id, {})
    rpc.accept(request_id, {"assignee": bram["staff_id"]})
    today = datetime.now(UTC).date().isoformat()
    delivery = {"date": today, "form": "team_day", "dagdelen": 2, "participants": 8, "participations": 16,
                "idempotency_key": "0b7a9c1e-8f3d-4d2a-9a51-3f6e2c7d8b90"}
    first = rpc.record_delivery(request_id, delivery)
    assert rpc.record_delivery(request_id, delivery) == first  # the same form again: nothing more
    with pytest.raises(ValidationFailed) as refused:
        rpc.record_delivery(request_id, {**delivery, "idempotency_key": "not-a-key"})
    assert set(refused.value.details) == {"idempotency_key"}
    view = rpc.record_delivery(request_id, {**delivery, "idempotency_key": None})  # no key: always recorded
    assert view["totals"]["deliveries"] == 2
    assert len(events.wait("request.delivered", 2)) == 2
    assert len([e for e in events.settle() if e["event_type"] == "request.delivered"]) == 2


def test_notes_phone_requests_and_colleagues_sent_twice_with_one_key_are_made_once(rpc, events):
    member_key, request_key, note_key = (str(uuid.uuid4()) for _ in range(3))
    bram = rpc.create_staff({**staff_payload(), "idempotency_key": member_key})
    assert rpc.create_staff({**staff_payload(), "idempotency_key": member_key}) == bram
    assert bram["staff_id"] == member_key and len(rpc.list_staff()) == 1
    intake = {**intake_payload(), "idempotency_key": request_key}
    intake.pop("privacy_consent")
    recorded = rpc.record_request(intake)
    assert rpc.record_request(intake)["request_id"] == recorded["request_id"] == request_key
    assert len(events.wait("request.received")) == 1
    rpc.explore(request_key, {})
    rpc.add_note(request_key, {"text": "Eén keer", "idempotency_key": note_key})
    view = rpc.add_note(request_key, {"text": "Eén keer", "idempotency_key": note_key})
    assert [note["text"] for note in view["notes"]] == ["Eén keer"]
    assert [e["event_type"] for e in events.settle()] == ["request.received"]
