"""The request desk's domain without database or broker: the lifecycle (every allowed and every
forbidden transition), matching order and working-day arithmetic."""
from datetime import UTC, date, datetime, timedelta

import pytest

from kernel.config import CENTRE_TIMEZONE
from kernel.rules import OrgProfile, TargetGroupPolicy
from services.requests import domain
from services.requests.domain import (
    ACCEPTED,
    CLOSED,
    DECLINED,
    DELIVERED,
    EXPLORING,
    RECEIVED,
    STATUSES,
    TRANSITIONS,
    InvalidInput,
    Request,
    StaffMember,
    StateConflict,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
POLICY = TargetGroupPolicy("recognised")
CONTACT = {"name": "An Peeters", "email": "an@example.org", "phone": None}


def new_request(**overrides) -> Request:
    fields = dict(
        channel="web", contact=CONTACT, profile=domain.requester_profile(None, "civiel_scw", POLICY),
        question="Hoe betrekken we nieuwe vrijwilligers?", theme="vrijwilligers", now=NOW,
        due_at=domain.answer_due_at(NOW, 5),
    )
    fields.update(overrides)
    return Request.receive(**fields)


def delivery(request: Request, now=NOW, **overrides):
    fields = dict(delivered_on=now.date(), form="inhouse_training", dagdelen=2, participants=12,
                  participations=24, now=now)
    fields.update(overrides)
    return request.deliver(**fields)


ACTIONS = {
    "explore": lambda r: r.explore(NOW, notes="Gesprek gehad"),
    "accept": lambda r: r.accept("staff-1", NOW),
    "decline": lambda r: r.decline("long_term_coaching", NOW, referred_to="Partner vzw"),
    "deliver": lambda r: delivery(r),
    "close": lambda r: r.close(NOW),
}
# one way to bring a request into each status
PATHS = {
    RECEIVED: [],
    EXPLORING: ["explore"],
    ACCEPTED: ["explore", "accept"],
    DECLINED: ["explore", "decline"],
    DELIVERED: ["explore", "accept", "deliver"],
    CLOSED: ["explore", "accept", "deliver", "close"],
}
ALLOWED = {
    (RECEIVED, "explore"), (EXPLORING, "accept"), (EXPLORING, "decline"), (ACCEPTED, "deliver"),
    (DELIVERED, "deliver"), (DELIVERED, "close"),
}


def in_status(status: str) -> Request:
    request = new_request()
    for action in PATHS[status]:
        ACTIONS[action](request)
    assert request.status == status
    return request


def snapshot(request: Request) -> dict:
    state = {k: v for k, v in vars(request).items() if not k.startswith("_") and k not in ("notes", "deliveries")}
    return {**state, "notes": len(request.notes), "deliveries": len(request.deliveries)}


def test_the_transition_table_is_the_documented_lifecycle():
    assert {(start, action) for action, (starts, _) in TRANSITIONS.items() for start in starts} == ALLOWED
    assert {action: target for action, (_, target) in TRANSITIONS.items()} == {
        "explore": EXPLORING, "accept": ACCEPTED, "decline": DECLINED, "deliver": DELIVERED, "close": CLOSED,
    }


@pytest.mark.parametrize("status, action", sorted(ALLOWED))
def test_every_allowed_transition(status, action):
    request = in_status(status)
    assert request.can(action)
    ACTIONS[action](request)
    assert request.status == TRANSITIONS[action][1]


@pytest.mark.parametrize(
    "status, action",
    sorted((status, action) for status in STATUSES for action in ACTIONS if (status, action) not in ALLOWED),
)
def test_every_forbidden_transition_is_a_conflict_and_changes_nothing(status, action):
    request = in_status(status)
    before = snapshot(request)
    assert not request.can(action)
    with pytest.raises(StateConflict) as caught:
        ACTIONS[action](request)
    assert caught.value.details["status"] == status and caught.value.details["action"] == action
    assert snapshot(request) == before


def test_receiving_an_informal_initiative_and_its_event():
    request = new_request(goal="SD1.OD4")
    assert request.status == RECEIVED and request.answered_at is None
    assert request.received_event() == {
        "request_id": request.request_id, "organisation_id": None, "org_type": "civiel_scw", "recognised": False,
        "target_group": "secondary", "theme": "vrijwilligers", "goal": "SD1.OD4",
    }


def test_requester_profile_follows_the_target_group_policy():
    assert domain.requester_profile(None, None, POLICY).org_type == "individu"
    by_type = TargetGroupPolicy("org_type", ["civiel_scw"])
    assert domain.requester_profile(None, "civiel_scw", by_type).target_group == "primary"
    assert domain.requester_profile(None, "vereniging", POLICY).target_group == "secondary"  # not in the directory
    directory = OrgProfile("org-1", "vereniging", True, "primary")
    assert domain.requester_profile(directory, None, POLICY) is directory
    with pytest.raises(InvalidInput) as caught:
        domain.requester_profile(None, "club", POLICY)
    assert set(caught.value.details) == {"org_type"}


def test_exploring_answers_the_requester_and_keeps_notes():
    request = new_request()
    later = NOW + timedelta(days=1)
    request.explore(later, notes="Eerste gesprek", author="staff-1")
    assert request.answered_at == later and request.assignee == "staff-1"
    request.add_note("Tweede gesprek", later, author="staff-1")
    assert [n.text for n in request.notes] == ["Eerste gesprek", "Tweede gesprek"]
    with pytest.raises(StateConflict):
        new_request().add_note("te vroeg", NOW)
    declined = in_status(DECLINED)
    with pytest.raises(StateConflict):
        declined.add_note("na de beslissing", NOW)


def test_accept_decline_and_deliver_event_data():
    accepted = in_status(EXPLORING)
    assert accepted.accept("staff-9", NOW) == {"request_id": accepted.request_id, "assignee": "staff-9"}
    declined = in_status(EXPLORING)
    assert declined.decline("out_of_scope", NOW) == {
        "request_id": declined.request_id, "reason": "out_of_scope", "referred_to": None}
    first = delivery(accepted, participants=3, participations=3, dagdelen=1)
    second = delivery(accepted, form="board_day")
    assert first.event() == {"request_id": accepted.request_id, "dagdelen": 1, "participants": 3,
                             "participations": 3}
    assert second.form == "board_day"
    assert accepted.totals() == {"deliveries": 2, "dagdelen": 3, "participants": 15, "participations": 27}


def test_a_refused_decline_reason_or_delivery_changes_nothing():
    request = in_status(EXPLORING)
    before = snapshot(request)
    with pytest.raises(InvalidInput) as caught:
        request.decline("too_busy", NOW)
    assert set(caught.value.details) == {"reason"}
    assert snapshot(request) == before

    request = in_status(ACCEPTED)
    before = snapshot(request)
    with pytest.raises(InvalidInput) as caught:
        delivery(request, form="party", dagdelen=-1, participants=5, participations=2,
                 delivered_on=NOW.date() + timedelta(days=2))
    assert set(caught.value.details) == {"form", "dagdelen", "participations", "date"}
    assert snapshot(request) == before


# --- working days ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (date(2026, 3, 2), 5, date(2026, 3, 9)),    # Monday + 5 -> next Monday
        (date(2026, 3, 6), 1, date(2026, 3, 9)),    # Friday + 1 -> Monday
        (date(2026, 3, 7), 5, date(2026, 3, 13)),   # Saturday + 5 -> Friday
        (date(2026, 3, 8), 1, date(2026, 3, 9)),    # Sunday + 1 -> Monday
        (date(2026, 3, 4), 0, date(2026, 3, 4)),
        (date(2026, 3, 2), 10, date(2026, 3, 16)),
    ],
)
def test_add_working_days(start, days, expected):
    assert domain.add_working_days(start, days) == expected


def test_holidays_are_not_working_days():
    assert domain.add_working_days(date(2026, 3, 2), 1, {date(2026, 3, 3)}) == date(2026, 3, 4)
    with pytest.raises(ValueError):
        domain.add_working_days(date(2026, 3, 2), -1)


def test_answer_due_at_is_the_end_of_the_last_working_day_in_brussels():
    # Friday 23:30 in Brussels is Friday 22:30 UTC: the Friday counts as the day of receipt
    received = datetime(2026, 3, 6, 22, 30, tzinfo=UTC)
    due = domain.answer_due_at(received, 5)
    assert due == datetime(2026, 3, 14, 0, 0, tzinfo=CENTRE_TIMEZONE)  # end of Friday 13 March
    # just after local midnight it is already Saturday: five working days from Monday
    saturday = datetime(2026, 3, 6, 23, 30, tzinfo=UTC)
    assert domain.answer_due_at(saturday, 5) == datetime(2026, 3, 14, 0, 0, tzinfo=CENTRE_TIMEZONE)
    assert domain.answer_due_at(received, 1) == datetime(2026, 3, 10, 0, 0, tzinfo=CENTRE_TIMEZONE)


def test_overdue_only_without_an_answer_and_flagged_once():
    request = new_request()
    due = request.answer_due_at
    assert not request.overdue(due - timedelta(seconds=1))
    assert request.overdue(due)
    assert request.mark_overdue(due) is True and request.overdue_marked_at == due
    assert request.mark_overdue(due + timedelta(hours=1)) is False
    answered = new_request()
    answered.explore(NOW)
    assert not answered.overdue(due + timedelta(days=30))
    assert answered.mark_overdue(due + timedelta(days=30)) is False


def test_the_overdue_event_carries_the_request_and_its_term_and_nothing_personal():
    from kernel.envelope import new_event

    request = new_request()
    data = new_event("requests", "request.overdue", request.overdue_event())["data"]
    assert data == {"request_id": request.request_id, "received_at": NOW.isoformat(),
                    "answer_due_at": request.answer_due_at.isoformat()}
    assert "An Peeters" not in str(data) and "an@example.org" not in str(data)


def test_phone_intake_may_leave_the_email_out_and_the_public_form_may_not():
    from kernel.errors import ValidationFailed
    from kernel.inputs import load
    from services.requests.schemas import ContactSchema, PublicIntakeSchema, StaffIntakeSchema

    base = {"name": "An Peeters", "question": "Hoe?", "theme": "vrijwilligers"}
    for payload in ({**base, "phone": "+32 2 123 45 67"}, {**base, "email": None}, {**base, "email": "  "}, base):
        data = load(StaffIntakeSchema(), payload)
        assert data["email"] is None
    assert load(StaffIntakeSchema(), {**base, "email": "an@example.org"})["email"] == "an@example.org"
    with pytest.raises(ValidationFailed) as refused:
        load(StaffIntakeSchema(), {**base, "email": "not-an-address"})
    assert set(refused.value.details) == {"email"}
    for payload in ({**base, "privacy_consent": True}, {**base, "email": None, "privacy_consent": True},
                    {**base, "email": "", "privacy_consent": True}):
        with pytest.raises(ValidationFailed) as refused:
            load(PublicIntakeSchema(), payload)
        assert set(refused.value.details) == {"email"}
    request = new_request(channel="phone", contact={"name": "An Peeters", "email": None, "phone": "+32 2 123 45 67"})
    assert request.contact_email is None
    assert ContactSchema().dump({"name": "An", "email": None, "language": "nl"})["email"] is None


# --- matching ----------------------------------------------------------------------------------------------


def staff(name, themes, active=True) -> StaffMember:
    member = StaffMember.new(name, themes, NOW, staff_id=name.lower())
    member.active = active
    return member


def test_matching_ranks_theme_overlap_then_lightest_load_then_name():
    team = [
        staff("Bram", ["Vrijwilligers", "bestuur"]),
        staff("Ann", ["vrijwilligers"]),
        staff("Cas", ["digitalisering"]),
        staff("Dirk", ["vrijwilligers "]),
        staff("Eva", ["vrijwilligers"], active=False),
    ]
    ranked = domain.rank_staff(team, ["vrijwilligers"], {"bram": 1, "ann": 3, "dirk": 1, "cas": 0})
    assert [(s.staff.name, s.overlap, s.open_load) for s in ranked] == [
        ("Bram", 1, 1), ("Dirk", 1, 1), ("Ann", 1, 3), ("Cas", 0, 0),
    ]


def test_staff_themes_are_deduplicated_and_updated():
    member = StaffMember.new("Ann", ["Bestuur", "bestuur", " ", "Diversiteit"], NOW)
    assert member.themes == ["Bestuur", "Diversiteit"]
    member.update({"themes": ["participatie"], "active": False}, NOW)
    assert (member.themes, member.active) == (["participatie"], False)
