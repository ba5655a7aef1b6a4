"""The reporting domain in plain Python: facts merged from events, each unit's
contribution to the KPI aggregates, and the documents read from them.

No framework here. The service (service.py) loads the facts of the units a
batch of events touches, lets `merge` fold the events in, asks `contribution`
for each unit's figures and applies new - old to the stored aggregates.

Why it is order-independent and idempotent:
- facts are merged with commutative rules (latest `occurred_at` wins, with the
  event id breaking ties; flags only ever switch on; terminal activity states:
  the earliest-occurred terminal event wins);
- a unit's contribution is a pure function of its facts, and the stored
  aggregates are the sum of the units' last contributions, so recomputing a
  unit twice changes nothing.

A *unit* is an activity (with its registrations, attendance and evaluations),
a request (with its deliveries) or an organisation of the directory.
Scopes: `year:2026`, `month:2026-03`, `day:2026-03-01` (centre's time zone),
`activity:<id>`, `directory` (the register as it stands) and `register:2026` (how the year
changed the register: a year's register is the sum of its own and every earlier year's).
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from kernel.config import CENTRE_TIMEZONE
from kernel.contract import CONSUMERS, COORDINATOR, FORMATS, ORG_TYPES_RECOGNISED, TARGET_GROUPS
from kernel.envelope import event_stamp

SCHEDULED, CANCELLED, COMPLETED = "scheduled", "cancelled", "completed"
ACCEPTED, DECLINED = "accepted", "declined"
DIRECTORY = "directory"

# Every (source service, event type) reporting consumes, as the event contract lists them.
CONSUMED = CONSUMERS["reporting"]["on_events"]


def person_key(person_id: str) -> str:
    """Reporting never keeps a person id: only this one-way hash, to count distinct persons."""
    return hashlib.sha256(f"person:{person_id}".encode()).hexdigest()


def parse_time(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an event")
    return moment


def local_date(moment: datetime) -> date:
    return moment.astimezone(CENTRE_TIMEZONE).date()


def time_scopes(moment: datetime) -> tuple[str, str, str]:
    """The year, month and day scopes of `moment` in the centre's time zone."""
    day = local_date(moment)
    return f"year:{day.year}", f"month:{day.year}-{day.month:02d}", f"day:{day.isoformat()}"


def member_scopes(scopes) -> list[str]:
    """The scopes of `time_scopes` whose distinct sets are all read: the year (the annual
    document) and the day (a rolling window counts distinct members over its days). Of a month
    only the organisations reached are shown (the dashboard's month rows). Set memberships are
    most of the aggregates' rows: the ones nobody reads are not kept."""
    return [scope for scope in scopes if not scope.startswith("month:")]


def counts_distinct(scope: str) -> bool:
    """Whether `scope` keeps `distinct:<set>` counters: not a day (a rolling window counts the
    distinct members of its days itself, so a day's own count is never read)."""
    return not scope.startswith("day:")


def unit_of(event: dict) -> str | None:
    """The unit an event belongs to (None: it changes no figure, e.g. person.erased)."""
    event_type, data = event["event_type"], event["data"]
    if event_type.startswith("organisation."):
        return f"org:{data['organisation_id']}"
    if event_type.startswith(("activity.", "registration.", "attendance.", "evaluation.")):
        return f"activity:{data['activity_id']}"
    if event_type.startswith("request."):
        return f"request:{data['request_id']}"
    return None


def _newer(event: dict, at: datetime | None, event_id: str | None) -> bool:
    return at is None or event_stamp(event) > (at, event_id or "")


# ----------------------------------------------------------------------------------------- facts


@dataclass
class OrganisationVersion:
    """One organisation.registered/updated: what the register held from `at` on."""

    event_id: str
    organisation_id: str
    at: datetime
    org_type: str
    recognised: bool


@dataclass
class Organisation:
    organisation_id: str
    org_type: str | None = None
    recognised: bool | None = None
    target_group: str | None = None
    at: datetime | None = None
    event_id: str | None = None
    versions: dict[str, OrganisationVersion] = field(default_factory=dict)


@dataclass
class Registration:
    registration_id: str
    activity_id: str
    created: bool = False
    created_status: str | None = None
    confirmed_seen: bool = False
    cancelled_seen: bool = False

    @property
    def status(self) -> str:
        """cancelled > confirmed > waitlisted: any order of the events gives the same answer."""
        if self.cancelled_seen:
            return "cancelled"
        if self.confirmed_seen or self.created_status == "confirmed":
            return "confirmed"
        return "waitlisted"


@dataclass
class Attendance:
    registration_id: str
    activity_id: str
    person_key: str
    organisation_id: str | None
    org_type: str
    recognised: bool
    target_group: str
    days_attended: int
    at: datetime
    event_id: str
    role: str | None = None


@dataclass
class Evaluation:
    evaluation_id: str
    activity_id: str
    registration_id: str | None = None
    requested: bool = False
    submitted: bool = False
    satisfaction: int | None = None
    recommend: int | None = None
    at: datetime | None = None
    event_id: str | None = None


@dataclass
class Activity:
    activity_id: str
    kind: str | None = None
    theme: str | None = None
    goal: str | None = None
    format: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    days: int | None = None
    dagdelen: int | None = None
    capacity: int | None = None
    fields_at: datetime | None = None
    fields_event_id: str | None = None
    status: str = SCHEDULED
    status_at: datetime | None = None
    status_event_id: str | None = None
    registrations: dict[str, Registration] = field(default_factory=dict)
    attendance: dict[str, Attendance] = field(default_factory=dict)
    evaluations: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        """Scheduled (or updated) seen: its year and size are known."""
        return self.starts_at is not None


@dataclass
class Delivery:
    event_id: str
    request_id: str
    delivered_at: datetime
    dagdelen: int
    participants: int
    participations: int


@dataclass
class Request:
    request_id: str
    received: bool = False
    received_at: datetime | None = None
    received_event_id: str | None = None
    organisation_id: str | None = None
    org_type: str | None = None
    recognised: bool | None = None
    target_group: str | None = None
    goal: str | None = None
    decision: str | None = None
    referred: bool = False
    decision_at: datetime | None = None
    decision_event_id: str | None = None
    deliveries: dict[str, Delivery] = field(default_factory=dict)


@dataclass
class Facts:
    """The facts of the units of one batch, and which rows changed."""

    activities: dict[str, Activity] = field(default_factory=dict)
    requests: dict[str, Request] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    dirty: set[tuple[str, str]] = field(default_factory=set)  # (kind, key)

    def activity(self, activity_id: str) -> Activity:
        return self.activities.setdefault(activity_id, Activity(activity_id))

    def request(self, request_id: str) -> Request:
        return self.requests.setdefault(request_id, Request(request_id))

    def organisation(self, organisation_id: str) -> Organisation:
        return self.organisations.setdefault(organisation_id, Organisation(organisation_id))


ACTIVITY_FIELDS = ("kind", "theme", "goal", "format", "days", "dagdelen", "capacity")


def merge(facts: Facts, event: dict) -> None:
    """Fold one event into the facts (commutative and idempotent)."""
    event_type, data = event["event_type"], event["data"]
    handler = _MERGERS.get(event_type)
    if handler is not None:
        handler(facts, event, data)


def _organisation(facts: Facts, event: dict, data: dict) -> None:
    org = facts.organisation(data["organisation_id"])
    if event["event_id"] not in org.versions:
        at, event_id = event_stamp(event)
        org.versions[event_id] = OrganisationVersion(event_id, org.organisation_id, at, data["org_type"],
                                                     bool(data["recognised"]))
        facts.dirty.add(("organisation_version", event_id))
    if _newer(event, org.at, org.event_id):
        org.org_type, org.recognised, org.target_group = data["org_type"], data["recognised"], data["target_group"]
        org.at, org.event_id = event_stamp(event)
        facts.dirty.add(("organisation", org.organisation_id))


def _activity_fields(facts: Facts, event: dict, data: dict) -> None:
    activity = facts.activity(data["activity_id"])
    if _newer(event, activity.fields_at, activity.fields_event_id):
        for name in ACTIVITY_FIELDS:
            setattr(activity, name, data[name])
        activity.starts_at = parse_time(data["starts_at"])
        activity.ends_at = parse_time(data["ends_at"])
        activity.fields_at, activity.fields_event_id = event_stamp(event)
        facts.dirty.add(("activity", activity.activity_id))


def _activity_terminal(status: str):
    def merge_terminal(facts: Facts, event: dict, data: dict) -> None:
        activity = facts.activity(data["activity_id"])
        # terminal: the earliest-occurred cancelled/completed wins, whatever the arrival order
        if activity.status_at is None or event_stamp(event) < (activity.status_at, activity.status_event_id or ""):
            activity.status = status
            activity.status_at, activity.status_event_id = event_stamp(event)
            facts.dirty.add(("activity", activity.activity_id))

    return merge_terminal


def _registration(facts: Facts, data: dict) -> Registration:
    activity = facts.activity(data["activity_id"])
    registration = activity.registrations.setdefault(
        data["registration_id"], Registration(data["registration_id"], activity.activity_id)
    )
    facts.dirty.add(("registration", registration.registration_id))
    return registration


def _registration_created(facts: Facts, event: dict, data: dict) -> None:
    registration = _registration(facts, data)
    registration.created = True
    registration.created_status = data["status"]


def _registration_confirmed(facts: Facts, event: dict, data: dict) -> None:
    _registration(facts, data).confirmed_seen = True


def _registration_cancelled(facts: Facts, event: dict, data: dict) -> None:
    _registration(facts, data).cancelled_seen = True


def _attendance(facts: Facts, event: dict, data: dict) -> None:
    activity = facts.activity(data["activity_id"])
    current = activity.attendance.get(data["registration_id"])
    if current is None or _newer(event, current.at, current.event_id):
        at, event_id = event_stamp(event)
        activity.attendance[data["registration_id"]] = Attendance(
            registration_id=data["registration_id"], activity_id=activity.activity_id,
            person_key=person_key(data["person_id"]), organisation_id=data.get("organisation_id"),
            org_type=data["org_type"], recognised=bool(data["recognised"]), target_group=data["target_group"],
            days_attended=int(data["days_attended"]), at=at, event_id=event_id, role=data.get("role"),
        )
        facts.dirty.add(("attendance", data["registration_id"]))


def _evaluation(facts: Facts, data: dict) -> Evaluation:
    activity = facts.activity(data["activity_id"])
    evaluation = activity.evaluations.setdefault(
        data["evaluation_id"], Evaluation(data["evaluation_id"], activity.activity_id)
    )
    evaluation.registration_id = data.get("registration_id") or evaluation.registration_id
    facts.dirty.add(("evaluation", evaluation.evaluation_id))
    return evaluation


def _evaluation_requested(facts: Facts, event: dict, data: dict) -> None:
    _evaluation(facts, data).requested = True


def _evaluation_submitted(facts: Facts, event: dict, data: dict) -> None:
    evaluation = _evaluation(facts, data)
    if _newer(event, evaluation.at, evaluation.event_id):
        evaluation.submitted = True
        evaluation.satisfaction, evaluation.recommend = int(data["satisfaction"]), int(data["recommend"])
        evaluation.at, evaluation.event_id = event_stamp(event)


def _request_received(facts: Facts, event: dict, data: dict) -> None:
    request = facts.request(data["request_id"])
    if _newer(event, request.received_at, request.received_event_id):
        request.received = True
        request.received_at, request.received_event_id = event_stamp(event)
        request.organisation_id = data.get("organisation_id")
        request.org_type, request.recognised = data["org_type"], bool(data["recognised"])
        request.target_group = data["target_group"]
        request.goal = data.get("goal")
        facts.dirty.add(("request", request.request_id))


def _request_decision(decision: str):
    def merge_decision(facts: Facts, event: dict, data: dict) -> None:
        request = facts.request(data["request_id"])
        if _newer(event, request.decision_at, request.decision_event_id):
            request.decision = decision
            request.referred = decision == DECLINED and bool(data.get("referred_to"))
            request.decision_at, request.decision_event_id = event_stamp(event)
            facts.dirty.add(("request", request.request_id))

    return merge_decision


def _request_delivered(facts: Facts, event: dict, data: dict) -> None:
    request = facts.request(data["request_id"])
    if event["event_id"] not in request.deliveries:
        request.deliveries[event["event_id"]] = Delivery(
            event_id=event["event_id"], request_id=request.request_id,
            delivered_at=parse_time(event["occurred_at"]), dagdelen=int(data["dagdelen"]),
            participants=int(data["participants"]), participations=int(data["participations"]),
        )
        facts.dirty.add(("delivery", event["event_id"]))


_MERGERS = {
    "organisation.registered": _organisation,
    "organisation.updated": _organisation,
    "activity.scheduled": _activity_fields,
    "activity.updated": _activity_fields,
    "activity.cancelled": _activity_terminal(CANCELLED),
    "activity.completed": _activity_terminal(COMPLETED),
    "registration.created": _registration_created,
    "registration.confirmed": _registration_confirmed,
    "registration.cancelled": _registration_cancelled,
    "attendance.recorded": _attendance,
    "evaluation.requested": _evaluation_requested,
    "evaluation.submitted": _evaluation_submitted,
    "request.received": _request_received,
    "request.accepted": _request_decision(ACCEPTED),
    "request.declined": _request_decision(DECLINED),
    "request.delivered": _request_delivered,
}


# ---------------------------------------------------------------------------------- contributions


@dataclass
class Contribution:
    """What one unit adds to the aggregates: counter values and set memberships."""

    counters: dict[tuple[str, str], int] = field(default_factory=dict)  # (scope, metric) -> value
    members: set[tuple[str, str, str]] = field(default_factory=set)  # (scope, set name, member)

    def add(self, scopes, metric: str, value: int = 1) -> None:
        if not value:
            return
        counters = self.counters
        for scope in scopes:
            key = (scope, metric)
            total = counters.get(key, 0) + value
            if total:
                counters[key] = total
            else:
                del counters[key]

    def join(self, scopes, set_name: str, member: str) -> None:
        for scope in scopes:
            self.members.add((scope, set_name, member))

    def to_json(self) -> dict:
        """Counters and memberships as JSON arrays, in no particular order (sets, and a big unit's
        thousands of tuples are written with every batch that touches it: no sorting, no copies)."""
        return {"c": [(scope, metric, value) for (scope, metric), value in self.counters.items()],
                "m": list(self.members)}

    @classmethod
    def from_json(cls, payload: dict | None) -> Contribution:
        if not payload:
            return cls()
        return cls(
            counters={(scope, metric): value for scope, metric, value in payload.get("c", ())},
            members=set(map(tuple, payload.get("m", ()))),  # (scope, set name, member)
        )


def register_scope(year: int) -> str:
    return f"register:{year}"


def organisation_contribution(org: Organisation) -> Contribution:
    """The directory: recognised organisations registered, overall and per type; as it stands
    (`directory`) and at the end of each year (`register:<year>` holds the year's change)."""
    result = Contribution()
    if org.recognised:
        result.add([DIRECTORY], "recognised_orgs")
        result.add([DIRECTORY], f"recognised_orgs:{org.org_type}")
    at_year_end: dict[int, OrganisationVersion] = {}  # the last version of each year it changed in
    for version in sorted(org.versions.values(), key=lambda v: (v.at, v.event_id)):
        at_year_end[local_date(version.at).year] = version
    before: str | None = None  # the recognised type at the end of the year before (None: not recognised)
    for year, version in sorted(at_year_end.items()):
        now = version.org_type if version.recognised else None
        if now == before:
            continue
        scope = [register_scope(year)]
        if before is not None:
            result.add(scope, "recognised_orgs", -1)
            result.add(scope, f"recognised_orgs:{before}", -1)
        if now is not None:
            result.add(scope, "recognised_orgs")
            result.add(scope, f"recognised_orgs:{now}")
        before = now
    return result


def activity_contribution(activity: Activity, definitions: Definitions | None = None) -> Contribution:
    result = Contribution()
    own = [f"activity:{activity.activity_id}"]
    for registration in activity.registrations.values():
        if registration.created:
            result.add(own, f"registrations_{registration.status}")
    cancelled = activity.status == CANCELLED
    scopes = list(time_scopes(activity.starts_at)) if activity.known else []
    both = own + scopes
    if activity.known:
        if activity.status == COMPLETED:
            result.add(scopes, "activities")
            result.add(scopes, f"activities:{activity.format}")
            result.add(both, "dagdelen", activity.dagdelen)
        elif cancelled:
            result.add(scopes, "cancelled_activities")
    if cancelled:  # an activity called off counts apart: none of its participants or answers
        return result
    read = member_scopes(scopes)
    # the breakdowns of the 1.1 document: read by year and rolling window only, so kept in no month
    breakdowns = activity_breakdowns(activity) if activity.known and activity.status == COMPLETED else []
    for metric in breakdowns:
        result.add(read, f"{metric}.activities")
        result.add(read, f"{metric}.dagdelen", activity.dagdelen)
    # the participants' counters are summed here first: one add per metric, not per participant
    summed: Counter = Counter()  # (which scopes, metric) -> value
    year = local_date(activity.starts_at).year if activity.known else 0  # unknown: no scope to count in
    for attended in activity.attendance.values():
        days = attended.days_attended
        if days < 1:
            continue
        group = group_of(attended.target_group, attended.org_type, year, definitions)
        summed["both", "participants"] += 1
        summed["both", "participations"] += days
        summed["scopes", f"participants:{group}"] += 1
        summed["scopes", f"participants_org:{attended.org_type}"] += 1
        summed["read", f"participations:{group}"] += days
        summed["read", f"participations_org:{attended.org_type}"] += days
        if attended.role == COORDINATOR:
            summed["read", "coordinators"] += 1
        result.join(read, "persons", attended.person_key)
        result.join(read, f"persons:{group}", attended.person_key)
        result.join(read, f"persons_org:{attended.org_type}", attended.person_key)
        if attended.organisation_id:
            org = attended.organisation_id
            result.join(scopes, "orgs", org)  # in the month too
            result.join(read, f"orgs:{group}", org)
            result.join(read, f"orgs_org:{attended.org_type}", org)
            result.join(read, "all_orgs", org)
            if attended.recognised:
                result.join(read, "rorgs", org)
                result.join(read, f"rorgs:{attended.org_type}", org)
                result.join(read, "all_rorgs", org)
    where = {"both": both, "scopes": scopes, "read": read}
    for (which, metric), value in summed.items():
        result.add(where[which], metric, value)
    for metric in breakdowns:
        result.add(read, f"{metric}.participants", summed["both", "participants"])
    answers: Counter = Counter()
    for evaluation in activity.evaluations.values():
        if not evaluation.submitted:
            continue
        answers["respondents"] += 1
        answers["satisfaction_sum"] += evaluation.satisfaction
        if evaluation.recommend >= 9:
            answers["promoters"] += 1
        elif evaluation.recommend <= 6:
            answers["detractors"] += 1
        else:
            answers["passives"] += 1
    result.add(own, "evaluations_requested", len(activity.evaluations))
    for metric, value in answers.items():
        result.add(both, metric, value)
    if answers["respondents"]:
        result.add(scopes, "activities_measured")
    return result


BREAKDOWNS = ("by_goal", "by_theme", "by_kind")  # of completed activities: activities, dagdelen, participants
NO_KEY = "none"  # a breakdown's key for a null value (an activity or request without a goal)


def activity_breakdowns(activity: Activity) -> list[str]:
    """The metric prefixes of a completed activity's goal, theme and kind (`by_goal:SD1.OD4`);
    the measure is appended after a dot."""
    keys = (activity.goal, activity.theme, activity.kind)
    return [f"{breakdown}:{key or NO_KEY}" for breakdown, key in zip(BREAKDOWNS, keys, strict=True)]


def request_contribution(request: Request, definitions: Definitions | None = None) -> Contribution:
    """Funnel counts to the year received; delivered volumes to the year delivered."""
    result = Contribution()
    if not request.received:
        return result
    received = time_scopes(request.received_at)
    group = group_of(request.target_group, request.org_type, local_date(request.received_at).year, definitions)
    result.add(received, "requests_received")
    if request.decision == ACCEPTED:
        result.add(received, "requests_accepted")
    elif request.decision == DECLINED:
        result.add(received, "requests_declined")
        if request.referred:
            result.add(received, "requests_referred")
    if request.deliveries:
        result.add(received, "requests_delivered")
        result.add(received, f"requests_delivered:{group}")
        result.add(member_scopes(received), f"requests_delivered_goal:{request.goal or NO_KEY}")
    for delivery in request.deliveries.values():
        delivered = time_scopes(delivery.delivered_at)
        read = member_scopes(delivered)
        group = group_of(request.target_group, request.org_type, local_date(delivery.delivered_at).year, definitions)
        result.add(delivered, "dd_dagdelen", delivery.dagdelen)
        result.add(delivered, "dd_participants", delivery.participants)
        result.add(delivered, f"dd_participants:{group}", delivery.participants)
        result.add(delivered, "dd_participations", delivery.participations)
        result.add(read, f"dd_dagdelen:{group}", delivery.dagdelen)
        result.add(read, f"dd_participations:{group}", delivery.participations)
        result.add(read, f"dd_participants_org:{request.org_type}", delivery.participants)
        if request.organisation_id:
            org = request.organisation_id
            result.join(read, "dd_orgs", org)
            result.join(read, f"dd_orgs:{group}", org)
            result.join(read, f"dd_orgs_org:{request.org_type}", org)
            result.join(read, "all_orgs", org)
            if request.recognised:
                result.join(read, "all_rorgs", org)
    return result


def contribution_of(unit: str, facts: Facts, definitions: Definitions | None = None) -> Contribution:
    kind, _, key = unit.partition(":")
    if kind == "activity":
        return activity_contribution(facts.activity(key), definitions)
    if kind == "request":
        return request_contribution(facts.request(key), definitions)
    if kind == "org":
        return organisation_contribution(facts.organisation(key))
    raise ValueError(f"unknown unit {unit}")


@dataclass
class Delta:
    """The change to the aggregates of a whole batch: new - old of every recomputed unit."""

    counters: Counter = field(default_factory=Counter)  # (scope, metric) -> delta
    members: Counter = field(default_factory=Counter)  # (scope, set, member) -> refcount delta

    def add(self, old: Contribution, new: Contribution) -> None:
        for key in old.counters.keys() | new.counters.keys():
            change = new.counters.get(key, 0) - old.counters.get(key, 0)
            if change:
                self.counters[key] += change
        self.members.update(new.members - old.members)  # counts each once, without a __missing__ call per key
        self.members.subtract(old.members - new.members)

    def compact(self) -> Delta:
        return Delta(
            Counter({k: v for k, v in self.counters.items() if v}),
            Counter({k: v for k, v in self.members.items() if v}),
        )

    def scopes(self) -> set[str]:
        return {scope for scope, _ in self.counters} | {scope for scope, _, _ in self.members}


def distinct_metric(set_name: str) -> str:
    return f"distinct:{set_name}"


# -------------------------------------------------------------------------------------- documents


def pct(part: int | None, whole: int | None, digits: int = 1) -> float | None:
    """part / whole as a percentage, rounded half up; None when nothing was measured."""
    if not whole:
        return None
    return rounded(Decimal(part or 0) * 100 / Decimal(whole), digits)


def rounded(value: Decimal, digits: int) -> float | int:
    quantum = Decimal(1).scaleb(-digits)
    result = value.quantize(quantum, rounding=ROUND_HALF_UP)
    return int(result) if digits == 0 else float(result)


def nps(promoters: int, passives: int, detractors: int, respondents: int | None = None) -> dict:
    """Net Promoter Score: %promoters - %detractors, as a whole number (from the unrounded shares)."""
    respondents = respondents if respondents is not None else promoters + passives + detractors
    score = None
    if respondents:
        score = rounded(Decimal(promoters - detractors) * 100 / Decimal(respondents), 0)
    return {
        "score": score,
        "promoters_pct": pct(promoters, respondents),
        "passives_pct": pct(passives, respondents),
        "detractors_pct": pct(detractors, respondents),
        "respondents": respondents,
    }


def satisfaction_pct(satisfaction_sum: int, respondents: int) -> float | None:
    """Mean satisfaction (0-10) x 10, one decimal."""
    if not respondents:
        return None
    return rounded(Decimal(satisfaction_sum) * 10 / Decimal(respondents), 1)


def _by_group(values: dict, prefix: str) -> dict:
    return {group: int(values.get(f"{prefix}:{group}", 0)) for group in TARGET_GROUPS}


def _by_key(values: dict, prefix: str) -> dict:
    """`{key: n}` of the metrics `<prefix><key>`, only keys with a figure, sorted."""
    return {metric[len(prefix):]: int(value) for metric, value in sorted(values.items())
            if metric.startswith(prefix) and value}


def _breakdown(values: dict, breakdown: str) -> dict:
    """`{key: {"activities", "dagdelen", "participants"}}` of `by_goal`, `by_theme` or `by_kind`."""
    prefix, measures = f"{breakdown}:", ("activities", "dagdelen", "participants")
    out: dict[str, dict[str, int]] = {}
    for metric, value in sorted(values.items()):
        if not value or not metric.startswith(prefix):
            continue
        key, _, measure = metric[len(prefix):].rpartition(".")
        if measure in measures:
            out.setdefault(key, dict.fromkeys(measures, 0))[measure] = int(value)
    return out


def kpi_document(counters: dict[str, int], directory: dict[str, int]) -> dict:
    """The key-figure document (DESIGN.md) of one period, without its period key.

    `counters` maps metric names to the period's values (distinct counts as
    `distinct:<set>`); `directory` the directory's counters (recognised organisations).
    """
    c = defaultdict(int, counters)
    activities = c["activities"]
    participants = c["participants"]
    respondents = c["respondents"]
    by_org_type = _by_key(c, "participants_org:")
    reach_by_type = {}
    for org_type in ORG_TYPES_RECOGNISED:
        reached = int(c[distinct_metric(f"rorgs:{org_type}")])
        total = int(directory.get(f"recognised_orgs:{org_type}", 0))
        if reached or total:
            reach_by_type[org_type] = {"reached": reached, "total": total}
    recognised_total = int(directory.get("recognised_orgs", 0))
    open_reached = int(c[distinct_metric("rorgs")])
    all_reached = int(c[distinct_metric("all_rorgs")])
    open_offer = {
        "activities": activities,
        "activities_by_format": {fmt: int(c[f"activities:{fmt}"]) for fmt in FORMATS},
        "cancelled_activities": c["cancelled_activities"],
        "dagdelen": c["dagdelen"],
        "avg_dagdelen_per_activity": rounded(Decimal(c["dagdelen"]) / activities, 1) if activities else None,
        "participants": participants,
        "participants_by_target_group": _by_group(c, "participants"),
        "primary_pct": pct(c["participants:primary"], participants),
        "participants_by_org_type": by_org_type,
        "unique_participants": c[distinct_metric("persons")],
        "unique_participants_by_target_group": {
            group: int(c[distinct_metric(f"persons:{group}")]) for group in TARGET_GROUPS
        },
        "participations": c["participations"],
        "organisations_reached": c[distinct_metric("orgs")],
        "organisations_reached_by_target_group": {
            group: int(c[distinct_metric(f"orgs:{group}")]) for group in TARGET_GROUPS
        },
        "satisfaction_pct": satisfaction_pct(c["satisfaction_sum"], respondents),
        "evaluations": respondents,
        "nps": {
            **nps(c["promoters"], c["passives"], c["detractors"], respondents),
            "activities_measured": c["activities_measured"],
        },
        "recognised_reach": {
            "reached": open_reached, "total": recognised_total, "pct": pct(open_reached, recognised_total),
            "by_org_type": reach_by_type,
        },
    }
    demand_driven = {
        "requests_received": c["requests_received"],
        "requests_accepted": c["requests_accepted"],
        "requests_declined": c["requests_declined"],
        "requests_referred": c["requests_referred"],
        "requests_delivered": c["requests_delivered"],
        "requests_delivered_by_target_group": _by_group(c, "requests_delivered"),
        "dagdelen": c["dd_dagdelen"],
        "participants": c["dd_participants"],
        "participants_by_target_group": _by_group(c, "dd_participants"),
        "participations": c["dd_participations"],
        "organisations_reached": c[distinct_metric("dd_orgs")],
        "organisations_reached_by_target_group": {
            group: int(c[distinct_metric(f"dd_orgs:{group}")]) for group in TARGET_GROUPS
        },
    }
    open_offer.update({  # the fields of the 1.1 document, after those of 1.0
        "unique_participants_by_org_type": _by_key(c, distinct_metric("persons_org:")),
        "participations_by_org_type": _by_key(c, "participations_org:"),
        "organisations_reached_by_org_type": _by_key(c, distinct_metric("orgs_org:")),
        "participations_by_target_group": _by_group(c, "participations"),
        "coordinators_pct": pct(c["coordinators"], participants),
        **{breakdown: _breakdown(c, breakdown) for breakdown in BREAKDOWNS},
    })
    demand_driven.update({
        "dagdelen_by_target_group": _by_group(c, "dd_dagdelen"),
        "participations_by_target_group": _by_group(c, "dd_participations"),
        "participants_by_org_type": _by_key(c, "dd_participants_org:"),
        "organisations_reached_by_org_type": _by_key(c, distinct_metric("dd_orgs_org:")),
        "requests_delivered_by_goal": _by_key(c, "requests_delivered_goal:"),
    })
    totals = {
        "activities": activities + c["requests_delivered"],
        "dagdelen": c["dagdelen"] + c["dd_dagdelen"],
        "participants": participants + c["dd_participants"],
        "organisations_reached": c[distinct_metric("all_orgs")],
        # the published table adds the tracks' counts; the distinct count stays beside it
        "organisations_reached_tracks_added": open_offer["organisations_reached"]
        + demand_driven["organisations_reached"],
        "recognised_reach": {
            "reached": all_reached, "total": recognised_total, "pct": pct(all_reached, recognised_total),
        },
    }
    return {"open_offer": open_offer, "demand_driven": demand_driven, "totals": totals}


def annual_document(year: int, counters: dict[str, int], directory: dict[str, int]) -> dict:
    return {"year": year, **kpi_document(counters, directory)}


def rolling_window(days: int, until: date) -> tuple[date, date]:
    """The `days` days ending with `until` (inclusive)."""
    return until - timedelta(days=days - 1), until


def rolling_document(days: int, until: date, counters: dict[str, int], directory: dict[str, int]) -> dict:
    start, end = rolling_window(days, until)
    return {"days": days, "from": start.isoformat(), "to": end.isoformat(), **kpi_document(counters, directory)}


def activity_document(activity: dict | None, activity_id: str, counters: dict[str, int]) -> dict:
    """Figures of one activity. `activity` holds its known fields (None: no schedule event seen yet)."""
    c = defaultdict(int, counters)
    activity = activity or {}
    capacity = activity.get("capacity")
    confirmed = c["registrations_confirmed"]
    respondents = c["respondents"]
    participants = c["participants"]
    return {
        "activity_id": activity_id,
        "known": bool(activity),
        "status": activity.get("status"),
        "kind": activity.get("kind"),
        "format": activity.get("format"),
        "starts_at": activity.get("starts_at"),
        "capacity": capacity,
        "dagdelen": activity.get("dagdelen"),
        "registrations_confirmed": confirmed,
        "registrations_waitlisted": c["registrations_waitlisted"],
        "registrations_cancelled": c["registrations_cancelled"],
        "fill_rate_pct": pct(confirmed, capacity),
        "participants": participants,
        "participations": c["participations"],
        "evaluations_requested": c["evaluations_requested"],
        "response_rate_pct": pct(respondents, c["evaluations_requested"]),
        "satisfaction_pct": satisfaction_pct(c["satisfaction_sum"], respondents),
        "nps": nps(c["promoters"], c["passives"], c["detractors"], respondents),
    }


# ------------------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class PrimaryGroup:
    """Which organisation types count as the primary target group, per period of years (config
    REPORTING.PRIMARY_GROUP, e.g. the 2021-2025 policy plan that also counts civiel_scw). A year
    no period covers keeps the target group the events carried (DESIGN.md). The definition a
    year's figures were first counted with is fixed with them (store.year_definitions)."""

    periods: tuple[tuple[int, int, tuple[str, ...]], ...] = ()

    @classmethod
    def from_config(cls, config: dict) -> PrimaryGroup:
        periods = ((config or {}).get("REPORTING") or {}).get("PRIMARY_GROUP") or ()
        return cls(tuple((int(p["FROM"]), int(p["TO"]), tuple(p["ORG_TYPES"])) for p in periods))

    def for_year(self, year: int) -> tuple[str, ...] | None:
        for first, last, org_types in self.periods:
            if first <= year <= last:
                return org_types
        return None


# year -> the primary organisation types in force that year (None: as the events carried it)
Definitions = dict[int, "tuple[str, ...] | None"]


def group_of(target_group: str, org_type: str | None, year: int, definitions: Definitions | None) -> str:
    """The target group a participant or request counts in, in `year`."""
    primary = (definitions or {}).get(year)
    if primary is None:
        return target_group
    return "primary" if org_type in primary else "secondary"


def unit_years(unit: str, facts: Facts) -> set[int]:
    """The years whose definitions a unit's contribution depends on."""
    kind, _, key = unit.partition(":")
    if kind == "activity":
        activity = facts.activity(key)
        return {local_date(activity.starts_at).year} if activity.known else set()
    if kind == "request":
        request = facts.request(key)
        years = {local_date(request.received_at).year} if request.received else set()
        return years | {local_date(delivery.delivered_at).year for delivery in request.deliveries.values()}
    return set()


@dataclass(frozen=True)
class Thresholds:
    """Targets per year and alert levels per activity (config REPORTING)."""

    satisfaction_target_pct: float = 70.0  # a year breaches below it
    nps_target: float = 0.0  # a year breaches at or below it (NPS must be above)
    recognised_reach_target_pct: float = 70.0  # a year breaches below it
    activity_satisfaction_alert_pct: float = 60.0  # an activity breaches below it
    activity_nps_alert: float = 0.0  # an activity breaches below it
    activity_min_respondents: int = 5
    primary_group: PrimaryGroup = PrimaryGroup()  # not a threshold: the definition the figures count with

    @classmethod
    def from_config(cls, config: dict) -> Thresholds:
        section = (config or {}).get("REPORTING") or {}
        names = {
            "SATISFACTION_TARGET_PCT": ("satisfaction_target_pct", float),
            "NPS_TARGET": ("nps_target", float),
            "RECOGNISED_REACH_TARGET_PCT": ("recognised_reach_target_pct", float),
            "ACTIVITY_SATISFACTION_ALERT_PCT": ("activity_satisfaction_alert_pct", float),
            "ACTIVITY_NPS_ALERT": ("activity_nps_alert", float),
            "ACTIVITY_ALERT_MIN_RESPONDENTS": ("activity_min_respondents", int),
        }
        values = {attr: kind(section[key]) for key, (attr, kind) in names.items() if section.get(key) is not None}
        return cls(**values, primary_group=PrimaryGroup.from_config(config))


@dataclass(frozen=True)
class Check:
    kpi: str
    scope: str
    value: float | None  # None: not measured, the state stays as it is
    threshold: float
    breached: bool


AT_LEAST, ABOVE = "at_least", "above"  # met when value >= threshold / value > threshold


@dataclass(frozen=True)
class YearTarget:
    """One target of a year: where its value is in the annual document, which threshold
    (a Thresholds attribute) and how the value must compare with it."""

    kpi: str
    figure: str  # dotted path into the annual document
    threshold_name: str
    rule: str  # AT_LEAST or ABOVE

    def value_in(self, document: dict):
        value = document
        for key in self.figure.split("."):
            value = value[key]
        return value

    def threshold(self, thresholds: Thresholds) -> float:
        return getattr(thresholds, self.threshold_name)


# The yearly targets (config REPORTING): the threshold events and the annual report both read them here.
YEAR_TARGETS = (
    YearTarget("satisfaction_pct", "open_offer.satisfaction_pct", "satisfaction_target_pct", AT_LEAST),
    YearTarget("nps", "open_offer.nps.score", "nps_target", ABOVE),
    YearTarget("recognised_reach_pct", "totals.recognised_reach.pct", "recognised_reach_target_pct", AT_LEAST),
)
# What the targets' figures are computed from: the year's counters and the register's. The threshold
# check after every batch reads these alone, not the whole annual document (store.target_document).
YEAR_TARGET_COUNTERS = ("satisfaction_sum", "respondents", "promoters", "passives", "detractors",
                        distinct_metric("all_rorgs"))
YEAR_TARGET_REGISTER = ("recognised_orgs",)


def meets(rule: str, value: float, threshold: float) -> bool:
    return value >= threshold if rule == AT_LEAST else value > threshold


MET, MISSED, NOT_MEASURED = "met", "missed", "not_measured"


def target_status(rule: str, value: float | None, threshold: float) -> str:
    """met / missed, or not_measured when the figure is null (nothing measured that year)."""
    if value is None:
        return NOT_MEASURED
    return MET if meets(rule, value, threshold) else MISSED


def year_checks(scope: str, document: dict, thresholds: Thresholds) -> list[Check]:
    checks = []
    for target in YEAR_TARGETS:
        value, threshold = target.value_in(document), target.threshold(thresholds)
        checks.append(Check(target.kpi, scope, value, threshold,
                            value is not None and not meets(target.rule, value, threshold)))
    return checks


def year_targets(document: dict, thresholds: Thresholds) -> list[dict]:
    """The year's targets with their value, threshold, rule and status (met / missed / not_measured)."""
    return [
        {"kpi": target.kpi, "figure": target.figure, "rule": target.rule,
         "threshold": target.threshold(thresholds), "value": (value := target.value_in(document)),
         "status": target_status(target.rule, value, target.threshold(thresholds))}
        for target in YEAR_TARGETS
    ]


def activity_checks(scope: str, counters: dict[str, int], thresholds: Thresholds) -> list[Check]:
    c = defaultdict(int, counters)
    t = thresholds
    measured = c["respondents"] >= t.activity_min_respondents
    satisfaction = satisfaction_pct(c["satisfaction_sum"], c["respondents"]) if measured else None
    score = nps(c["promoters"], c["passives"], c["detractors"], c["respondents"])["score"] if measured else None
    return [
        Check("activity_satisfaction_pct", scope, satisfaction, t.activity_satisfaction_alert_pct,
              satisfaction is not None and satisfaction < t.activity_satisfaction_alert_pct),
        Check("activity_nps", scope, score, t.activity_nps_alert, score is not None and score < t.activity_nps_alert),
    ]


def crossings(checks: list[Check], breached_now: dict[tuple[str, str], bool]) -> list[tuple[str, Check]]:
    """The events to emit: ("kpi.threshold_breached" | "kpi.threshold_recovered", check) on a crossing only."""
    out = []
    for check in checks:
        if check.value is None:
            continue
        was = breached_now.get((check.kpi, check.scope), False)
        if check.breached and not was:
            out.append(("kpi.threshold_breached", check))
        elif was and not check.breached:
            out.append(("kpi.threshold_recovered", check))
    return out
