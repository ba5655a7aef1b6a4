"""The requests service's SQL: plain functions on the caller's session, loading the domain's requests
and staff members (mapped in models.py) and the queries of the desk's queues and filters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from kernel.errors import NotFound, ValidationFailed
from kernel.inputs import existing_id
from services.requests import domain
from services.requests.domain import Request, StaffMember
from services.requests.models import requests as requests_table
from services.requests.models import staff_members


def request(session, request_id, lock: bool = False) -> Request:
    """The request; NotFound if there is none. With `lock`, its row is held for this transaction."""
    statement = select(Request).where(requests_table.c.request_id == existing_id(request_id, "request"))
    if lock:
        statement = statement.with_for_update()
    found = session.execute(statement).scalars().first()
    if found is None:
        raise NotFound("request not found")
    return found


def staff_member(session, staff_id, field: str | None = None) -> StaffMember:
    """A staff member; unknown: NotFound, or a field error on `field` when it names an input."""
    member = session.get(StaffMember, staff_id) if isinstance(staff_id, str) and len(staff_id) <= 64 else None
    if member is None or (field is not None and not member.active):
        if field is not None:
            raise ValidationFailed("unknown staff member", {field: ["Unknown or inactive staff member."]})
        raise NotFound("staff member not found")
    return member


def assignee(session, request: Request) -> StaffMember | None:
    return session.get(StaffMember, request.assignee) if request.assignee else None


def all_staff(session) -> list[StaffMember]:
    """Every staff member, by name."""
    return list(session.execute(
        select(StaffMember).order_by(staff_members.c.name, staff_members.c.staff_id)).scalars())


def loads(session) -> dict[str, int]:
    """The open requests (domain.LOAD_STATUSES) of each colleague who has any."""
    rows = session.execute(
        select(requests_table.c.assignee, func.count())
        .where(requests_table.c.assignee.is_not(None))
        .where(requests_table.c.status.in_(domain.LOAD_STATUSES))
        .group_by(requests_table.c.assignee)
    ).all()
    return {assignee: count for assignee, count in rows}


def requests_of(session, email, lock: bool = False) -> list[Request]:
    """The requests whose contact address is `email` (any case), oldest first."""
    if not isinstance(email, str) or "@" not in email or len(email.strip()) > 254:
        raise ValidationFailed("invalid email address", {"email": ["Not a valid email address."]})
    statement = (
        select(Request).where(func.lower(requests_table.c.contact_email) == domain.normalise_email(email))
        .order_by(requests_table.c.received_at, requests_table.c.request_id)
    )
    if lock:
        statement = statement.with_for_update()
    return list(session.execute(statement).scalars())


def find(session, filters: dict, now: datetime, page: tuple[int, int] | None = None) -> list[Request]:
    """The desk's selection: a queue (new, mine, overdue) and filters; one page (limit, offset) or all."""
    statement = select(Request)
    c = requests_table.c
    queue = filters.get("queue")
    if queue == "new":
        statement = statement.where(c.status == domain.RECEIVED)
    elif queue == "mine":
        statement = statement.where(c.status.in_(domain.LOAD_STATUSES))
    elif queue == "overdue":
        statement = statement.where(c.status == domain.RECEIVED, c.answered_at.is_(None),
                                    c.answer_due_at <= now)
    if filters.get("status"):
        statement = statement.where(c.status == filters["status"])
    if filters.get("assignee"):
        statement = statement.where(c.assignee == filters["assignee"])
    if filters.get("theme"):
        statement = statement.where(func.lower(c.theme) == filters["theme"].casefold())
    if filters.get("goal"):
        statement = statement.where(c.goal == filters["goal"])
    if filters.get("target_group"):
        statement = statement.where(c.target_group == filters["target_group"])
    if filters.get("q"):
        pattern = "%" + filters["q"].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(*(
            func.lower(column).like(pattern, escape="\\")
            for column in (c.question, c.contact_name, c.contact_email, c.organisation_name, c.theme,
                           c.referred_to)
        )))
    order = (c.answer_due_at, c.request_id) if queue in ("new", "overdue") else (c.received_at.desc(),
                                                                                 c.request_id)
    statement = statement.order_by(*order)
    if page is not None:
        limit, offset = page
        statement = statement.limit(limit).offset(offset)
    return list(session.execute(statement).scalars())


def overdue_unflagged(session, now: datetime) -> list[Request]:
    """Requests without an answer past their term and not flagged yet, locked; rows another
    transaction holds are skipped, so two replicas' timers never flag one request twice."""
    c = requests_table.c
    return list(session.execute(
        select(Request).where(c.status == domain.RECEIVED, c.answered_at.is_(None),
                              c.overdue_marked_at.is_(None), c.answer_due_at <= now)
        .with_for_update(skip_locked=True)
    ).scalars())
