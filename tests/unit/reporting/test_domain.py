"""The reporting domain without a database: merging, contributions, deltas, documents, thresholds."""
from __future__ import annotations

from datetime import datetime

from kernel.envelope import new_event
from services.reporting import domain
from services.reporting.domain import Contribution, Delta, Facts

# The annual document of DESIGN.md, as printed there (a year with nothing measured), with the
# fields of its section "Annual document 1.1" (extend_empty below).
EMPTY_ANNUAL = {
    "year": 2026,
    "open_offer": {"activities": 0, "activities_by_format": {"offline": 0, "online": 0, "blended": 0},
                   "cancelled_activities": 0, "dagdelen": 0, "avg_dagdelen_per_activity": None,
                   "participants": 0, "participants_by_target_group": {"primary": 0, "secondary": 0},
                   "primary_pct": None,
                   "participants_by_org_type": {}, "unique_participants": 0,
                   "unique_participants_by_target_group": {"primary": 0, "secondary": 0}, "participations": 0,
                   "organisations_reached": 0, "organisations_reached_by_target_group": {"primary": 0, "secondary": 0},
                   "satisfaction_pct": None, "evaluations": 0,
                   "nps": {"score": None, "promoters_pct": None, "passives_pct": None, "detractors_pct": None,
                           "respondents": 0, "activities_measured": 0},
                   "recognised_reach": {"reached": 0, "total": 0, "pct": None, "by_org_type": {}}},
    "demand_driven": {"requests_received": 0, "requests_accepted": 0, "requests_declined": 0,
                      "requests_referred": 0, "requests_delivered": 0,
                      "requests_delivered_by_target_group": {"primary": 0, "secondary": 0}, "dagdelen": 0,
                      "participants": 0, "participants_by_target_group": {"primary": 0, "secondary": 0},
                      "participations": 0, "organisations_reached": 0,
                      "organisations_reached_by_target_group": {"primary": 0, "secondary": 0}},
    "totals": {"activities": 0, "dagdelen": 0, "participants": 0, "organisations_reached": 0,
               "organisations_reached_tracks_added": 0,
               "recognised_reach": {"reached": 0, "total": 0, "pct": None}},
}
EMPTY_ANNUAL["open_offer"].update({
    "unique_participants_by_org_type": {}, "participations_by_org_type": {}, "organisations_reached_by_org_type": {},
    "participations_by_target_group": {"primary": 0, "secondary": 0}, "coordinators_pct": None,
    "by_goal": {}, "by_theme": {}, "by_kind": {},
})
EMPTY_ANNUAL["demand_driven"].update({
    "dagdelen_by_target_group": {"primary": 0, "secondary": 0},
    "participations_by_target_group": {"primary": 0, "secondary": 0},
    "participants_by_org_type": {}, "organisations_reached_by_org_type": {}, "requests_delivered_by_goal": {},
})


def ev(event_type, at, **data):
    producer = {"evaluation": "evaluation", "request": "requests"}.get(event_type.split(".")[0], "registration")
    return new_event(producer, event_type, data, occurred_at=datetime.fromisoformat(at))


def scheduled(at="2026-01-01T09:00:00+00:00", starts="2026-03-01T09:00:00+00:00", **overrides):
    data = dict(activity_id="a", kind="vorming", theme="t", goal=None, format="offline",
                starts_at=datetime.fromisoformat(starts), ends_at=datetime.fromisoformat(starts), days=1,
                dagdelen=2, capacity=4)
    data.update(overrides)
    return ev("activity.scheduled", at, **data)


def attended(registration_id, person, days=1, at="2026-03-01T17:00:00+00:00", org=("o1", "vereniging", True)):
    return ev("attendance.recorded", at, registration_id=registration_id, activity_id="a", person_id=person,
              organisation_id=org[0], org_type=org[1], recognised=org[2],
              target_group="primary" if org[2] else "secondary", role=None, days_attended=days)


def created(registration_id, status="confirmed"):
    return ev("registration.created", "2026-02-01T09:00:00+00:00", registration_id=registration_id,
              activity_id="a", person_id=f"p-{registration_id}", organisation_id=None, org_type="individu",
              recognised=False, target_group="secondary", role=None, status=status)


def merged(events) -> Facts:
    facts = Facts()
    for event in events:
        domain.merge(facts, event)
    return facts


def test_the_empty_annual_document_is_exactly_the_design():
    document = domain.annual_document(2026, {}, {})
    assert document == EMPTY_ANNUAL
    assert list(document) == list(EMPTY_ANNUAL)
    assert list(document["open_offer"]) == list(EMPTY_ANNUAL["open_offer"])
    assert list(document["demand_driven"]) == list(EMPTY_ANNUAL["demand_driven"])


def test_nps_is_rounded_to_a_whole_number_from_the_unrounded_shares():
    # 1 promoter, 1 passive, 0 detractors of 2: 50 -> 50; 1 of 8 promoters: 12.5 -> 13 (half up)
    assert domain.nps(1, 1, 0)["score"] == 50
    assert domain.nps(1, 7, 0)["score"] == 13
    assert domain.nps(0, 7, 1)["score"] == -13
    result = domain.nps(1, 1, 1)
    assert result == {"score": 0, "promoters_pct": 33.3, "passives_pct": 33.3, "detractors_pct": 33.3,
                      "respondents": 3}
    assert domain.nps(2, 0, 1)["score"] == 33  # 66.67 - 33.33
    assert domain.nps(0, 0, 0)["score"] is None


def test_percentages_have_one_decimal_and_are_null_when_nothing_was_measured():
    assert domain.pct(2, 3) == 66.7
    assert domain.pct(1, 8) == 12.5
    assert domain.pct(1, 16) == 6.3  # 6.25 rounds half up
    assert domain.pct(0, 0) is None
    assert domain.pct(5, None) is None
    assert domain.satisfaction_pct(17, 3) == 56.7
    assert domain.satisfaction_pct(0, 0) is None


def test_year_and_day_come_from_starts_at_in_brussels():
    facts = merged([scheduled(starts="2025-12-31T23:30:00+00:00"), ev("activity.completed", "2026-01-02T00:00:00+00:00",
                                                                         activity_id="a")])
    counters = domain.activity_contribution(facts.activity("a")).counters
    assert counters[("year:2026", "activities")] == 1
    assert counters[("month:2026-01", "activities:offline")] == 1
    assert counters[("day:2026-01-01", "dagdelen")] == 2
    assert ("year:2025", "activities") not in counters


def test_registration_status_is_the_same_in_any_order():
    events = [created("r1", "waitlisted"), ev("registration.confirmed", "2026-02-02T09:00:00+00:00",
                                              registration_id="r1", activity_id="a"),
              ev("registration.cancelled", "2026-02-03T09:00:00+00:00", registration_id="r1", activity_id="a",
                 cancelled_by="participant")]
    for order in (events, events[::-1], [events[2], events[0], events[1]]):
        assert merged(order).activity("a").registrations["r1"].status == "cancelled"
    assert merged(events[:2]).activity("a").registrations["r1"].status == "confirmed"
    assert merged(events[1::-1]).activity("a").registrations["r1"].status == "confirmed"
    assert merged(events[:1]).activity("a").registrations["r1"].status == "waitlisted"


def test_a_corrected_attendance_replaces_the_earlier_one_whatever_the_arrival_order():
    first = attended("r1", "p1", days=1, at="2026-03-01T17:00:00+00:00")
    correction = attended("r1", "p1", days=2, at="2026-03-02T09:00:00+00:00")
    for order in ([first, correction], [correction, first]):
        facts = merged([scheduled(), *order, ev("activity.completed", "2026-03-02T10:00:00+00:00", activity_id="a")])
        counters = domain.activity_contribution(facts.activity("a")).counters
        assert counters[("year:2026", "participants")] == 1
        assert counters[("year:2026", "participations")] == 2


def test_the_earliest_terminal_state_wins():
    cancelled = ev("activity.cancelled", "2026-02-20T09:00:00+00:00", activity_id="a", reason="ziek")
    completed = ev("activity.completed", "2026-03-02T09:00:00+00:00", activity_id="a")
    for order in ([cancelled, completed], [completed, cancelled]):
        facts = merged([scheduled(), attended("r1", "p1"), *order])
        contribution = domain.activity_contribution(facts.activity("a"))
        assert contribution.counters == {("year:2026", "cancelled_activities"): 1,
                                         ("month:2026-03", "cancelled_activities"): 1,
                                         ("day:2026-03-01", "cancelled_activities"): 1}
        assert contribution.members == set()


def test_participants_join_distinct_sets_by_hash_never_by_person_id():
    facts = merged([scheduled(), attended("r1", "person-1"), attended("r2", "person-1"),
                    attended("r3", "person-2", org=("o4", "overheid", False))])
    contribution = domain.activity_contribution(facts.activity("a"))
    members = {(s, n, m) for s, n, m in contribution.members if s == "year:2026"}
    persons = {m for s, n, m in members if n == "persons"}
    assert len(persons) == 2 and "person-1" not in persons
    assert ("year:2026", "rorgs:vereniging", "o1") in members
    assert ("year:2026", "orgs:secondary", "o4") in members
    assert not any(n.startswith("rorgs") and m == "o4" for _, n, m in members)
    assert contribution.counters[("year:2026", "participants")] == 3


def test_recomputing_a_unit_gives_a_zero_delta_and_a_change_gives_only_the_difference():
    facts = merged([scheduled(), attended("r1", "p1"), ev("activity.completed", "2026-03-02T09:00:00+00:00",
                                                          activity_id="a")])
    first = domain.activity_contribution(facts.activity("a"))
    delta = Delta()
    delta.add(first, domain.activity_contribution(facts.activity("a")))
    delta = delta.compact()
    assert not delta.counters and not delta.members
    domain.merge(facts, attended("r2", "p2"))
    delta = Delta()
    delta.add(first, domain.activity_contribution(facts.activity("a")))
    delta = delta.compact()
    assert delta.counters[("year:2026", "participants")] == 1
    assert delta.counters[("year:2026", "participations")] == 1
    assert ("year:2026", "dagdelen") not in delta.counters
    assert all(change == 1 for change in delta.members.values())
    assert Contribution.from_json(first.to_json()) == first


def test_request_funnel_counts_to_the_year_received_and_volumes_to_the_year_delivered():
    facts = merged([
        ev("request.received", "2025-12-20T09:00:00+00:00", request_id="q", organisation_id="o1",
           org_type="vereniging", recognised=True, target_group="primary", theme="t", goal=None),
        ev("request.declined", "2025-12-21T09:00:00+00:00", request_id="q", reason="other", referred_to="X"),
        ev("request.accepted", "2025-12-22T09:00:00+00:00", request_id="q", assignee="s"),  # the later decision
        ev("request.delivered", "2026-01-05T09:00:00+00:00", request_id="q", dagdelen=2, participants=7,
           participations=9),
    ])
    c = domain.request_contribution(facts.request("q"))
    assert c.counters[("year:2025", "requests_received")] == 1
    assert c.counters[("year:2025", "requests_accepted")] == 1
    assert ("year:2025", "requests_declined") not in c.counters
    assert c.counters[("year:2025", "requests_delivered:primary")] == 1
    assert c.counters[("year:2026", "dd_participants:primary")] == 7
    assert ("year:2026", "all_rorgs", "o1") in c.members
    assert ("year:2025", "dd_dagdelen") not in c.counters


def test_documents_from_counters():
    counters = {"activities": 3, "activities:online": 3, "dagdelen": 7, "participants": 4, "participants:primary": 3,
                "participants:secondary": 1, "participants_org:vereniging": 3, "participants_org:individu": 1,
                "respondents": 3, "satisfaction_sum": 20, "promoters": 2, "detractors": 1,
                "activities_measured": 1, "distinct:rorgs": 1, "distinct:rorgs:vereniging": 1,
                "distinct:all_rorgs": 2, "dd_dagdelen": 1}
    directory = {"recognised_orgs": 3, "recognised_orgs:vereniging": 2, "recognised_orgs:beweging": 1}
    document = domain.annual_document(2026, counters, directory)
    oo = document["open_offer"]
    assert oo["avg_dagdelen_per_activity"] == 2.3
    assert oo["primary_pct"] == 75.0
    assert oo["participants_by_org_type"] == {"individu": 1, "vereniging": 3}
    assert oo["satisfaction_pct"] == 66.7
    assert oo["nps"] == {"score": 33, "promoters_pct": 66.7, "passives_pct": 0.0, "detractors_pct": 33.3,
                         "respondents": 3, "activities_measured": 1}
    assert oo["recognised_reach"] == {"reached": 1, "total": 3, "pct": 33.3, "by_org_type": {
        "vereniging": {"reached": 1, "total": 2}, "beweging": {"reached": 0, "total": 1}}}
    assert document["totals"]["recognised_reach"] == {"reached": 2, "total": 3, "pct": 66.7}
    assert document["totals"]["dagdelen"] == 8


def test_threshold_crossings_fire_once_per_crossing():
    thresholds = domain.Thresholds()
    low = {"respondents": 5, "satisfaction_sum": 25, "promoters": 0, "passives": 0, "detractors": 5}
    few = {"respondents": 4, "satisfaction_sum": 0, "detractors": 4}
    assert [c.value for c in domain.activity_checks("activity:a", few, thresholds)] == [None, None]
    checks = domain.activity_checks("activity:a", low, thresholds)
    fired = domain.crossings(checks, {})
    assert [(kind, c.kpi) for kind, c in fired] == [("kpi.threshold_breached", "activity_satisfaction_pct"),
                                                    ("kpi.threshold_breached", "activity_nps")]
    state = {(c.kpi, c.scope): c.breached for _, c in fired}
    assert domain.crossings(checks, state) == []  # still breached: nothing new
    good = {"respondents": 10, "satisfaction_sum": 80, "promoters": 6, "passives": 0, "detractors": 4}
    recovered = domain.crossings(domain.activity_checks("activity:a", good, thresholds), state)
    assert [kind for kind, _ in recovered] == ["kpi.threshold_recovered"] * 2
    assert domain.Thresholds.from_config({"REPORTING": {"NPS_TARGET": 10, "ACTIVITY_ALERT_MIN_RESPONDENTS": "3"}}) \
        == domain.Thresholds(nps_target=10.0, activity_min_respondents=3)


def test_person_erased_belongs_to_no_unit():
    assert domain.unit_of(ev("person.erased", "2026-01-01T00:00:00+00:00", person_id="p")) is None
