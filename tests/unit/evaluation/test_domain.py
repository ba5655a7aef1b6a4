"""The evaluation rules in plain Python (no broker, no database): who is invited when (also out of
order), the midway survey of tracks, the one reminder, closing, the signed single-use links, the
answers, erasure, and the staff figures (satisfaction %, NPS, distributions)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kernel.contract import DATA_SCHEMAS
from kernel.rules import InvalidInput
from services.evaluation import domain
from services.evaluation.domain import (
    FINAL,
    MIDWAY,
    Activity,
    AlreadyAnswered,
    Attendance,
    Evaluation,
    InvalidLink,
    LinkExpired,
    Settings,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = b"unit-test-key"
SETTINGS = Settings(invite_delay=timedelta(hours=2), reminder_after=timedelta(days=7),
                    close_after=timedelta(days=21))


def activity(kind="vorming", status=domain.SCHEDULED, starts=T0, ends=T0 + timedelta(hours=7)) -> Activity:
    a = Activity("act-1", updated_at=T0)
    a.schedule(kind, starts, ends, occurred_at=T0 - timedelta(days=30), now=T0 - timedelta(days=30))
    if status == domain.COMPLETED:
        a.complete(ends, ends)
    elif status == domain.CANCELLED:
        a.cancel(ends, ends)
    return a


def attendee(n: int, activity_id="act-1", at=T0) -> Attendance:
    return Attendance(f"reg-{n}", activity_id, f"person-{n}", at)


def invitation(now=T0, stage=FINAL, n=1) -> Evaluation:
    return Evaluation.request(attendee(n), stage, SETTINGS, now)


def answers(**overrides) -> dict:
    return {"satisfaction": 8, "recommend": 9, "most_useful": "De oefeningen", "could_be_better": None,
            "comment": "", **overrides}


# --- settings ------------------------------------------------------------------------------------------------


def test_settings_come_from_config_with_defaults():
    assert Settings.from_config({}) == Settings()
    settings = Settings.from_config({"EVALUATION": {
        "INVITE_DELAY_HOURS": 0, "REMINDER_AFTER_DAYS": "3", "CLOSE_AFTER_DAYS": 10, "MIDWAY_FOR_TRACKS": "true",
        "TRACK_KINDS": ["leertraject"]}})
    assert settings == Settings(timedelta(0), timedelta(days=3), timedelta(days=10), True, ("leertraject",))
    assert Settings.from_config({"EVALUATION": {"MIDWAY_FOR_TRACKS": False}}).midway_for_tracks is False
    with pytest.raises(ValueError):
        Settings.from_config({"EVALUATION": {"CLOSE_AFTER_DAYS": 0}})


# --- invitations ---------------------------------------------------------------------------------------------


def test_a_completed_activity_invites_every_attendee_after_the_delay():
    done = activity(status=domain.COMPLETED)
    people = [attendee(1), attendee(2), attendee(3, activity_id="other")]
    ends = done.ends_at
    assert domain.plan_invitations(done, people, set(), SETTINGS, ends + timedelta(hours=1, minutes=59)) == []
    now = ends + timedelta(hours=2)
    planned = domain.plan_invitations(done, people, set(), SETTINGS, now)
    assert [(e.registration_id, e.stage) for e in planned] == [("reg-1", FINAL), ("reg-2", FINAL)]
    first = planned[0]
    assert first.requested_at == now and first.closes_at == now + timedelta(days=21)
    assert first.person_id == "person-1" and first.activity_id == "act-1"
    assert first.requested_event == "evaluation.requested"
    assert first.event_data() == {"evaluation_id": first.evaluation_id, "registration_id": "reg-1",
                                  "activity_id": "act-1"}
    assert set(first.event_data()) == set(DATA_SCHEMAS["evaluation.requested"]().fields)
    assert len({e.evaluation_id for e in planned}) == 2


def test_no_invitation_before_completion_or_for_a_cancelled_activity_or_twice():
    late = T0 + timedelta(days=3)
    assert domain.plan_invitations(activity(), [attendee(1)], set(), SETTINGS, late) == []
    assert domain.plan_invitations(activity(status=domain.CANCELLED), [attendee(1)], set(), SETTINGS, late) == []
    done = activity(status=domain.COMPLETED)
    assert domain.plan_invitations(done, [attendee(1)], {("reg-1", FINAL)}, SETTINGS, late) == []


def test_order_tolerant_completion_before_the_schedule_and_attendance_after_completion():
    # activity.completed arrived first: no dates yet, so nothing is due
    early = Activity("act-1", updated_at=T0)
    early.complete(T0, T0)
    assert early.final_due_at(SETTINGS) is None
    assert domain.plan_invitations(early, [attendee(1)], set(), SETTINGS, T0 + timedelta(days=1)) == []
    # then the schedule arrives: the completion is kept
    early.schedule("vorming", T0, T0 + timedelta(hours=7), occurred_at=T0 - timedelta(days=9), now=T0)
    assert early.status == domain.COMPLETED
    now = T0 + timedelta(days=1)
    assert len(domain.plan_invitations(early, [attendee(1)], set(), SETTINGS, now)) == 1
    # attendance recorded after the first round: invited at the next round, the others not again
    later = domain.plan_invitations(early, [attendee(1), attendee(2, at=now)], {("reg-1", FINAL)}, SETTINGS,
                                    now + timedelta(hours=1))
    assert [e.registration_id for e in later] == ["reg-2"]


def test_an_older_schedule_event_does_not_overwrite_a_newer_one():
    a = Activity("act-1", updated_at=T0)
    assert a.schedule("vorming", T0, T0 + timedelta(hours=3), occurred_at=T0, now=T0)
    assert not a.schedule("workshop", T0, T0 + timedelta(hours=9), occurred_at=T0 - timedelta(hours=1), now=T0)
    assert (a.kind, a.ends_at) == ("vorming", T0 + timedelta(hours=3))
    a.cancel(T0, T0)
    a.complete(T0, T0)  # a cancelled activity stays cancelled
    assert a.status == domain.CANCELLED


def test_erased_attendees_are_not_invited():
    gone = attendee(1)
    gone.erase(T0)
    assert gone.person_id is None
    planned = domain.plan_invitations(activity(status=domain.COMPLETED), [gone, attendee(2)], set(), SETTINGS,
                                      T0 + timedelta(days=1))
    assert [e.registration_id for e in planned] == ["reg-2"]


def test_tracks_get_a_midway_survey_only_when_configured():
    starts, ends = T0, T0 + timedelta(days=60)
    track = activity(kind="leertraject", starts=starts, ends=ends)
    midway_on = Settings(midway_for_tracks=True)
    halfway = starts + timedelta(days=30)
    assert domain.plan_invitations(track, [attendee(1)], set(), SETTINGS, halfway) == []  # not configured
    assert domain.plan_invitations(track, [attendee(1)], set(), midway_on, halfway - timedelta(minutes=1)) == []
    (midway,) = domain.plan_invitations(track, [attendee(1)], set(), midway_on, halfway)
    assert midway.stage == MIDWAY and midway.requested_event == "evaluation.midway_requested"
    assert midway.submitted_event == "evaluation.midway_submitted"
    assert domain.plan_invitations(track, [attendee(1)], {("reg-1", MIDWAY)}, midway_on, halfway) == []
    # not after the end, and not for other kinds
    assert domain.plan_invitations(track, [attendee(1)], set(), midway_on, ends) == []
    assert domain.plan_invitations(activity(kind="vorming", starts=starts, ends=ends), [attendee(1)], set(),
                                   midway_on, halfway) == []
    # completed: the final survey, once, besides the midway one
    track.complete(ends, ends)
    (final,) = domain.plan_invitations(track, [attendee(1)], {("reg-1", MIDWAY)}, midway_on,
                                       ends + timedelta(hours=2))
    assert final.stage == FINAL


# --- reminder and closing ------------------------------------------------------------------------------------


def test_one_reminder_after_the_configured_days_while_open():
    e = invitation()
    assert domain.due_reminders([e], SETTINGS, T0 + timedelta(days=7) - timedelta(seconds=1)) == []
    now = T0 + timedelta(days=7)
    assert domain.due_reminders([e], SETTINGS, now) == [e]
    assert e.remind(SETTINGS, now) == e.event_data()
    assert e.reminder_sent_at == now
    assert e.remind(SETTINGS, now + timedelta(days=1)) is None  # only one
    assert domain.due_reminders([e], SETTINGS, now + timedelta(days=1)) == []
    answered = invitation(n=2)
    answered.submit(answers(), T0 + timedelta(days=1))
    assert domain.due_reminders([answered], SETTINGS, now) == []


def test_no_reminder_once_closed():
    e = invitation()
    e.close(T0 + timedelta(days=1))
    assert domain.due_reminders([e], SETTINGS, T0 + timedelta(days=8)) == []
    short = Settings(reminder_after=timedelta(days=7), close_after=timedelta(days=5))
    brief = Evaluation.request(attendee(3), FINAL, short, T0)
    assert domain.due_reminders([brief], short, T0 + timedelta(days=7)) == []


def test_surveys_close_after_their_term():
    e, answered = invitation(), invitation(n=2)
    answered.submit(answers(), T0 + timedelta(days=1))
    assert e.status(T0) == "open" and answered.status(T0) == "answered"
    closes = T0 + timedelta(days=21)
    assert domain.due_closings([e, answered], closes - timedelta(seconds=1)) == []
    assert domain.due_closings([e, answered], closes) == [e]
    assert e.status(closes) == "closed"
    assert e.close(closes) and e.closed_at == closes
    assert not e.close(closes + timedelta(days=1))
    assert domain.due_closings([e], closes + timedelta(days=1)) == []


# --- links ---------------------------------------------------------------------------------------------------


def test_a_genuine_link_opens_its_survey():
    e = invitation()
    token = domain.make_token(KEY, e.evaluation_id, e.closes_at)
    evaluation_id, expires_at = domain.read_token(KEY, token)
    assert evaluation_id == e.evaluation_id and expires_at == e.closes_at
    assert domain.check_link(e, expires_at, T0 + timedelta(days=1)) is e
    assert token.count(".") == 2 and len(token) < 120


def _tampered(token: str) -> list[str]:
    evaluation_id, expires, signature = token.split(".")
    other_id = evaluation_id[:-1] + ("0" if evaluation_id[-1] != "0" else "1")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return [
        f"{other_id}.{expires}.{signature}",            # another survey's id
        f"{evaluation_id}.{int(expires) + 86400}.{signature}",  # a later expiry
        f"{evaluation_id}.{expires}.{flipped}",         # a changed signature
        f"{evaluation_id}.{expires}",                   # cut short
        token + "x", "", "not-a-token", "a" * 500,
    ]


def test_forged_or_tampered_links_are_refused():
    e = invitation()
    token = domain.make_token(KEY, e.evaluation_id, e.closes_at)
    for bad in _tampered(token):
        with pytest.raises(InvalidLink):
            domain.read_token(KEY, bad)
    forged = domain.make_token(b"someone-elses-key", e.evaluation_id, e.closes_at)
    with pytest.raises(InvalidLink):
        domain.read_token(KEY, forged)
    with pytest.raises(InvalidLink):
        domain.read_token(KEY, None)
    with pytest.raises(InvalidLink):
        domain.read_token(b"", token)
    # a genuine link naming another expiry than its survey's (or no survey at all)
    _, expires_at = domain.read_token(KEY, token)
    with pytest.raises(InvalidLink):
        domain.check_link(e, expires_at + timedelta(days=1), T0)
    with pytest.raises(InvalidLink):
        domain.check_link(None, expires_at, T0)


def test_expired_closed_and_used_links():
    e = invitation()
    token = domain.make_token(KEY, e.evaluation_id, e.closes_at)
    _, expires_at = domain.read_token(KEY, token)
    with pytest.raises(LinkExpired):
        domain.check_link(e, expires_at, e.closes_at)
    closed_early = invitation(n=2)
    closed_early.close(T0 + timedelta(days=1))
    with pytest.raises(LinkExpired):
        domain.check_link(closed_early, closed_early.closes_at, T0 + timedelta(days=2))
    e.submit(answers(), T0 + timedelta(days=1))
    with pytest.raises(AlreadyAnswered):
        domain.check_link(e, expires_at, T0 + timedelta(days=2))
    with pytest.raises(AlreadyAnswered):  # used says so first, also once expired
        domain.check_link(e, expires_at, e.closes_at + timedelta(days=1))


# --- answers -------------------------------------------------------------------------------------------------


def test_submitting_stores_the_answers_once_and_gives_the_contract_event():
    e = invitation()
    now = T0 + timedelta(days=1)
    data = e.submit(answers(could_be_better="  Meer pauzes  "), now)
    assert data == {"evaluation_id": e.evaluation_id, "registration_id": "reg-1", "activity_id": "act-1",
                    "satisfaction": 8, "recommend": 9, "has_comment": True}
    assert set(data) == set(DATA_SCHEMAS["evaluation.submitted"]().fields)
    assert (e.most_useful, e.could_be_better, e.comment) == ("De oefeningen", "Meer pauzes", None)
    assert e.submitted_at == now and e.status(now) == "answered"
    with pytest.raises(AlreadyAnswered):
        e.submit(answers(satisfaction=1), now)
    assert e.satisfaction == 8
    quiet = invitation(n=2).submit(answers(most_useful=" ", comment=None), now)
    assert quiet["has_comment"] is False


@pytest.mark.parametrize("bad, fields", [
    ({}, {"satisfaction", "recommend"}),
    ({"satisfaction": 11, "recommend": -1}, {"satisfaction", "recommend"}),
    ({"satisfaction": "7", "recommend": 7.5}, {"satisfaction", "recommend"}),
    ({"satisfaction": True, "recommend": 7}, {"satisfaction"}),
    ({"satisfaction": 7, "recommend": None}, {"recommend"}),
    ({"satisfaction": 7, "recommend": 7, "comment": "x" * 2001}, {"comment"}),
    ({"satisfaction": 7, "recommend": 7, "most_useful": 3}, {"most_useful"}),
    ({"satisfaction": 7, "recommend": 7, "email": "a@b.be"}, {"email"}),
])
def test_wrong_answers_get_field_errors_and_change_nothing(bad, fields):
    e = invitation()
    with pytest.raises(InvalidInput) as caught:
        e.submit(bad, T0 + timedelta(days=1))
    assert set(caught.value.details) == fields
    assert e.submitted_at is None and e.satisfaction is None


def test_scores_zero_and_ten_are_valid():
    data = invitation().submit({"satisfaction": 0, "recommend": 10}, T0 + timedelta(hours=1))
    assert (data["satisfaction"], data["recommend"], data["has_comment"]) == (0, 10, False)


def test_erasure_removes_texts_and_the_person_but_keeps_scores():
    answered, waiting = invitation(), invitation(n=2)
    answered.submit(answers(comment="Ik ben Ann uit Gent"), T0 + timedelta(days=1))
    now = T0 + timedelta(days=2)
    for e in (answered, waiting):
        e.anonymise(now)
    assert (answered.person_id, answered.most_useful, answered.could_be_better, answered.comment) == (
        None, None, None, None)
    assert (answered.satisfaction, answered.recommend, answered.anonymised_at) == (8, 9, now)
    assert waiting.status(now) == "closed"  # no reminder, no answer any more
    assert domain.due_reminders([waiting], SETTINGS, T0 + timedelta(days=8)) == []


# --- staff figures -------------------------------------------------------------------------------------------


def test_stage_report_figures():
    now = T0 + timedelta(days=2)
    scores = [(10, 10), (9, 9), (8, 8), (7, 7), (6, 6), (3, 0)]
    evaluations = []
    for n, (satisfaction, recommend) in enumerate(scores):
        e = invitation(n=n)
        e.submit({"satisfaction": satisfaction, "recommend": recommend,
                  "comment": "Goed" if n == 0 else None}, T0 + timedelta(hours=n + 1))
        evaluations.append(e)
    evaluations += [invitation(n=10), invitation(n=11)]  # not answered
    report = domain.stage_report(evaluations, now)
    assert report["invited"] == 8 and report["responses"] == 6 and report["open"] == 2
    assert report["response_rate_pct"] == 75.0
    assert report["satisfaction_pct"] == 71.7  # 43 / 6 * 10 = 71.666...
    assert report["nps"] == {"score": 0, "promoters": 2, "passives": 2, "detractors": 2,
                             "promoters_pct": 33.3, "passives_pct": 33.3, "detractors_pct": 33.3,
                             "respondents": 6}
    assert report["distribution"]["satisfaction"] == {str(s): (1 if s in (10, 9, 8, 7, 6, 3) else 0)
                                                      for s in range(11)}
    assert report["distribution"]["recommend"]["0"] == 1 and sum(report["distribution"]["recommend"].values()) == 6
    assert [c["comment"] for c in report["comments"]] == ["Goed"]


def test_nps_is_promoters_minus_detractors():
    evaluations = []
    for n, recommend in enumerate([10, 10, 9, 8, 2]):
        e = invitation(n=n)
        e.submit({"satisfaction": 5, "recommend": recommend}, T0)
        evaluations.append(e)
    nps = domain.stage_report(evaluations, T0)["nps"]
    assert (nps["promoters"], nps["passives"], nps["detractors"]) == (3, 1, 1)
    assert nps["score"] == 40 and nps["promoters_pct"] == 60.0 and nps["detractors_pct"] == 20.0


def test_empty_report_has_nulls():
    report = domain.stage_report([], T0)
    assert report["response_rate_pct"] is None and report["satisfaction_pct"] is None
    assert report["nps"]["score"] is None and report["comments"] == []
    assert set(report["distribution"]["satisfaction"]) == {str(s) for s in range(11)}
