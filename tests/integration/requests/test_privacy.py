"""A requester's export and erasure in the requests service (GDPR), over the real RabbitMQ:
every request made with the address (any case) is exported, then anonymised in one unit of work with
one `request.requester_erased` each; the question stays (minus literal mentions of the contact), the
funnel facts do not change, other requesters are untouched, and a second erasure does nothing."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kernel.errors import ValidationFailed
from services.requests.models import deliveries, request_notes, requests
from tests.integration.privacy.support import personal_hits
from tests.integration.requests.conftest import intake_payload, staff_payload
from tests.integration.requests.test_service import assert_contract

PERSONAL = ["An Peeters", "an@example.org", "470 12 34 56"]
FUNNEL = ("request_id", "status", "channel", "language", "organisation_id", "org_type", "recognised", "target_group",
          "theme", "goal", "assignee", "received_at", "answer_due_at", "answered_at", "decline_reason",
          "referred_to", "decided_at", "closed_at")


def funnel(engine) -> list[tuple]:
    with engine.connect() as connection:
        rows = [tuple(r) for r in connection.execute(
            select(*(requests.c[name] for name in FUNNEL)).order_by(requests.c.request_id))]
        rows += [tuple(r) for r in connection.execute(
            select(deliveries.c.delivery_id, deliveries.c.delivered_on, deliveries.c.form, deliveries.c.dagdelen,
                   deliveries.c.participants, deliveries.c.participations).order_by(deliveries.c.delivery_id))]
    return rows


def test_a_requester_is_exported_and_erased(rpc, events, db_engine, platform_config):
    staff = rpc.create_staff(staff_payload())
    first = rpc.submit_request(intake_payload(
        phone="+32 470 12 34 56", question="Ik ben An Peeters. Hoe betrekken we nieuwe vrijwilligers?"))["request_id"]
    second = rpc.submit_request(intake_payload(email="AN@Example.org", phone=None, theme="bestuur",
                                               question="Hoe vernieuwen we ons bestuur?"))["request_id"]
    other = rpc.submit_request(intake_payload(name="Wim Wouters", email="wim@example.org", phone=None))["request_id"]
    rpc.explore(first, {"notes": "Gebeld met An Peeters op +32 470 12 34 56", "staff_id": staff["staff_id"]})
    rpc.accept(first, {"assignee": staff["staff_id"]})
    rpc.record_delivery(first, {"date": datetime.now(UTC).date().isoformat(), "form": "advice_conversation",
                                "dagdelen": 1, "participants": 4, "participations": 4,
                                "description": "Adviesgesprek met An Peeters en haar kern"})

    exported = rpc.export_requester(" an@EXAMPLE.org")["requests"]
    assert [r["request_id"] for r in exported] == [first, second]
    assert exported[0]["name"] == "An Peeters" and exported[0]["phone"] == "+32 470 12 34 56"
    assert exported[0]["question"].startswith("Ik ben An Peeters")
    assert exported[0]["notes"][0]["text"].startswith("Gebeld met An Peeters")
    assert exported[0]["deliveries"][0]["description"].startswith("Adviesgesprek")
    assert rpc.export_requester("nobody@example.org") == {"requests": []}
    with pytest.raises(ValidationFailed):
        rpc.export_requester(None)

    before = funnel(db_engine)
    url = platform_config["DATABASES"]["requests"]
    assert len(personal_hits(url, PERSONAL)) >= 5
    events.wait("request.delivered")

    assert rpc.erase_requester("an@example.org") == {"request_ids": [first, second], "erased": 2}
    erased = events.wait("request.requester_erased", 2)
    assert sorted(assert_contract(e)["request_id"] for e in erased) == sorted([first, second])

    assert personal_hits(url, PERSONAL) == []
    assert funnel(db_engine) == before
    view = rpc.get_request(first)
    assert (view["name"], view["email"], view["phone"]) == ("erased", None, None)
    assert view["question"] == "Ik ben [erased]. Hoe betrekken we nieuwe vrijwilligers?"
    assert view["notes"][0]["text"] == "Gebeld met [erased] op [erased]"
    assert view["totals"] == {"deliveries": 1, "dagdelen": 1, "participants": 4, "participations": 4}
    assert rpc.get_request(other)["name"] == "Wim Wouters"
    assert rpc.contact_for_request(second)["email"] is None  # notifications has nobody to write to
    with db_engine.connect() as connection:
        assert connection.execute(select(request_notes.c.text)).scalars().all() == ["Gebeld met [erased] op [erased]"]

    assert rpc.export_requester("an@example.org") == {"requests": []}
    assert rpc.erase_requester("an@example.org") == {"request_ids": [], "erased": 0}
    events.settle(0.5)
    assert len(events.of_type("request.requester_erased")) == 2
