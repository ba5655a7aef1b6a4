"""The evaluation service over the real RabbitMQ (SQLite; PostgreSQL too for the due work), with
registration's events published as registration would (also out of order and twice) and a clock
the test moves: invitations once the activity is completed and its end plus the delay has passed,
the one reminder, closing, the signed single-use links (forged, tampered, expired, reused: refused,
nothing stored), erasure, midway surveys of tracks, and the staff figures and CSV through the
gateway."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from kernel.errors import Conflict, Gone, NotFound, ValidationFailed
from kernel.tables import utcnow
from services.evaluation import domain
from services.evaluation.models import activities, evaluations
from services.gateway.service import GatewayService
from services.registration.service import RegistrationService
from tests.helpers import contract_data, wait_for
from tests.integration.evaluation.conftest import LINK_SECRET
from tests.integration.evaluation.support import attended, registration_event, scheduled


def assert_contract(event: dict) -> dict:
    contract_data(event, "evaluation")
    assert "person" not in str(event["data"])  # no person ids, no free text
    return event["data"]


def token_of(url: str) -> str:
    return url.split("/evaluations/", 1)[1].split("?", 1)[0]


def activity_ready(db, activity_id, status="completed"):
    wait_for(lambda: any(r["status"] == status and r["ends_at"] is not None
                         for r in db.rows(activities, activities.c.activity_id == activity_id)),
             message=f"activity {activity_id} {status} with its dates")


def invite(send, db, rpc, clock, activity_id="act-1", people=(("reg-1", "person-1"),)):
    """An activity that ended an hour ago, completed, with these attendees; then the invitations."""
    ends = utcnow() - timedelta(hours=1)
    send(scheduled(activity_id, ends - timedelta(hours=7), ends))
    for registration_id, person_id in people:
        send(attended(registration_id, activity_id, person_id))
    send(registration_event("activity.completed", activity_id=activity_id))
    activity_ready(db, activity_id)
    db.wait_attendance(len(people))
    clock.set(ends + timedelta(hours=2))
    assert rpc.run_due()["invited"] == len(people)


def test_invitations_once_after_the_delay_in_any_order_and_redelivered(start, send, rpc, events, db, clock):
    start()
    ends = utcnow() - timedelta(hours=1)
    completed = registration_event("activity.completed", activity_id="act-1")
    attendance = attended("reg-1", "act-1", "person-1")
    # completion and attendance before the schedule, each delivered twice; an older update after a newer one
    for envelope in (completed, attendance, completed, attendance):
        send(envelope)
    send(scheduled("act-1", ends - timedelta(hours=7), ends, event_type="activity.updated"))
    send(scheduled("act-1", ends - timedelta(hours=9), ends - timedelta(hours=8),
                   occurred_at=utcnow() - timedelta(days=20)))
    wait_for(lambda: [(r["status"], r["ends_at"]) for r in db.rows(activities)] == [("completed", ends)],
             message="completed, with the newer schedule's dates")
    db.wait_attendance(1)
    wait_for(lambda: db.processed("evaluation.on_activity_scheduled") == 1, message="the older schedule handled")
    assert [r["ends_at"] for r in db.rows(activities)] == [ends]  # the older schedule did not overwrite it
    assert db.processed("evaluation.on_activity_completed") == 1  # the redelivery changed nothing
    assert db.processed("evaluation.on_attendance_recorded") == 1

    clock.set(ends + timedelta(hours=1, minutes=59))  # the delay (2 h) has not passed
    assert rpc.run_due() == {"invited": 0, "reminded": 0, "closed": 0}
    clock.set(ends + timedelta(hours=2, minutes=1))
    assert rpc.run_due() == {"invited": 1, "reminded": 0, "closed": 0}
    (requested,) = events.wait("evaluation.requested")
    data = assert_contract(requested)
    assert (data["registration_id"], data["activity_id"]) == ("reg-1", "act-1")
    (stored,) = db.rows(evaluations)
    assert stored["evaluation_id"] == data["evaluation_id"] and stored["person_id"] == "person-1"
    assert stored["stage"] == "final"

    # attendance recorded after the invitations went out: invited at the next round; nobody twice
    send(attended("reg-2", "act-1", "person-2"))
    db.wait_attendance(2)
    assert rpc.run_due()["invited"] == 1
    assert rpc.run_due()["invited"] == 0
    assert sorted(assert_contract(e)["registration_id"] for e in events.wait("evaluation.requested", 2)) == [
        "reg-1", "reg-2"]
    events.settle(0.3)
    assert len(events.of_type("evaluation.requested")) == 2

    # a cancelled activity invites nobody
    send(scheduled("act-2", ends - timedelta(hours=3), ends))
    send(attended("reg-3", "act-2", "person-3"))
    send(registration_event("activity.cancelled", activity_id="act-2", reason="te weinig inschrijvingen"))
    activity_ready(db, "act-2", status="cancelled")
    db.wait_attendance(3)
    assert rpc.run_due()["invited"] == 0


def test_the_timer_sends_what_is_due(start, send, events, db, clock, ev_config):
    ev_config["EVALUATION"]["DUE_CHECK_SECONDS"] = 0.2
    start()
    ends = utcnow() - timedelta(hours=3)  # ended longer ago than the delay
    send(scheduled("act-1", ends - timedelta(hours=7), ends))
    send(attended("reg-1", "act-1", "person-1"))
    send(registration_event("activity.completed", activity_id="act-1"))
    (requested,) = events.wait("evaluation.requested")  # nobody called run_due
    assert assert_contract(requested)["registration_id"] == "reg-1"
    clock.advance(days=7, minutes=1)
    (reminded,) = events.wait("evaluation.reminded")
    assert reminded["data"] == requested["data"]


def test_the_reminder_once_then_the_survey_closes(start, send, rpc, events, db, clock, database_backend):
    start()
    invite(send, db, rpc, clock, people=(("reg-1", "person-1"), ("reg-2", "person-2")))
    first, second = (e["data"] for e in events.wait("evaluation.requested", 2))
    answered = first if first["registration_id"] == "reg-1" else second
    waiting = second if answered is first else first
    rpc.submit(token_of(rpc.invitation_for(answered["evaluation_id"])["survey_url"]),
               {"satisfaction": 9, "recommend": 10})

    clock.advance(days=6, hours=23)
    assert rpc.run_due()["reminded"] == 0
    clock.advance(hours=2)  # seven days after the invitation
    assert rpc.run_due() == {"invited": 0, "reminded": 1, "closed": 0}
    (reminded,) = events.wait("evaluation.reminded")
    assert assert_contract(reminded) == waiting  # only the one who did not answer
    assert rpc.run_due()["reminded"] == 0
    invitation = rpc.invitation_for(waiting["evaluation_id"])
    assert invitation["status"] == "open" and invitation["stage"] == "final"
    token = token_of(invitation["survey_url"])
    assert rpc.get_survey(token)["evaluation_id"] == waiting["evaluation_id"]

    clock.advance(days=14)  # 21 days after the invitation
    assert rpc.run_due() == {"invited": 0, "reminded": 0, "closed": 1}
    assert rpc.invitation_for(waiting["evaluation_id"])["status"] == "closed"
    before = db.snapshot()
    with pytest.raises(Gone):
        rpc.get_survey(token)
    with pytest.raises(Gone):
        rpc.submit(token, {"satisfaction": 5, "recommend": 5})
    assert db.snapshot() == before
    assert rpc.run_due() == {"invited": 0, "reminded": 0, "closed": 0}
    events.settle(0.3)
    assert len(events.of_type("evaluation.reminded")) == 1
    assert len(events.of_type("evaluation.submitted")) == 1


def _tampered(token: str) -> list[str]:
    evaluation_id, expires, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    return [
        f"{evaluation_id[:-1]}{'0' if evaluation_id[-1] != '0' else '1'}.{expires}.{signature}",
        f"{evaluation_id}.{int(expires) + 7 * 86400}.{signature}",
        f"{evaluation_id}.{expires}.{flipped}",
        f"{evaluation_id}.{expires}",
        evaluation_id,
        "../../etc/passwd",
    ]


def test_forged_tampered_expired_and_reused_links_store_nothing(start, send, rpc, events, db, clock, ev_config):
    start()
    invite(send, db, rpc, clock)
    (requested,) = events.wait("evaluation.requested")
    evaluation_id = requested["data"]["evaluation_id"]
    invitation = rpc.invitation_for(evaluation_id)
    token = token_of(invitation["survey_url"])
    assert invitation["survey_url"] == f"{ev_config['PUBLIC_BASE_URL']}/evaluations/{token}"
    closes_at = db.rows(evaluations)[0]["closes_at"]
    before = db.snapshot()

    forged = domain.make_token(b"not-the-secret", evaluation_id, closes_at)
    for bad in [*_tampered(token), forged]:
        with pytest.raises(NotFound):
            rpc.get_survey(bad)
        with pytest.raises(NotFound):
            rpc.submit(bad, {"satisfaction": 7, "recommend": 7})
    # out of range and missing answers: field errors, nothing stored
    with pytest.raises(ValidationFailed) as caught:
        rpc.submit(token, {"satisfaction": 11, "comment": "x" * 2001})
    assert set(caught.value.details) == {"satisfaction", "recommend", "comment"}
    assert db.snapshot() == before

    # expired: a genuine link whose time has passed (the clock moved past it)
    clock.set(closes_at + timedelta(seconds=1))
    with pytest.raises(Gone):
        rpc.submit(token, {"satisfaction": 7, "recommend": 7})
    assert db.snapshot() == before
    clock.set(closes_at - timedelta(days=1))

    receipt = rpc.submit(token, {"satisfaction": 7, "recommend": 9, "most_useful": "Het rollenspel",
                                 "comment": "  "})
    assert receipt["evaluation_id"] == evaluation_id
    (submitted,) = events.wait("evaluation.submitted")
    assert assert_contract(submitted) == {
        "evaluation_id": evaluation_id, "registration_id": "reg-1", "activity_id": "act-1",
        "satisfaction": 7, "recommend": 9, "has_comment": True,
    }
    assert "rollenspel" not in str(submitted)
    after = db.snapshot()
    # used: a second answer is refused (409) and changes nothing
    with pytest.raises(Conflict):
        rpc.submit(token, {"satisfaction": 1, "recommend": 1})
    with pytest.raises(Conflict):
        rpc.get_survey(token)
    assert db.snapshot() == after
    assert rpc.invitation_for(evaluation_id)["status"] == "answered"
    (row,) = db.rows(evaluations)
    assert (row["satisfaction"], row["recommend"], row["most_useful"], row["comment"]) == (7, 9, "Het rollenspel",
                                                                                           None)
    events.settle(0.3)
    assert len(events.of_type("evaluation.submitted")) == 1
    assert rpc.invitation_for("no-such-survey") is None


def test_an_erased_person_is_anonymised_and_sent_nothing_more(start, send, rpc, events, db, clock):
    start()
    invite(send, db, rpc, clock, people=(("reg-1", "person-1"), ("reg-2", "person-2")))
    by_registration = {e["data"]["registration_id"]: e["data"] for e in events.wait("evaluation.requested", 2)}
    token = token_of(rpc.invitation_for(by_registration["reg-1"]["evaluation_id"])["survey_url"])
    rpc.submit(token, {"satisfaction": 6, "recommend": 3, "comment": "Ik ben Ann, de trainer kende me."})
    # person-2 has an open survey; and registers again for a later activity
    send(scheduled("act-2", utcnow() - timedelta(hours=5), utcnow() - timedelta(hours=4)))
    send(registration_event("activity.completed", activity_id="act-2"))
    activity_ready(db, "act-2")

    erased = registration_event("person.erased", person_id="person-1")
    send(erased)
    send(registration_event("person.erased", person_id="person-2"))
    wait_for(lambda: all(r["person_id"] is None for r in db.rows(evaluations)), message="both anonymised")
    send(erased)  # redelivered: nothing changes
    # attendance arriving after the erasure is kept without the person and not invited
    send(attended("reg-9", "act-2", "person-2"))
    db.wait_attendance(3)

    rows = {r["registration_id"]: r for r in db.rows(evaluations)}
    assert rows["reg-1"]["comment"] is None and rows["reg-1"]["anonymised_at"] is not None
    assert (rows["reg-1"]["satisfaction"], rows["reg-1"]["recommend"]) == (6, 3)
    assert rows["reg-2"]["closed_at"] is not None and rows["reg-2"]["submitted_at"] is None
    clock.advance(days=8)
    assert rpc.run_due() == {"invited": 0, "reminded": 0, "closed": 0}
    report = rpc.activity_report("act-1")
    assert report["responses"] == 1 and report["comments"] == []
    assert report["distribution"]["recommend"]["3"] == 1
    assert "Ann" not in rpc.export_csv("act-1")
    events.settle(0.3)
    assert [e["event_type"] for e in events.events].count("evaluation.requested") == 2


def test_tracks_get_a_midway_survey_when_configured(start, send, rpc, events, db, clock, ev_config):
    ev_config["EVALUATION"]["MIDWAY_FOR_TRACKS"] = True
    start()
    starts = utcnow() - timedelta(days=1)
    ends = starts + timedelta(days=60)
    send(scheduled("track", starts, ends, kind="leertraject"))
    send(attended("reg-1", "track", "person-1"))
    activity_ready(db, "track", status="scheduled")
    db.wait_attendance(1)
    assert rpc.run_due()["invited"] == 0
    clock.set(starts + timedelta(days=30, minutes=1))
    assert rpc.run_due()["invited"] == 1
    (midway,) = events.wait("evaluation.midway_requested")
    token = token_of(rpc.invitation_for(assert_contract(midway)["evaluation_id"])["survey_url"])
    assert rpc.get_survey(token)["stage"] == "midway"
    rpc.submit(token, {"satisfaction": 8, "recommend": 8})
    (midway_answer,) = events.wait("evaluation.midway_submitted")
    assert assert_contract(midway_answer)["satisfaction"] == 8

    send(registration_event("activity.completed", activity_id="track"))
    activity_ready(db, "track")
    clock.set(ends + timedelta(hours=3))
    assert rpc.run_due()["invited"] == 1
    (final,) = events.wait("evaluation.requested")
    assert assert_contract(final)["registration_id"] == "reg-1"
    assert rpc.activity_report("track", "midway")["responses"] == 1
    assert rpc.activity_report("track")["responses"] == 0
    events.settle(0.3)
    assert events.of_type("evaluation.submitted") == []  # the annual figures count the final survey only


def test_staff_figures_and_csv_through_the_gateway(start, send, rpc, events, db, clock, gateway_url,
                                                   staff_headers, ev_config):
    start(GatewayService, RegistrationService)
    people = [(f"reg-{n}", f"person-{n}") for n in range(1, 6)]
    invite(send, db, rpc, clock, people=people)
    by_registration = {e["data"]["registration_id"]: e["data"]["evaluation_id"]
                       for e in events.wait("evaluation.requested", 5)}
    answers = {"reg-1": (10, 10, "=HYPERLINK(\"x\")"), "reg-2": (9, 9, None), "reg-3": (7, 8, "Meer pauzes"),
               "reg-4": (4, 2, None)}
    for registration_id, (satisfaction, recommend, better) in answers.items():
        token = token_of(rpc.invitation_for(by_registration[registration_id])["survey_url"])
        rpc.submit(token, {"satisfaction": satisfaction, "recommend": recommend, "could_be_better": better})
    events.wait("evaluation.submitted", 4)

    base = f"{gateway_url}/api/staff/evaluations/activities"
    assert requests.get(f"{base}/act-1", timeout=10).status_code == 401
    report = requests.get(f"{base}/act-1", headers=staff_headers, timeout=10)
    assert report.status_code == 200
    body = report.json()
    assert (body["invited"], body["responses"], body["open"]) == (5, 4, 1)
    assert body["response_rate_pct"] == 80.0
    assert body["satisfaction_pct"] == 75.0  # (10 + 9 + 7 + 4) / 4 * 10
    assert body["nps"]["score"] == 25 and (body["nps"]["promoters"], body["nps"]["detractors"]) == (2, 1)
    assert body["distribution"]["satisfaction"] == {str(s): int(s in (10, 9, 7, 4)) for s in range(11)}
    assert body["distribution"]["recommend"]["2"] == 1 and body["distribution"]["recommend"]["8"] == 1
    assert sorted(c["could_be_better"] for c in body["comments"]) == ["=HYPERLINK(\"x\")", "Meer pauzes"]
    assert not any("registration_id" in c or "person_id" in c for c in body["comments"])

    listing = requests.get(base, headers=staff_headers, timeout=10).json()
    assert [(a["activity_id"], a["responses"], a["nps_score"]) for a in listing] == [("act-1", 4, 25)]

    export = requests.get(f"{base}/act-1/export.csv", headers=staff_headers, timeout=10)
    assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
    assert export.headers["Content-Disposition"] == 'attachment; filename="evaluations-act-1.csv"'
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == 4 and sorted(int(r["satisfaction"]) for r in rows) == [4, 7, 9, 10]
    assert "'=HYPERLINK(\"x\")" in {r["could_be_better"] for r in rows}  # not run as a formula
    assert "person" not in export.text and "reg-1" not in export.text

    assert requests.get(f"{base}/nope", headers=staff_headers, timeout=10).status_code == 404
    assert requests.get(f"{base}/act-1?stage=halfway", headers=staff_headers, timeout=10).status_code == 400

    # the public page for bad links, over HTTP
    token = token_of(rpc.invitation_for(by_registration["reg-5"])["survey_url"])
    assert requests.get(f"{gateway_url}/evaluations/{token}", timeout=10).status_code == 200
    assert requests.get(f"{gateway_url}/evaluations/{token[:-3]}abc", timeout=10).status_code == 404
    used = token_of(rpc.invitation_for(by_registration["reg-1"])["survey_url"])
    assert requests.get(f"{gateway_url}/evaluations/{used}", timeout=10).status_code == 409
    with db.engine.begin() as connection:  # closed early (as erasure or cancellation would)
        connection.execute(update(evaluations).where(evaluations.c.registration_id == "reg-5")
                           .values(closed_at=utcnow()))
    assert requests.get(f"{gateway_url}/evaluations/{token}", timeout=10).status_code == 410
    assert LINK_SECRET not in requests.get(f"{gateway_url}/evaluations/{token}", timeout=10).text
