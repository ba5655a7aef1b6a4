"""Requests service: the demand-driven request desk (vraaggestuurde werking).

Thin nameko entrypoints: each loads its input with a schema (ValidationFailed
with field messages), opens one unit of work, lets the domain decide, emits the
contract's `request.*` events into the outbox in the same transaction and
returns JSON-able dicts. A refused step raises before the commit, so nothing is
half-written. An @timer flags requests that got no answer in time and emits `request.overdue`
once for each (the staff reminder).
"""
from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime

from nameko.dependency_providers import Config
from nameko.timer import timer

from kernel import health
from kernel.config import answer_within_working_days
from kernel.dependencies import Database
from kernel.errors import NotFound, ValidationFailed
from kernel.inputs import domain_errors, load
from kernel.rpc import RpcProxy, rpc
from kernel.rules import OrgProfile, TargetGroupPolicy
from kernel.tables import utcnow
from services.requests import domain, repository, schemas
from services.requests.domain import Request, StaffMember

log = logging.getLogger(__name__)

OVERDUE_CHECK_SECONDS = 300
FORM_KEYS = "requests.form_keys"  # the consumer name under which the forms' idempotency keys are claimed

_public_intake = schemas.PublicIntakeSchema()
_staff_intake = schemas.StaffIntakeSchema()
_receipt = schemas.ReceiptSchema()
_explore = schemas.ExploreSchema()
_note = schemas.NoteSchema()
_accept = schemas.AcceptSchema()
_decline = schemas.DeclineSchema()
_delivery = schemas.DeliverySchema()
_tags = schemas.TagsSchema()
_filters = schemas.RequestFiltersSchema()
_staff_input = schemas.StaffInputSchema()
_staff_update = schemas.StaffUpdateSchema()
_staff_view = schemas.StaffViewSchema()
_suggestion = schemas.SuggestionSchema()
_request_view = schemas.RequestViewSchema(exclude=("overdue", "allowed_actions", "totals"))  # computed below
# a line of the desk's list: no contact details (e-mail, phone, notes), those are on the request's own page
_request_line = schemas.RequestViewSchema(
    exclude=("overdue", "allowed_actions", "totals", "email", "phone", "notes", "deliveries"))
_contact = schemas.ContactSchema()

CSV_COLUMNS = (
    "request_id", "received_at", "channel", "status", "theme", "goal", "org_type", "recognised", "target_group",
    "organisation_id", "organisation_name", "name", "email", "phone", "language", "assignee", "answer_due_at",
    "answered_at", "overdue", "decline_reason", "referred_to", "decided_at", "closed_at", "deliveries",
    "dagdelen", "participants", "participations", "preferred_timing", "question",
)










def request_view(request: Request, now: datetime, schema=_request_view) -> dict:
    view = schema.dump(request)
    view["overdue"] = request.overdue(now)
    view["allowed_actions"] = [action for action in domain.TRANSITIONS if request.can(action)]
    view["totals"] = request.totals()
    return view


def first_time(uow, key) -> bool:
    """False when a form's idempotency key (schemas.form_key) was used before: the form was sent twice.
    Claimed in the caller's transaction, so a change that fails leaves the key unused."""
    return key is None or uow.claim({"event_id": str(key)}, consumer=FORM_KEYS)


def staff_view(member: StaffMember, load_count: int) -> dict:
    return {**_staff_view.dump(member), "open_load": load_count}


def _csv_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


class RequestsService(health.HealthRpc):
    name = "requests"
    db = Database()
    config = Config()
    registration = RpcProxy("registration")

    # --- settings ------------------------------------------------------------------------------------------

    def _policy(self) -> TargetGroupPolicy:
        return TargetGroupPolicy.from_config(self.config)

    def _settings(self) -> dict:
        return self.config.get("REQUESTS") or {}

    def _working_days(self) -> int:
        return answer_within_working_days(self.config)

    def _holidays(self) -> frozenset[date]:
        return frozenset(
            value if isinstance(value, date) else date.fromisoformat(str(value))
            for value in self._settings().get("HOLIDAYS") or ()
        )

    # --- helpers -------------------------------------------------------------------------------------------

    def _organisation_profile(self, organisation_id: str | None) -> OrgProfile | None:
        """The registration directory's profile of `organisation_id` (asked before any transaction)."""
        if organisation_id is None:
            return None
        try:
            organisation = self.registration.get_organisation(organisation_id)
        except NotFound:
            raise ValidationFailed(
                "unknown organisation", {"organisation_id": ["Unknown organisation."]}
            ) from None
        return OrgProfile(
            organisation["organisation_id"], organisation["org_type"], bool(organisation["recognised"]),
            organisation["target_group"],
        )

    def _receive(self, data: dict, channel: str) -> dict:
        """The new request (the form's idempotency key, if any, becomes its id: sent twice, the first one)."""
        organisation = self._organisation_profile(data["organisation_id"])
        now = utcnow()
        key = data.get("idempotency_key")
        with domain_errors(), self.db.unit_of_work() as uow:
            if not first_time(uow, key):
                return repository.request(uow.session, str(key)), now
            profile = domain.requester_profile(organisation, data["org_type"], self._policy())
            request = Request.receive(
                channel=channel,
                contact={"name": data["name"], "email": data["email"], "phone": data["phone"]},
                profile=profile,
                organisation_name=data["organisation_name"],
                question=data["question"],
                theme=data["theme"],
                goal=data.get("goal"),
                preferred_timing=data["preferred_timing"],
                language=data["language"],
                now=now,
                due_at=domain.answer_due_at(now, self._working_days(), self._holidays()),
                request_id=str(key) if key else None,
            )
            uow.session.add(request)
            uow.emit("request.received", request.received_event())
            return request, now

    # --- intake --------------------------------------------------------------------------------------------

    @rpc
    def submit_request(self, payload):
        """The public form: a requester asks for support."""
        data = load(_public_intake, payload)
        request, _ = self._receive(data, "web")
        return _receipt.dump({
            "request_id": request.request_id,
            "status": request.status,
            "message": "Thank you: we have received your request and will contact you soon.",
        })

    @rpc
    def record_request(self, payload):
        """Staff intake: a request taken by phone (or mail)."""
        data = load(_staff_intake, payload)
        request, now = self._receive(data, data["channel"])
        return request_view(request, now)

    # --- lifecycle -----------------------------------------------------------------------------------------

    @rpc
    def explore(self, request_id, payload=None):
        data = load(_explore, payload if payload is not None else {})
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id, lock=True)
            if data["staff_id"] is not None:
                repository.staff_member(uow.session, data["staff_id"], field="staff_id")
            request.explore(now, notes=data["notes"], author=data["staff_id"])
            return request_view(request, now)

    @rpc
    def add_note(self, request_id, payload):
        data = load(_note, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id, lock=True)
            if data["staff_id"] is not None:
                repository.staff_member(uow.session, data["staff_id"], field="staff_id")
            if first_time(uow, data["idempotency_key"]):
                request.add_note(data["text"], now, author=data["staff_id"])
            return request_view(request, now)

    @rpc
    def accept(self, request_id, payload):
        data = load(_accept, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id, lock=True)
            member = repository.staff_member(uow.session, data["assignee"], field="assignee")
            uow.emit("request.accepted", request.accept(member.staff_id, now, notes=data["notes"]))
            return request_view(request, now)

    @rpc
    def decline(self, request_id, payload):
        data = load(_decline, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id, lock=True)
            if data["staff_id"] is not None:
                repository.staff_member(uow.session, data["staff_id"], field="staff_id")
            event = request.decline(data["reason"], now, referred_to=data["referred_to"], notes=data["notes"],
                                    author=data["staff_id"])
            uow.emit("request.declined", event)
            return request_view(request, now)

    @rpc
    def record_delivery(self, request_id, payload):
        data = load(_delivery, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id, lock=True)
            if not first_time(uow, data["idempotency_key"]):
                return request_view(request, now)  # sent twice (a double click, a resubmit): recorded once
            delivery = request.deliver(
                delivered_on=data["date"], form=data["form"], dagdelen=data["dagdelen"],
                participants=data["participants"], participations=data["participations"],
                description=data["description"], now=now,
            )
            uow.emit("request.delivered", delivery.event())
            return request_view(request, now)

    @rpc
    def close(self, request_id):
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id, lock=True)
            request.close(now)
            return request_view(request, now)

    @rpc
    def update_tags(self, request_id, payload):
        data = load(_tags, payload)
        now = utcnow()
        with domain_errors(), self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id, lock=True)
            request.retag(now, theme=data.get("theme"), goal=data.get("goal"),
                          clear_goal="goal" in data and data["goal"] is None)
            return request_view(request, now)

    # --- reading -------------------------------------------------------------------------------------------

    @rpc
    def get_request(self, request_id):
        now = utcnow()
        with self.db.unit_of_work() as uow:
            return request_view(repository.request(uow.session, request_id), now)

    @rpc
    def contact_for_request(self, request_id):
        """Who to write to about a request: {name, email, language} (for the notifications service)."""
        with self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id)
            return _contact.dump({
                "name": request.contact_name, "email": request.contact_email, "language": request.language,
            })

    # --- privacy: a requester's export and erasure (GDPR; docs/PRIVACY.md) ----------------------------------

    @rpc
    def export_requester(self, email):
        """Every request made with this contact address, as the staff desk sees it (contact details,
        question, notes, deliveries): {"requests": [...]}."""
        now = utcnow()
        with self.db.read() as session:
            return {"requests": [request_view(r, now) for r in repository.requests_of(session, email)]}

    @rpc
    def erase_requester(self, email):
        """Anonymise the requester of every request made with this address, in one unit of work
        (domain.Request.erase_requester: contact details and literal mentions of them go, the funnel
        facts stay), and emit `request.requester_erased` for each so notifications purges its
        messages to them. Nothing found (unknown, or erased before): nothing changes, no event."""
        now = utcnow()
        with self.db.unit_of_work() as uow:
            found = repository.requests_of(uow.session, email, lock=True)
            for request in found:
                request.erase_requester(now)
                uow.emit("request.requester_erased", {"request_id": request.request_id})
        request_ids = [r.request_id for r in found]
        if request_ids:
            log.info("requester of %d request(s) erased: %s", len(request_ids), ", ".join(request_ids))
        return {"request_ids": request_ids, "erased": len(request_ids)}

    @rpc
    def list_requests(self, filters=None):
        """The staff desk: queues (new, mine, overdue) and filters (status, theme, goal, assignee, q),
        one page (limit, offset) of lines without contact details."""
        data = load(_filters, filters if filters is not None else {})
        now = utcnow()
        with self.db.unit_of_work() as uow:
            found = repository.find(uow.session, data, now, page=(data["limit"], data["offset"]))
            return [request_view(r, now, _request_line) for r in found]

    @rpc
    def export_csv(self, filters=None):
        """The whole selection of list_requests (no pages), with contact details, as CSV text."""
        data = load(_filters, filters if filters is not None else {})
        now = utcnow()
        with self.db.unit_of_work() as uow:
            rows = [request_view(r, now) for r in repository.find(uow.session, data, now)]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            flat = {**row, **row["totals"]}
            writer.writerow([_csv_cell(flat.get(column)) for column in CSV_COLUMNS])
        return out.getvalue()

    # --- matching and the staff directory ------------------------------------------------------------------

    @rpc
    def suggest_staff(self, request_id):
        """Active colleagues for a request, best match first (shared themes, then lightest load)."""
        with self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id)
            staff = repository.all_staff(uow.session)
            ranked = domain.rank_staff(staff, [request.theme], repository.loads(uow.session))
            return [
                _suggestion.dump({
                    "staff_id": s.staff.staff_id, "name": s.staff.name, "themes": s.staff.themes,
                    "overlap": s.overlap, "open_load": s.open_load,
                })
                for s in ranked
            ]

    @rpc
    def create_staff(self, payload):
        data = load(_staff_input, payload)
        now = utcnow()
        key = data["idempotency_key"]
        with self.db.unit_of_work() as uow:
            if not first_time(uow, key):  # sent twice: the colleague the first one added
                member = repository.staff_member(uow.session, str(key))
                return staff_view(member, repository.loads(uow.session).get(member.staff_id, 0))
            member = StaffMember.new(data["name"], data["themes"], now, email=data["email"],
                                     staff_id=str(key) if key else None)
            uow.session.add(member)
            return staff_view(member, 0)

    @rpc
    def update_staff(self, staff_id, payload):
        data = load(_staff_update, payload)
        now = utcnow()
        with self.db.unit_of_work() as uow:
            member = repository.staff_member(uow.session, staff_id)
            member.update(data, now)
            return staff_view(member, repository.loads(uow.session).get(member.staff_id, 0))

    @rpc
    def get_staff(self, staff_id):
        with self.db.unit_of_work() as uow:
            member = repository.staff_member(uow.session, staff_id)
            return staff_view(member, repository.loads(uow.session).get(member.staff_id, 0))

    @rpc
    def list_staff(self):
        with self.db.unit_of_work() as uow:
            loads = repository.loads(uow.session)
            members = repository.all_staff(uow.session)
            return [staff_view(m, loads.get(m.staff_id, 0)) for m in members]

    # --- answering on time ---------------------------------------------------------------------------------

    @timer(interval=OVERDUE_CHECK_SECONDS)
    def flag_overdue_requests(self):
        flagged = self.mark_overdue()
        if flagged:
            log.info("%d request(s) got no answer in time", flagged)

    @rpc
    def mark_overdue(self):
        """Flag requests without an answer past their term (overdue_marked_at) and emit one
        `request.overdue` for each, in the same transaction: the staff reminder is raised once per
        request. Returns how many were newly flagged."""
        now = utcnow()
        flagged = 0
        with self.db.unit_of_work() as uow:
            for request in repository.overdue_unflagged(uow.session, now):
                if request.mark_overdue(now):
                    uow.emit("request.overdue", request.overdue_event())
                    flagged += 1
        return flagged

    @rpc
    def assignee_contact(self, request_id):
        """The colleague a request is assigned to, for a staff reminder: {staff_id, name, email}; None
        when it has no assignee, or the assignee is inactive or has no address (the desk is told then)."""
        with self.db.unit_of_work() as uow:
            request = repository.request(uow.session, request_id)
            member = repository.assignee(uow.session, request)
            if member is None or not member.active or not member.email:
                return None
            return {"staff_id": member.staff_id, "name": member.name, "email": member.email}
