"""The registration domain without database or broker: plain objects, explicit time."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kernel.rules import OrgProfile, TargetGroupPolicy
from services.registration import domain
from services.registration.domain import (
    AccessDenied,
    Activity,
    InvalidInput,
    Organisation,
    Person,
    StateConflict,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = TargetGroupPolicy("recognised")


def activity(**overrides) -> Activity:
    fields = {
        "title": "Vorming vrijwilligersbeleid",
        "kind": "vorming",
        "theme": "vrijwilligers",
        "goal": "SD1.OD4",
        "format": "offline",
        "starts_at": NOW + timedelta(days=10),
        "ends_at": NOW + timedelta(days=11),
        "days": 2,
        "dagdelen": 4,
        "capacity": 2,
        "location": "Brussel",
    }
    fields.update(overrides)
    return Activity.schedule(fields, NOW)


def person(n: int | str) -> Person:
    return Person.new(f"email:p{n}@example.org", f"Person {n}", f"p{n}@example.org", NOW)


INDIVIDUAL = domain.profile_without_organisation("individual", POLICY)


def register(act: Activity, who: Person, now=NOW, **kwargs):
    """Register and keep the registration with its activity, as storing it does."""
    made = act.register(who, INDIVIDUAL, now, **kwargs)
    act.registrations.append(made.registration)
    return made


# --- target group ------------------------------------------------------------------------------------------


def test_recognised_policy_makes_recognised_organisations_primary():
    assert POLICY.target_group("vereniging", True) == "primary"
    assert POLICY.target_group("vereniging", False) == "secondary"
    assert POLICY.target_group("overheid", True) == "primary"


def test_org_type_policy_looks_only_at_the_type():
    policy = TargetGroupPolicy("org_type", ["vereniging", "beweging"])
    assert policy.target_group("vereniging", False) == "primary"
    assert policy.target_group("volkshogeschool", True) == "secondary"


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError):
        TargetGroupPolicy("whatever")


def test_organisation_update_recomputes_target_group():
    org = Organisation.register("Vzw X", "vereniging", False, POLICY, NOW)
    assert org.target_group == "secondary"
    org.update({"recognised": True}, POLICY, NOW + timedelta(hours=1))
    assert (org.target_group, org.updated_at) == ("primary", NOW + timedelta(hours=1))
    with pytest.raises(InvalidInput) as caught:
        org.update({"org_type": "nope"}, POLICY, NOW)
    assert "org_type" in caught.value.details


def test_without_organisation_individuals_and_informal_initiatives():
    assert INDIVIDUAL == OrgProfile(None, "individu", False, "secondary")
    informal = domain.profile_without_organisation("informal_initiative", POLICY)
    assert (informal.org_type, informal.recognised, informal.target_group) == ("civiel_scw", False, "secondary")


# --- persons -----------------------------------------------------------------------------------------------


def test_person_identity_is_the_normalised_email_or_begeleider_plus_name():
    assert domain.person_identity("An", " An@Example.ORG ") == "email:an@example.org"
    a = domain.person_identity("Jan  Peeters", None, "Coach@X.be")
    b = domain.person_identity(" jan peeters ", "", "coach@x.be")
    assert a == b == "begeleider:coach@x.be:jan peeters"
    assert domain.person_identity("Piet", None, "coach@x.be") != a
    with pytest.raises(InvalidInput) as caught:
        domain.person_identity("Jan", None, None)
    assert "email" in caught.value.details


# --- capacity, waitlist, duplicates, promotion -------------------------------------------------------------


def test_capacity_then_ordered_waitlist():
    act = activity(capacity=2)
    results = [register(act, person(i), NOW + timedelta(seconds=i)) for i in range(5)]
    assert [r.registration.status for r in results] == ["confirmed"] * 2 + ["waitlisted"] * 3
    assert [r.waitlist_position for r in results] == [None, None, 1, 2, 3]
    assert act.seats() == {"confirmed": 2, "waitlisted": 3, "available": 0}
    assert [r.registration_id for r in act.waitlist] == [r.registration.registration_id for r in results[2:]]


def test_unlimited_capacity_confirms_everyone():
    act = activity(capacity=None)
    assert all(register(act, person(i)).registration.status == "confirmed" for i in range(50))
    assert act.seats() == {"confirmed": 50, "waitlisted": 0, "available": None}


def test_zero_capacity_waitlists_everyone():
    act = activity(capacity=0)
    assert register(act, person(1)).registration.status == "waitlisted"


def test_cancel_token_is_kept_only_as_a_hash():
    new = register(activity(), person(1))
    assert new.cancel_token and new.registration.cancel_token_hash == domain.hash_token(new.cancel_token)
    assert new.cancel_token not in vars(new.registration).values()


def test_registering_again_after_cancelling_goes_to_the_end_of_the_waitlist():
    # a second active registration is refused by the database (tests/integration/registration)
    act = activity(capacity=1)
    one, two = person(1), person(2)
    first = register(act, one)
    waitlisted = register(act, two)
    act.cancel_registration(first.registration, "participant", NOW)
    again = register(act, one)
    assert (again.registration.status, again.waitlist_position) == ("waitlisted", 1)
    assert waitlisted.registration.status == "confirmed"
    assert act.seats() == {"confirmed": 1, "waitlisted": 1, "available": 0}


def test_the_duplicate_refusal_says_why():
    refusal = domain.duplicate_registration()
    assert isinstance(refusal, StateConflict) and refusal.details == {"reason": "duplicate"}


def test_cancelling_a_confirmed_registration_promotes_the_first_waitlisted():
    act = activity(capacity=1)
    confirmed, second, third = (register(act, person(i)).registration for i in range(3))
    promoted = act.cancel_registration(confirmed, "participant", NOW)
    assert promoted == [second]
    assert (second.status, third.status) == ("confirmed", "waitlisted")
    assert (confirmed.status, confirmed.cancelled_by) == ("cancelled", "participant")
    assert act.waitlist_position(third) == 1


def test_cancelling_a_waitlisted_registration_promotes_nobody_and_shifts_positions():
    act = activity(capacity=1)
    regs = [register(act, person(i)).registration for i in range(4)]
    assert act.cancel_registration(regs[1], "staff", NOW) == []
    assert act.waitlist_positions() == {regs[2].registration_id: 1, regs[3].registration_id: 2}


def test_cancelling_twice_is_a_conflict():
    act = activity()
    reg = register(act, person(1)).registration
    act.cancel_registration(reg, "participant", NOW)
    with pytest.raises(StateConflict):
        act.cancel_registration(reg, "staff", NOW)


def test_raising_capacity_promotes_in_order():
    act = activity(capacity=1)
    regs = [register(act, person(i)).registration for i in range(4)]
    promoted = act.update({"capacity": 3}, NOW)
    assert promoted == regs[1:3]
    assert act.seats() == {"confirmed": 3, "waitlisted": 1, "available": 0}
    assert act.update({"capacity": None}, NOW) == [regs[3]]


def test_capacity_below_confirmed_is_a_conflict():
    act = activity(capacity=3)
    for i in range(3):
        register(act, person(i))
    with pytest.raises(StateConflict):
        act.update({"capacity": 2}, NOW)


def test_new_registrations_go_behind_the_existing_waitlist():
    act = activity(capacity=1)
    regs = [register(act, person(i)).registration for i in range(3)]
    act.cancel_registration(regs[2], "participant", NOW)
    late = register(act, person(9))
    assert late.waitlist_position == 2
    assert [r.registration_id for r in act.waitlist] == [regs[1].registration_id, late.registration.registration_id]


# --- invitation-only, window ---------------------------------------------------------------------------------


def test_invitation_only_needs_the_code():
    act = activity(invitation_only=True)
    assert act.invitation_code
    with pytest.raises(AccessDenied):
        register(act, person(1))
    with pytest.raises(AccessDenied):
        register(act, person(1), invitation_code="wrong")
    assert register(act, person(1), invitation_code=act.invitation_code).registration.status == "confirmed"


def test_open_activity_has_no_invitation_code():
    act = activity()
    assert act.invitation_code is None
    act.update({"invitation_only": True}, NOW)
    assert act.invitation_code
    act.update({"invitation_only": False}, NOW)
    assert act.invitation_code is None


def test_registration_window_defaults_to_closing_at_start():
    act = activity()
    with pytest.raises(StateConflict, match="registration closed"):
        register(act, person(1), now=act.starts_at)
    assert register(act, person(2), now=act.starts_at - timedelta(seconds=1)).registration.status == "confirmed"


def test_registration_window_opens_and_closes():
    act = activity(registration_opens_at=NOW + timedelta(days=1), registration_closes_at=NOW + timedelta(days=5))
    for moment in (NOW, NOW + timedelta(days=5)):
        assert not act.registration_open(moment)
        with pytest.raises(StateConflict, match="registration closed"):
            register(act, person(1), now=moment)
    assert act.registration_open(NOW + timedelta(days=2))
    register(act, person(1), now=NOW + timedelta(days=2))


def test_no_registration_on_cancelled_or_completed_activity():
    act = activity()
    act.cancel("trainer ziek", NOW)
    with pytest.raises(StateConflict, match="registration closed"):
        register(act, person(1))


# --- activity validation and transitions ---------------------------------------------------------------------


def test_activity_cross_field_rules():
    with pytest.raises(InvalidInput) as caught:
        activity(
            format="online", online_link=None, ends_at=NOW, price_eur=Decimal("10"),
            reduced_price_eur=Decimal("20"),
        )
    assert {"online_link", "ends_at", "reduced_price_eur"} <= set(caught.value.details)
    with pytest.raises(InvalidInput) as caught:
        activity(registration_opens_at=NOW + timedelta(days=3), registration_closes_at=NOW + timedelta(days=2))
    assert "registration_closes_at" in caught.value.details


def test_invalid_update_changes_nothing_visible_to_the_caller():
    act = activity()
    with pytest.raises(InvalidInput):
        act.update({"kind": "party"}, NOW)


def test_cancelling_an_activity_cancels_its_active_registrations_by_system():
    act = activity(capacity=1)
    regs = [register(act, person(i)).registration for i in range(3)]
    act.cancel_registration(regs[2], "participant", NOW)
    cancelled = act.cancel("te weinig inschrijvingen", NOW)
    assert cancelled == regs[:2]
    assert all(r.cancelled_by == "system" for r in cancelled)
    assert regs[2].cancelled_by == "participant"
    assert act.status == "cancelled" and act.cancel_reason == "te weinig inschrijvingen"


def test_transitions():
    act = activity()
    with pytest.raises(StateConflict):
        act.complete(NOW)  # not started yet
    act.complete(act.starts_at)
    assert act.status == "completed"
    for change in (lambda: act.cancel("x", NOW), lambda: act.complete(NOW), lambda: act.update({"title": "y"}, NOW)):
        with pytest.raises(StateConflict):
            change()
    cancelled = activity()
    cancelled.cancel("x", NOW)
    with pytest.raises(StateConflict):
        cancelled.complete(cancelled.starts_at)
    with pytest.raises(StateConflict):
        cancelled.cancel("again", NOW)


# --- attendance --------------------------------------------------------------------------------------------


def test_attendance_rules():
    act = activity(capacity=1, days=2)
    confirmed = register(act, person(1)).registration
    waitlisted = register(act, person(2)).registration
    started = act.starts_at
    with pytest.raises(StateConflict):
        act.record_attendance(confirmed, 1, NOW)  # not started
    with pytest.raises(StateConflict):
        act.record_attendance(waitlisted, 1, started)
    for bad in (0, 3):
        with pytest.raises(InvalidInput) as caught:
            act.record_attendance(confirmed, bad, started)
        assert "days_attended" in caught.value.details
    act.record_attendance(confirmed, 2, started)
    act.record_attendance(confirmed, 1, started)  # a correction
    assert confirmed.days_attended == 1
    act.complete(started)
    act.record_attendance(confirmed, 2, started + timedelta(days=3))  # after completion is fine
    event = confirmed.attendance_event()
    assert event["days_attended"] == 2 and event["person_id"] == confirmed.person_id


def test_no_attendance_for_a_cancelled_activity():
    act = activity()
    reg = register(act, person(1)).registration
    act.cancel("afgelast", NOW)
    with pytest.raises(StateConflict):
        act.record_attendance(reg, 1, act.starts_at)


def test_events_carry_no_personal_data():
    act = activity()
    new = act.register(
        person(1), INDIVIDUAL, NOW, role="vrijwilliger", needs={"dietary": "vegan"},
        begeleider={"name": "Coach", "email": "coach@x.be"},
    )
    data = new.registration.created_event()
    assert set(data) == {
        "registration_id", "activity_id", "person_id", "organisation_id", "org_type", "recognised",
        "target_group", "role", "status",
    }
    assert "p1@example.org" not in str(data) and "Coach" not in str(data)
    assert set(act.scheduled_event()) == {
        "activity_id", "kind", "theme", "goal", "format", "starts_at", "ends_at", "days", "dagdelen", "capacity",
    }


def test_needs_are_normalised():
    assert domain.normalise_needs({"childcare": True, "dietary": "  ", "other": " rolstoel "}) == {
        "accessibility": False, "sign_language_interpreter": False, "childcare": True,
        "dietary": None, "other": "rolstoel",
    }


def test_a_coordinator_registers_with_that_role_and_an_unknown_role_is_refused():
    act = activity()
    new = act.register(person(1), INDIVIDUAL, NOW, role="coordinator")
    assert new.registration.created_event()["role"] == "coordinator"
    with pytest.raises(InvalidInput):
        act.register(person(2), INDIVIDUAL, NOW, role="coördinatie")


# --- minimum, postponement, promotion by hand, attention -------------------------------------------------


def test_a_minimum_above_the_capacity_is_refused():
    with pytest.raises(InvalidInput) as refused:
        activity(capacity=3, min_participants=4)
    assert set(refused.value.details) == {"min_participants"}
    with pytest.raises(InvalidInput):
        activity(min_participants=0)
    assert activity(capacity=None, min_participants=40).min_participants == 40


def test_attention_minimum_before_the_start_full_and_ended_not_completed():
    act = activity(capacity=2, min_participants=2)
    assert act.attention(NOW) == [domain.MINIMUM_NOT_REACHED]
    register(act, person(1))
    assert act.attention(NOW) == [domain.MINIMUM_NOT_REACHED]
    register(act, person(2))
    assert act.attention(NOW) == [domain.FULL]
    after_the_end = act.ends_at + timedelta(minutes=1)
    assert act.attention(after_the_end) == [domain.NOT_COMPLETED]  # no longer "full", nor the minimum
    act.complete(after_the_end)
    assert act.attention(after_the_end) == []


def test_postponing_keeps_registrations_and_the_first_planned_start():
    act = activity()
    first_start = act.starts_at
    register(act, person(1))
    act.postpone(first_start + timedelta(days=30), act.ends_at + timedelta(days=30), "trainer ill", NOW)
    act.postpone(first_start + timedelta(days=60), act.ends_at + timedelta(days=60), "room lost", NOW)
    assert (act.postponed_from, act.postpone_reason, act.postponed_at) == (first_start, "room lost", NOW)
    assert act.starts_at == first_start + timedelta(days=60) and act.confirmed_count == 1
    with pytest.raises(InvalidInput):  # the same dates are no postponement
        act.postpone(act.starts_at, act.ends_at, "again", NOW)
    with pytest.raises(InvalidInput):  # an end before the start is refused, the dates unchanged
        act.postpone(act.starts_at + timedelta(days=5), act.starts_at, "wrong", NOW)
    assert act.starts_at == first_start + timedelta(days=60)
    act.cancel("no room", NOW)
    with pytest.raises(StateConflict):
        act.postpone(first_start, first_start + timedelta(days=1), "too late", NOW)


def test_promotion_by_hand_takes_anyone_on_the_waitlist_and_grows_a_full_capacity():
    act = activity(capacity=1)
    register(act, person(1))
    second, third = register(act, person(2)).registration, register(act, person(3)).registration
    assert act.promote_by_hand(third, NOW) is True  # no seat was free: one more
    assert (third.status, act.capacity, act.confirmed_count, act.waitlisted_count) == ("confirmed", 2, 2, 1)
    assert act.waitlist_position(second) == 1
    with pytest.raises(StateConflict):
        act.promote_by_hand(third, NOW)  # already confirmed
    act.update({"capacity": 3}, NOW)  # the free seat goes to the head of the waitlist
    assert second.status == "confirmed"


def test_a_staged_organisation_is_unconfirmed_and_not_recognised_until_staff_confirm_it():
    staged = Organisation.stage("Buurtwerk", "vereniging", POLICY, NOW)
    assert (staged.confirmed, staged.recognised, staged.target_group) == (False, False, "secondary")
    staged.update({"confirmed": True, "recognised": True}, POLICY, NOW)
    assert (staged.confirmed, staged.recognised, staged.target_group) == (True, True, "primary")
    with pytest.raises(InvalidInput):
        Organisation.stage("Jan", "individu", POLICY, NOW)
