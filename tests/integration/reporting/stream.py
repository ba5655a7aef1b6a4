"""A known stream of platform events, and the key figures computed from it
independently of the reporting service (plain Python over the raw events)."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from kernel.contract import producer_of
from kernel.envelope import new_event

# written out: the oracle does not take DESIGN.md's recognised types from the code under test
RECOGNISED_TYPES = ("vereniging", "beweging", "landelijke_vormingsinstelling", "volkshogeschool")
BRUSSELS = ZoneInfo("Europe/Brussels")


class Stream:
    """Builds envelopes with explicit occurred_at times."""

    def __init__(self):
        self.events: list[dict] = []

    def emit(self, event_type: str, at: str, **data) -> dict:
        producer = producer_of(event_type)
        event = new_event(producer, event_type, data, occurred_at=datetime.fromisoformat(at))
        self.events.append(event)
        return event

    # shorthands
    def org(self, at, org_id, org_type, recognised, updated=False):
        self.emit("organisation.updated" if updated else "organisation.registered", at, organisation_id=org_id,
                  org_type=org_type, recognised=recognised, target_group="primary" if recognised else "secondary")

    def activity(self, at, activity_id, starts_at, fmt="offline", dagdelen=2, days=1, capacity=10,
                 kind="vorming", updated=False, theme="vrijwilligers", goal="SD1.OD4"):
        starts = datetime.fromisoformat(starts_at)
        self.emit("activity.updated" if updated else "activity.scheduled", at, activity_id=activity_id, kind=kind,
                  theme=theme, goal=goal, format=fmt, starts_at=starts,
                  ends_at=starts + timedelta(hours=7), days=days, dagdelen=dagdelen, capacity=capacity)

    def register(self, at, reg_id, activity_id, person_id, org, status="confirmed"):
        org_id, org_type, recognised = org
        self.emit("registration.created", at, registration_id=reg_id, activity_id=activity_id,
                  person_id=person_id, organisation_id=org_id, org_type=org_type, recognised=recognised,
                  target_group="primary" if recognised else "secondary", role="vrijwilliger", status=status)

    def attend(self, at, reg_id, activity_id, person_id, org, days_attended, role="vrijwilliger"):
        org_id, org_type, recognised = org
        self.emit("attendance.recorded", at, registration_id=reg_id, activity_id=activity_id,
                  person_id=person_id, organisation_id=org_id, org_type=org_type, recognised=recognised,
                  target_group="primary" if recognised else "secondary", role=role,
                  days_attended=days_attended)

    def evaluate(self, at, eval_id, reg_id, activity_id, satisfaction=None, recommend=None):
        self.emit("evaluation.requested", at, evaluation_id=eval_id, registration_id=reg_id, activity_id=activity_id)
        if satisfaction is not None:
            later = (datetime.fromisoformat(at) + timedelta(days=2)).isoformat()
            self.emit("evaluation.submitted", later, evaluation_id=eval_id, registration_id=reg_id,
                      activity_id=activity_id, satisfaction=satisfaction, recommend=recommend, has_comment=False)


O1 = ("o1", "vereniging", True)
O2 = ("o2", "beweging", True)
O3 = ("o3", "volkshogeschool", True)
O4 = ("o4", "overheid", False)
O5 = ("o5", "vereniging", True)  # registered as civiel_scw, later updated
NO_ORG = (None, "individu", False)


def known_stream() -> list[dict]:
    """Activities over two years and three formats, a cancelled one, waitlist and promotion,
    a cancellation, a corrected attendance, evaluations, requests declined with and without
    referral and delivered across a year boundary, recognised and other organisations."""
    s = Stream()
    s.org("2025-01-05T09:00:00+00:00", "o1", "vereniging", True)
    s.org("2025-01-05T09:00:00+00:00", "o2", "beweging", True)
    s.org("2025-01-05T09:00:00+00:00", "o3", "volkshogeschool", True)
    s.org("2025-01-05T09:00:00+00:00", "o4", "overheid", False)
    s.org("2025-01-05T09:00:00+00:00", "o5", "civiel_scw", False)
    s.org("2025-06-01T09:00:00+00:00", "o5", "vereniging", True, updated=True)
    s.org("2025-01-05T09:00:00+00:00", "o6", "landelijke_vormingsinstelling", True)
    s.org("2025-01-05T09:00:00+00:00", "o7", "beweging", True)
    s.org("2025-02-05T09:00:00+00:00", "o7", "beweging", False, updated=True)  # no longer recognised

    # A1: 2025, offline, 2 days, capacity 3: waitlist, a cancellation, a promotion, a corrected attendance
    s.activity("2025-02-01T09:00:00+00:00", "a1", "2025-03-10T08:00:00+00:00", dagdelen=4, days=2, capacity=3)
    s.register("2025-02-02T09:00:00+00:00", "r1", "a1", "p1", O1)
    s.register("2025-02-02T10:00:00+00:00", "r2", "a1", "p2", O4)
    s.register("2025-02-02T11:00:00+00:00", "r3", "a1", "p3", NO_ORG)
    s.register("2025-02-03T09:00:00+00:00", "r4", "a1", "p4", O2, status="waitlisted")  # never gets a seat
    s.register("2025-02-03T10:00:00+00:00", "r5", "a1", "p5", O3, status="waitlisted")
    s.emit("registration.cancelled", "2025-02-20T09:00:00+00:00", registration_id="r3", activity_id="a1",
           cancelled_by="participant")
    s.emit("registration.confirmed", "2025-02-20T09:00:01+00:00", registration_id="r5", activity_id="a1")
    s.attend("2025-03-11T16:00:00+00:00", "r1", "a1", "p1", O1, 2, role="coordinator")
    s.attend("2025-03-11T16:00:00+00:00", "r2", "a1", "p2", O4, 1, role="coordinator")
    s.attend("2025-03-12T09:00:00+00:00", "r2", "a1", "p2", O4, 2)  # correction: replaces, never adds
    s.attend("2025-03-11T16:00:00+00:00", "r5", "a1", "p5", O3, 1)
    s.emit("activity.completed", "2025-03-12T10:00:00+00:00", activity_id="a1")
    s.evaluate("2025-03-12T11:00:00+00:00", "e1", "r1", "a1", 9, 10)
    s.evaluate("2025-03-12T11:00:00+00:00", "e2", "r2", "a1", 6, 6)
    s.evaluate("2025-03-12T11:00:00+00:00", "e3", "r5", "a1")  # never answered

    # A2: starts 2025-12-31 23:30 UTC = 2026-01-01 00:30 in Brussels: a 2026 activity; online
    s.activity("2025-11-01T09:00:00+00:00", "a2", "2025-12-31T23:30:00+00:00", fmt="online", dagdelen=1,
               kind="infosessie", theme="participatie", goal="SD2.OD1")
    s.register("2025-11-02T09:00:00+00:00", "r6", "a2", "p1", O1)
    s.register("2025-11-02T09:00:00+00:00", "r7", "a2", "p6", O3)
    s.register("2025-11-02T09:00:00+00:00", "r8", "a2", "p7", O5)
    s.register("2025-11-02T09:00:00+00:00", "r8b", "a2", "p10", ("o7", "beweging", False))
    for reg, person, org in (("r6", "p1", O1), ("r7", "p6", O3), ("r8", "p7", O5),
                             ("r8b", "p10", ("o7", "beweging", False))):
        s.attend("2026-01-01T12:00:00+00:00", reg, "a2", person, org, 1, role="coordinator" if reg == "r7" else None)
    s.emit("activity.completed", "2026-01-01T13:00:00+00:00", activity_id="a2")
    s.evaluate("2026-01-02T09:00:00+00:00", "e4", "r6", "a2", 10, 9)
    s.evaluate("2026-01-02T09:00:00+00:00", "e5", "r7", "a2", 7, 8)
    s.evaluate("2026-01-02T09:00:00+00:00", "e6", "r8", "a2", 8, 3)

    # A3: 2026, blended, cancelled after people registered (and one attendance recorded in error)
    s.activity("2026-01-10T09:00:00+00:00", "a3", "2026-03-01T09:00:00+00:00", fmt="blended", dagdelen=4)
    s.register("2026-01-11T09:00:00+00:00", "r9", "a3", "p8", O2)
    s.register("2026-01-11T09:00:00+00:00", "r9b", "a3", "p11", O4)
    s.attend("2026-03-01T15:00:00+00:00", "r9b", "a3", "p11", O4, 1)
    s.emit("activity.cancelled", "2026-02-20T09:00:00+00:00", activity_id="a3", reason="trainer ill")
    s.emit("registration.cancelled", "2026-02-20T09:00:01+00:00", registration_id="r9", activity_id="a3",
           cancelled_by="system")
    s.emit("activity.completed", "2026-03-02T09:00:00+00:00", activity_id="a3")  # too late: cancelled is terminal

    # A4: scheduled offline (2 dagdelen), updated to online with 3 dagdelen; completed
    s.activity("2026-03-01T09:00:00+00:00", "a4", "2026-05-05T07:00:00+00:00", dagdelen=2, capacity=4)
    s.activity("2026-03-05T09:00:00+00:00", "a4", "2026-05-05T07:00:00+00:00", fmt="online", dagdelen=3,
               capacity=4, updated=True, kind="workshop", theme="digitalisering", goal=None)
    s.register("2026-03-02T09:00:00+00:00", "r10", "a4", "p2", O4)
    s.register("2026-03-02T09:00:00+00:00", "r11", "a4", "p9", O2)
    s.register("2026-03-02T09:00:00+00:00", "r12", "a4", "p1", O1)
    s.attend("2026-05-05T16:00:00+00:00", "r10", "a4", "p2", O4, 1)
    s.attend("2026-05-05T16:00:00+00:00", "r11", "a4", "p9", O2, 1, role="coordinator")
    s.attend("2026-05-05T16:00:00+00:00", "r12", "a4", "p1", O1, 1)
    s.emit("activity.completed", "2026-05-06T09:00:00+00:00", activity_id="a4")
    s.evaluate("2026-05-06T10:00:00+00:00", "e7", "r10", "a4", 8, 9)
    s.evaluate("2026-05-06T10:00:00+00:00", "e8", "r11", "a4", 3, 2)
    s.evaluate("2026-05-06T10:00:00+00:00", "e9", "r12", "a4", 5, 7)

    # A5: scheduled for later in 2026, not held yet
    s.activity("2026-04-01T09:00:00+00:00", "a5", "2026-09-01T07:00:00+00:00", fmt="blended", capacity=None)
    s.register("2026-04-02T09:00:00+00:00", "r13", "a5", "p3", NO_ORG)

    # requests
    s.emit("request.received", "2025-11-20T09:00:00+00:00", request_id="q1", organisation_id="o1",
           org_type="vereniging", recognised=True, target_group="primary", theme="bestuur", goal="SD1.OD2")
    s.emit("request.accepted", "2025-11-25T09:00:00+00:00", request_id="q1", assignee="staff-1")
    s.emit("request.delivered", "2026-01-10T09:00:00+00:00", request_id="q1", dagdelen=2, participants=10,
           participations=15)
    s.emit("request.received", "2026-02-01T09:00:00+00:00", request_id="q2", organisation_id="o4",
           org_type="overheid", recognised=False, target_group="secondary", theme="bestuur", goal=None)
    s.emit("request.declined", "2026-02-03T09:00:00+00:00", request_id="q2", reason="long_term_coaching",
           referred_to="Coachingspunt")
    s.emit("request.received", "2026-02-10T09:00:00+00:00", request_id="q3", organisation_id=None,
           org_type="civiel_scw", recognised=False, target_group="secondary", theme="participatie", goal=None)
    s.emit("request.declined", "2026-02-11T09:00:00+00:00", request_id="q3", reason="no_capacity",
           referred_to=None)
    s.emit("request.received", "2026-03-01T09:00:00+00:00", request_id="q4", organisation_id="o6",
           org_type="landelijke_vormingsinstelling", recognised=True, target_group="primary",
           theme="digitalisering", goal="SD2.OD1")
    s.emit("request.accepted", "2026-03-03T09:00:00+00:00", request_id="q4", assignee="staff-2")
    s.emit("request.delivered", "2026-03-15T09:00:00+00:00", request_id="q4", dagdelen=1, participants=5,
           participations=5)
    s.emit("request.delivered", "2026-04-01T09:00:00+00:00", request_id="q4", dagdelen=2, participants=8,
           participations=16)
    s.emit("request.received", "2026-04-20T09:00:00+00:00", request_id="q5", organisation_id="o2",
           org_type="beweging", recognised=True, target_group="primary", theme="bestuur", goal=None)
    return s.events


def erasure() -> dict:
    return new_event("registration", "person.erased", {"person_id": "p1"},
                     occurred_at=datetime.fromisoformat("2026-06-01T09:00:00+00:00"))


def shuffled_with_duplicates(events: list[dict], seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    doubled = events + rng.sample(events, len(events) // 2)
    rng.shuffle(doubled)
    return doubled


# ---------------------------------------------------------------------------- independent figures


def _pct(part, whole):
    if not whole:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _t(event):
    return datetime.fromisoformat(event["occurred_at"])


def _local(moment):
    return (moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)).astimezone(BRUSSELS).date()


class Replay:
    """The state the events describe, replayed the simple way: in occurred_at order, each event once."""

    def __init__(self, events):
        unique = {e["event_id"]: e for e in events}.values()
        ordered = sorted(unique, key=lambda e: (_t(e), e["event_id"]))
        self.orgs, self.activities, self.status, self.regs = {}, {}, {}, {}
        self.registered_on = []  # (local date, organisation data) of every organisation event, in order
        self.attendance, self.evals, self.requests, self.deliveries = {}, {}, {}, []
        for e in ordered:
            d, kind = e["data"], e["event_type"]
            if kind.startswith("organisation."):
                self.orgs[d["organisation_id"]] = d
                self.registered_on.append((_local(e["occurred_at"]), d))
            elif kind in ("activity.scheduled", "activity.updated"):
                self.activities[d["activity_id"]] = d
            elif kind in ("activity.cancelled", "activity.completed"):
                self.status.setdefault(d["activity_id"], kind.split(".")[1])
            elif kind == "registration.created":
                self.regs[d["registration_id"]] = dict(d)
            elif kind == "registration.confirmed":
                self.regs[d["registration_id"]]["status"] = "confirmed"
            elif kind == "registration.cancelled":
                self.regs[d["registration_id"]]["status"] = "cancelled"
            elif kind == "attendance.recorded":
                self.attendance[d["registration_id"]] = d
            elif kind == "evaluation.submitted":
                self.evals[d["evaluation_id"]] = d
            elif kind == "evaluation.requested":
                self.evals.setdefault(d["evaluation_id"], None)
            elif kind == "request.received":
                self.requests[d["request_id"]] = dict(d, received=_t(e), decision=None, referred=False)
            elif kind in ("request.accepted", "request.declined"):
                self.requests[d["request_id"]]["decision"] = kind.split(".")[1]
                self.requests[d["request_id"]]["referred"] = bool(d.get("referred_to"))
            elif kind == "request.delivered":
                self.deliveries.append(dict(d, delivered=_t(e)))

    def register(self, until):
        """The organisations as the directory held them at the end of the day `until` (None: now)."""
        if until is None:
            return self.orgs
        state = {}
        for day, d in self.registered_on:
            if day <= until:
                state[d["organisation_id"]] = d
        return state

    def held(self, activity_id):
        return self.status.get(activity_id) != "cancelled"


def expected_figures(events, in_period, register_until: date | None = None, primary: dict | None = None) -> dict:
    """The document's three sections for the days `in_period(date)` selects; recognised reach
    divides by the register at the end of `register_until` (None: the register as it stands);
    `primary` maps a year to the organisation types counted as primary then (a year not in it:
    the target group the events carried)."""
    r = Replay(events)

    def counted_group(item, year):
        types = (primary or {}).get(year)
        if types is None:
            return item["target_group"]
        return "primary" if item["org_type"] in types else "secondary"

    activities = {a: d for a, d in r.activities.items() if in_period(_local(d["starts_at"]))}
    completed = [a for a in activities if r.status.get(a) == "completed"]
    attended = [dict(d, target_group=counted_group(d, _local(activities[d["activity_id"]]["starts_at"]).year))
                for d in r.attendance.values() if d["activity_id"] in activities and r.held(d["activity_id"])]
    answers = [d for d in r.evals.values() if d and d["activity_id"] in activities and r.held(d["activity_id"])]
    received = [dict(q, target_group=counted_group(q, _local(q["received"]).year))
                for q in r.requests.values() if in_period(_local(q["received"]))]
    delivered = [dict(d, group=counted_group(r.requests[d["request_id"]], _local(d["delivered"]).year))
                 for d in r.deliveries if in_period(_local(d["delivered"])) and d["request_id"] in r.requests]
    delivered_requests = {d["request_id"] for d in r.deliveries}
    recognised_dir = [o for o in r.register(register_until).values() if o["recognised"]]

    def groups(items, key="target_group", weight=lambda x: 1):
        out = {"primary": 0, "secondary": 0}
        for item in items:
            out[item[key]] += weight(item)
        return out

    open_orgs = {d["organisation_id"] for d in attended if d["organisation_id"]}
    open_rorgs = {d["organisation_id"] for d in attended if d["organisation_id"] and d["recognised"]}
    dd_requests = [dict(r.requests[d["request_id"]], target_group=d["group"]) for d in delivered]
    dd_orgs = {q["organisation_id"] for q in dd_requests if q["organisation_id"]}
    dd_rorgs = {q["organisation_id"] for q in dd_requests if q["organisation_id"] and q["recognised"]}
    by_type = {}
    for org_type in RECOGNISED_TYPES:
        reached = len({d["organisation_id"] for d in attended
                       if d["organisation_id"] and d["recognised"] and d["org_type"] == org_type})
        total = sum(1 for o in recognised_dir if o["org_type"] == org_type)
        if reached or total:
            by_type[org_type] = {"reached": reached, "total": total}
    by_org_type = defaultdict(int)
    for d in attended:
        by_org_type[d["org_type"]] += 1
    n = len(answers)
    promoters = sum(1 for a in answers if a["recommend"] >= 9)
    detractors = sum(1 for a in answers if a["recommend"] <= 6)
    dagdelen = sum(activities[a]["dagdelen"] for a in completed)
    all_rorgs = open_rorgs | dd_rorgs

    def count_by(items, key, weight=lambda x: 1):
        out = defaultdict(int)
        for item in items:
            out[item[key]] += weight(item)
        return {k: v for k, v in sorted(out.items()) if v}

    def distinct_by(items, key, member):
        out = defaultdict(set)
        for item in items:
            if item[member]:
                out[item[key]].add(item[member])
        return {k: len(v) for k, v in sorted(out.items())}

    def breakdown(field):
        out = {}
        for a in completed:
            key = activities[a][field] or "none"
            row = out.setdefault(key, {"activities": 0, "dagdelen": 0, "participants": 0})
            row["activities"] += 1
            row["dagdelen"] += activities[a]["dagdelen"]
            row["participants"] += sum(1 for d in attended if d["activity_id"] == a)
        return dict(sorted(out.items()))

    delivered_goals = [q["goal"] or "none" for q in received if q["request_id"] in delivered_requests]
    open_offer = {
        "activities": len(completed),
        "activities_by_format": {f: sum(1 for a in completed if activities[a]["format"] == f)
                                 for f in ("offline", "online", "blended")},
        "cancelled_activities": sum(1 for a in activities if r.status.get(a) == "cancelled"),
        "dagdelen": dagdelen,
        "avg_dagdelen_per_activity": _round1(dagdelen / len(completed)) if completed else None,
        "participants": len(attended),
        "participants_by_target_group": groups(attended),
        "primary_pct": _pct(groups(attended)["primary"], len(attended)),
        "participants_by_org_type": dict(sorted(by_org_type.items())),
        "coordinators_pct": _pct(sum(1 for d in attended if d["role"] == "coordinator"), len(attended)),
        "unique_participants": len({d["person_id"] for d in attended}),
        "unique_participants_by_target_group": {
            g: len({d["person_id"] for d in attended if d["target_group"] == g}) for g in ("primary", "secondary")},
        "unique_participants_by_org_type": distinct_by(attended, "org_type", "person_id"),
        "participations": sum(d["days_attended"] for d in attended),
        "participations_by_target_group": groups(attended, weight=lambda d: d["days_attended"]),
        "participations_by_org_type": count_by(attended, "org_type", lambda d: d["days_attended"]),
        "organisations_reached": len(open_orgs),
        "organisations_reached_by_target_group": {
            g: len({d["organisation_id"] for d in attended if d["organisation_id"] and d["target_group"] == g})
            for g in ("primary", "secondary")},
        "organisations_reached_by_org_type": distinct_by(attended, "org_type", "organisation_id"),
        "satisfaction_pct": _pct(sum(a["satisfaction"] for a in answers), n * 10) if n else None,
        "evaluations": n,
        "nps": {
            "score": int((Decimal(promoters - detractors) * 100 / n).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
            if n else None,
            "promoters_pct": _pct(promoters, n), "passives_pct": _pct(n - promoters - detractors, n),
            "detractors_pct": _pct(detractors, n), "respondents": n,
            "activities_measured": len({a["activity_id"] for a in answers}),
        },
        "recognised_reach": {"reached": len(open_rorgs), "total": len(recognised_dir),
                             "pct": _pct(len(open_rorgs), len(recognised_dir)), "by_org_type": by_type},
        "by_goal": breakdown("goal"),
        "by_theme": breakdown("theme"),
        "by_kind": breakdown("kind"),
    }
    demand_driven = {
        "requests_received": len(received),
        "requests_accepted": sum(1 for q in received if q["decision"] == "accepted"),
        "requests_declined": sum(1 for q in received if q["decision"] == "declined"),
        "requests_referred": sum(1 for q in received if q["decision"] == "declined" and q["referred"]),
        "requests_delivered": sum(1 for q in received if q["request_id"] in delivered_requests),
        "requests_delivered_by_target_group": groups([q for q in received if q["request_id"] in delivered_requests]),
        "requests_delivered_by_goal": {goal: delivered_goals.count(goal) for goal in sorted(set(delivered_goals))},
        "dagdelen": sum(d["dagdelen"] for d in delivered),
        "dagdelen_by_target_group": {
            g: sum(d["dagdelen"] for d in delivered if d["group"] == g)
            for g in ("primary", "secondary")},
        "participants": sum(d["participants"] for d in delivered),
        "participants_by_target_group": {
            g: sum(d["participants"] for d in delivered if d["group"] == g)
            for g in ("primary", "secondary")},
        "participants_by_org_type": count_by([dict(d, org_type=r.requests[d["request_id"]]["org_type"])
                                              for d in delivered], "org_type", lambda d: d["participants"]),
        "participations": sum(d["participations"] for d in delivered),
        "participations_by_target_group": {
            g: sum(d["participations"] for d in delivered if d["group"] == g)
            for g in ("primary", "secondary")},
        "organisations_reached": len(dd_orgs),
        "organisations_reached_by_target_group": {
            g: len({q["organisation_id"] for q in dd_requests if q["organisation_id"] and q["target_group"] == g})
            for g in ("primary", "secondary")},
        "organisations_reached_by_org_type": distinct_by(dd_requests, "org_type", "organisation_id"),
    }
    totals = {
        "activities": len(completed) + demand_driven["requests_delivered"],
        "dagdelen": dagdelen + demand_driven["dagdelen"],
        "participants": len(attended) + demand_driven["participants"],
        "organisations_reached": len(open_orgs | dd_orgs),
        "organisations_reached_tracks_added": len(open_orgs) + len(dd_orgs),
        "recognised_reach": {"reached": len(all_rorgs), "total": len(recognised_dir),
                             "pct": _pct(len(all_rorgs), len(recognised_dir))},
    }
    return {"open_offer": open_offer, "demand_driven": demand_driven, "totals": totals}


def _round1(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def expected_annual(events, year: int, primary: dict | None = None) -> dict:
    return {"year": year, **expected_figures(events, lambda day: day.year == year, date(year, 12, 31), primary)}


def expected_rolling(events, days: int, until: date, primary: dict | None = None) -> dict:
    start = until - timedelta(days=days - 1)
    return {"days": days, "from": start.isoformat(), "to": until.isoformat(),
            **expected_figures(events, lambda day: start <= day <= until, None, primary)}


def expected_activity(events, activity_id: str) -> dict:
    r = Replay(events)
    a = r.activities[activity_id]
    regs = [g for g in r.regs.values() if g["activity_id"] == activity_id]
    held = r.held(activity_id)
    attended = [d for d in r.attendance.values() if d["activity_id"] == activity_id] if held else []
    requested = [k for k, v in r.evals.items() if _eval_activity(events, k) == activity_id] if held else []
    answers = [v for v in r.evals.values() if v and v["activity_id"] == activity_id] if held else []
    n = len(answers)
    promoters = sum(1 for x in answers if x["recommend"] >= 9)
    detractors = sum(1 for x in answers if x["recommend"] <= 6)
    confirmed = sum(1 for g in regs if g["status"] == "confirmed")
    return {
        "activity_id": activity_id, "known": True, "status": r.status.get(activity_id, "scheduled"),
        "kind": a["kind"], "format": a["format"],
        "starts_at": datetime.fromisoformat(a["starts_at"]).astimezone(ZoneInfo("UTC")).isoformat(),
        "capacity": a["capacity"], "dagdelen": a["dagdelen"],
        "registrations_confirmed": confirmed,
        "registrations_waitlisted": sum(1 for g in regs if g["status"] == "waitlisted"),
        "registrations_cancelled": sum(1 for g in regs if g["status"] == "cancelled"),
        "fill_rate_pct": _pct(confirmed, a["capacity"]),
        "participants": len(attended),
        "participations": sum(d["days_attended"] for d in attended),
        "evaluations_requested": len(requested),
        "response_rate_pct": _pct(n, len(requested)),
        "satisfaction_pct": _pct(sum(x["satisfaction"] for x in answers), n * 10) if n else None,
        "nps": {
            "score": int((Decimal(promoters - detractors) * 100 / n).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
            if n else None,
            "promoters_pct": _pct(promoters, n), "passives_pct": _pct(n - promoters - detractors, n),
            "detractors_pct": _pct(detractors, n), "respondents": n,
        },
    }


def _eval_activity(events, evaluation_id):
    for e in events:
        if e["event_type"].startswith("evaluation.") and e["data"]["evaluation_id"] == evaluation_id:
            return e["data"]["activity_id"]
    return None
