"""Erasing a requester in the request desk's domain (GDPR): contact details and literal
mentions of them go, the question and every funnel fact stay."""
from datetime import timedelta

from services.requests import domain
from services.requests.domain import Request
from tests.unit.requests.test_domain import NOW, POLICY

LATER = NOW + timedelta(days=3)
CONTACT = {"name": "Ann  Peeters", "email": "Ann.Peeters@Example.org", "phone": "+32 470 12 34 56"}
QUESTION = ("Ik ben ANN PEETERS van de Kaai. Hoe betrekken we nieuwe vrijwilligers? Bel me op 0032 470 12 34 56 "
            "of mail ann.peeters@example.org. Annemie Peeterskens helpt ook.")


def new_request() -> Request:
    request = Request.receive(
        channel="web", contact=CONTACT, profile=domain.requester_profile(None, "civiel_scw", POLICY),
        organisation_name="Buurtwerk van Ann Peeters", question=QUESTION, theme="vrijwilligers", now=NOW,
        due_at=domain.answer_due_at(NOW, 5), preferred_timing="na 17u, vraag naar Ann Peeters",
    )
    request.explore(NOW, notes="Gesprek met Ann Peeters (+32 470 12 34 56)", author="staff-1")
    request.accept("staff-1", NOW)
    request.deliver(delivered_on=NOW.date(), form="advice_conversation", dagdelen=1, participants=3,
                    participations=3, now=NOW, description="Advies aan ann.peeters@example.org en haar team")
    return request


def funnel(request: Request) -> tuple:
    return (request.request_id, request.status, request.channel, request.language, request.organisation_id,
            request.org_type, request.recognised, request.target_group, request.theme, request.goal,
            request.received_at, request.answer_due_at, request.answered_at, request.assignee,
            request.decline_reason, request.referred_to, request.decided_at, request.closed_at,
            [(d.delivered_on, d.form, d.dagdelen, d.participants, d.participations) for d in request.deliveries],
            request.totals())


def test_mentions_are_matched_in_any_case_spacing_and_phone_notation():
    mentions = domain.contact_mentions(CONTACT["name"], CONTACT["email"], CONTACT["phone"])
    assert domain.redact(QUESTION, mentions) == (
        "Ik ben [erased] van de Kaai. Hoe betrekken we nieuwe vrijwilligers? Bel me op [erased] "
        "of mail [erased]. Annemie Peeterskens helpt ook.")
    assert domain.redact(None, mentions) is None
    assert domain.contact_mentions(None, None, "12") == []


def test_erasing_the_requester_keeps_the_question_and_the_funnel():
    request = new_request()
    kept = funnel(request)
    assert request.erase_requester(LATER) is True
    assert (request.contact_name, request.contact_email, request.contact_phone) == ("erased", None, None)
    assert request.requester_erased
    texts = " ".join([request.question, request.preferred_timing, request.organisation_name,
                      *(n.text for n in request.notes), *(d.description for d in request.deliveries)]).lower()
    for personal in ("ann peeters", "ann.peeters@example.org", "470 12 34 56"):
        assert personal not in texts
    assert "hoe betrekken we nieuwe vrijwilligers?" in texts and "[erased]" in texts
    assert funnel(request) == kept
    assert request.updated_at == LATER


def test_erasing_twice_changes_nothing():
    request = new_request()
    request.erase_requester(LATER)
    state = (request.question, request.updated_at, [n.text for n in request.notes])
    assert request.erase_requester(LATER + timedelta(days=1)) is False
    assert (request.question, request.updated_at, [n.text for n in request.notes]) == state
