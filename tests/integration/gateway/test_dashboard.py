"""The live dashboard through the gateway, on the whole platform over the real RabbitMQ: a known
stream of events published onto the producers' exchanges, plus an activity run through
registration itself. The JSON endpoint's figures are annual_kpis' (and those computed
independently from the stream), its targets the annual report's, an activity with enough poor
answers is flagged, its version moves with a new event, and it is staff only."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from kernel.config import CENTRE_TIMEZONE
from kernel.tables import utcnow
from services.gateway.core.auth import SESSION_COOKIE
from tests.helpers import wait_for
from tests.integration.gateway.support import activity_payload, iso, registration_payload
from tests.integration.reporting import stream
from tests.integration.reporting.test_service import publish_and_wait

pytestmark = pytest.mark.usefixtures("platform")

YEAR = datetime.now(CENTRE_TIMEZONE).year
ALERTED, QUIET, CALLED_OFF = "dash-alerted", "dash-quiet", "dash-cancelled"


def at(month: int, day: int, hour: int = 9) -> str:
    return f"{YEAR}-{month:02d}-{day:02d}T{hour:02d}:00:00+00:00"


def year_stream() -> list[dict]:
    """This year: an activity with six poor answers (in alert), one with three poor answers
    (too few to alert), a cancelled one, and a request delivered a month after it came in."""
    s = stream.Stream()
    s.org(at(1, 2), "do1", "vereniging", True)
    s.org(at(1, 2), "do2", "beweging", True)
    s.org(at(1, 2), "do3", "overheid", False)
    orgs = [("do1", "vereniging", True), ("do2", "beweging", True), ("do3", "overheid", False)]
    s.activity(at(1, 5), ALERTED, at(2, 10, 8), capacity=8, dagdelen=2)
    for n in range(6):
        reg, person = f"dr{n}", f"dp{n}"
        s.register(at(1, 6), reg, ALERTED, person, orgs[n % 3])
        s.attend(at(2, 10, 16), reg, ALERTED, person, orgs[n % 3], 1)
        s.evaluate(at(2, 11), f"de{n}", reg, ALERTED, 3, 2 if n < 5 else 9)
    s.emit("activity.completed", at(2, 11, 8), activity_id=ALERTED)
    s.activity(at(1, 5), QUIET, at(3, 5, 8), fmt="online", capacity=4, dagdelen=1)
    for n in range(3):
        reg, person = f"dq{n}", f"dqp{n}"
        s.register(at(1, 6), reg, QUIET, person, orgs[0], status="confirmed" if n < 2 else "waitlisted")
        s.attend(at(3, 5, 16), reg, QUIET, person, orgs[0], 1)
        s.evaluate(at(3, 6), f"dqe{n}", reg, QUIET, 2, 1)
    s.emit("activity.completed", at(3, 6, 8), activity_id=QUIET)
    s.activity(at(1, 5), CALLED_OFF, at(4, 1, 8), fmt="blended")
    s.register(at(1, 6), "dc1", CALLED_OFF, "dcp1", orgs[1])
    s.emit("activity.cancelled", at(3, 20), activity_id=CALLED_OFF, reason="trainer ill")
    s.emit("request.received", at(3, 1), request_id="dq-1", organisation_id="do2", org_type="beweging",
           recognised=True, target_group="primary", theme="bestuur", goal=None)
    s.emit("request.accepted", at(3, 2), request_id="dq-1", assignee="staff-1")
    s.emit("request.delivered", at(4, 10), request_id="dq-1", dagdelen=2, participants=7, participations=7)
    return s.events


def dashboard(client, since=None):
    response = client.get(f"/api/kpis/dashboard/{YEAR}", params={"since": since} if since else None)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def breakdown_row(html: str, table_id: str, heading: str) -> list[str]:
    """The cells of the row headed `heading` in the page's breakdown table `table_id`."""
    table = html.split(f'<table class="breakdown" id="bd-{table_id}"', 1)[1].split("</table>", 1)[0]
    row = table.split(f'<th scope="row">{heading}</th>', 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td>([^<]*)</td>", row)


def without_title(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in ("title", "theme", "goal", "starts_on", "alert",
                                                                     "alerts")}


def test_the_dashboard_is_staff_only_and_checks_its_input(api):
    public, _ = api
    response = public.get(f"/api/kpis/dashboard/{YEAR}")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    wrong = public.get(f"/api/kpis/dashboard/{YEAR}", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    page = public.get(f"/staff/dashboard/{YEAR}", allow_redirects=False)
    assert page.status_code in (303, 401), page.status_code
    assert "Live dashboard" not in page.text
    public.session.cookies.set(SESSION_COOKIE, "not-a-session")
    assert public.get(f"/api/kpis/dashboard/{YEAR}").status_code == 401

    # bad years and versions are 400; the script and style sheet are served to anyone (no data in them)
    _, staff = api
    assert staff.get("/api/kpis/dashboard/1999").status_code == 400
    assert staff.get("/api/kpis/dashboard/next").status_code == 400
    assert staff.get(f"/api/kpis/dashboard/{YEAR}", params={"since": "x" * 65}).status_code == 400
    assert staff.get("/staff/dashboard/1999").status_code == 400
    script = public.get("/static/dashboard.js")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    assert "?since=" in script.text
    assert public.get("/static/dashboard.js", headers={"If-None-Match": script.headers["ETag"]}).status_code == 304
    style = public.get("/static/dashboard.css")
    assert style.status_code == 200 and style.headers["Content-Type"].startswith("text/css")


def test_figures_targets_months_alerts_and_version_follow_reporting(api, platform_config):
    public, staff = api
    events = year_stream()
    publish_and_wait(platform_config, events)
    got = dashboard(staff)
    with ServiceRpcProxy("reporting", platform_config, timeout=30) as reporting:
        annual = reporting.annual_kpis(YEAR)
        report = reporting.annual_report(YEAR, previous_years=0)
        activities = {a: reporting.activity_kpis(a) for a in (ALERTED, QUIET, CALLED_OFF)}

    # the year to date is annual_kpis' document, and the one computed from the stream independently
    assert got["year"] == YEAR and got["changed"] is True
    assert got["annual"] == annual
    assert got["annual"] == stream.expected_annual(events, YEAR)
    assert got["annual"]["open_offer"]["participants"] == 9

    # targets: the annual report's (the same YEAR_TARGETS and thresholds), with their values
    assert [(t["kpi"], t["status"]) for t in got["targets"]] == [
        (t["kpi"], t["status"][-1]) for t in report["targets"]]
    by_kpi = {t["kpi"]: t for t in got["targets"]}
    assert by_kpi["satisfaction_pct"] == {
        "kpi": "satisfaction_pct", "figure": "open_offer.satisfaction_pct", "rule": "at_least", "threshold": 70.0,
        "value": annual["open_offer"]["satisfaction_pct"], "status": "missed"}
    assert by_kpi["nps"]["status"] == "missed" and by_kpi["nps"]["value"] == annual["open_offer"]["nps"]["score"]
    assert by_kpi["recognised_reach_pct"]["value"] == 100.0 and by_kpi["recognised_reach_pct"]["status"] == "met"

    # twelve months, each with the figures of that month computed from the stream
    assert [row["month"] for row in got["months"]] == [f"{YEAR}-{m:02d}" for m in range(1, 13)]
    for number, row in enumerate(got["months"], start=1):
        expected = stream.expected_figures(events, lambda day, m=number: (day.year, day.month) == (YEAR, m))
        oo, dd = expected["open_offer"], expected["demand_driven"]
        assert row == {
            "month": f"{YEAR}-{number:02d}", "activities": oo["activities"],
            "cancelled_activities": oo["cancelled_activities"], "dagdelen": oo["dagdelen"],
            "participants": oo["participants"], "participations": oo["participations"],
            "organisations_reached": oo["organisations_reached"], "evaluations": oo["evaluations"],
            "satisfaction_pct": oo["satisfaction_pct"], "nps": oo["nps"]["score"],
            "requests_received": dd["requests_received"], "requests_delivered": dd["requests_delivered"],
            "demand_dagdelen": dd["dagdelen"], "demand_participants": dd["participants"],
        }, number
    assert got["months"][1]["participants"] == 6 and got["months"][3]["cancelled_activities"] == 1
    assert got["months"][3]["demand_participants"] == 7

    # the activities of the year, by start, with activity_kpis' figures and their alerts
    rows = {row["activity_id"]: row for row in got["activities"]}
    assert [row["activity_id"] for row in got["activities"]] == [ALERTED, QUIET, CALLED_OFF]
    for activity_id, row in rows.items():
        assert without_title(row) == activities[activity_id]
        assert without_title(row) == stream.expected_activity(events, activity_id)
        assert row["title"] is None  # registration never heard of these
    alerted = rows[ALERTED]
    assert (alerted["satisfaction_pct"], alerted["nps"]["score"]) == (30.0, -67)
    assert alerted["alert"] is True
    assert alerted["alerts"] == ["activity_satisfaction_pct", "activity_nps"]
    assert rows[QUIET]["satisfaction_pct"] == 20.0 and rows[QUIET]["alert"] is False  # 3 answers: not yet
    assert rows[CALLED_OFF]["status"] == "cancelled" and rows[CALLED_OFF]["alert"] is False
    assert alerted["starts_on"] == f"{YEAR}-02-10" and alerted["theme"] == "vrijwilligers"
    assert got["alert_rule"] == {"min_respondents": 5, "satisfaction_below_pct": 60.0, "nps_below": 0.0}

    # the page shows the same
    page = staff.get(f"/staff/dashboard/{YEAR}?lang=en")  # its words checked in English
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert f'data-version="{got["version"]}"' in page.text
    assert f'<tr id="act-{ALERTED}" class="alert"' in page.text
    assert f'<tr id="act-{QUIET}" data-activity' in page.text
    assert "1 activity in alert:" in page.text
    assert 'style="' not in page.text and "<script>" not in page.text
    # the 1.1 breakdowns as tables of words and numbers: the goal (with a dot) from the stream computed
    # independently, the requesting organisation's type in words
    goal = stream.expected_annual(events, YEAR)["open_offer"]["by_goal"]["SD1.OD4"]
    assert (goal["activities"], goal["dagdelen"], goal["participants"]) == (2, 3, 9)
    assert breakdown_row(page.text, "oo-goal", "SD1.OD4") == [str(goal[m]) for m in ("activities", "dagdelen",
                                                                                         "participants")]
    assert breakdown_row(page.text, "dd-org-type", "movements") == ["7", "1"]
    assert breakdown_row(page.text, "dd-goal", "(none)") == ["1"]

    # the version moves with a new event through the platform; titles come from registration
    first = dashboard(staff)
    assert dashboard(staff, since=first["version"]) == {"year": YEAR, "version": first["version"], "changed": False}

    now = utcnow()
    starts = max(now - timedelta(hours=2), datetime(YEAR, 1, 1, 12, tzinfo=CENTRE_TIMEZONE))
    created = staff.post("/api/staff/activities", json=activity_payload(
        title="Studiedag dashboard", starts_at=iso(starts), ends_at=iso(now + timedelta(hours=1)),
        registration_opens_at=None, registration_closes_at=iso(now + timedelta(hours=1))))
    assert created.status_code == 201, created.text
    activity_id = created.json()["activity_id"]
    registered = public.post(f"/api/activities/{activity_id}/registrations", json=registration_payload())
    assert registered.status_code == 201, registered.text

    def shows_the_activity():
        answer = dashboard(staff, since=first["version"])
        return answer if answer["changed"] and any(
            row["activity_id"] == activity_id and row["registrations_confirmed"] == 1
            for row in answer["activities"]) else None

    second = wait_for(shows_the_activity, timeout=15, message="the dashboard to show the new registration")
    assert second["version"] != first["version"]
    row = next(row for row in second["activities"] if row["activity_id"] == activity_id)
    assert row["title"] == "Studiedag dashboard" and row["participants"] == 0

    attended = staff.put(f"/api/staff/registrations/{registered.json()['registration_id']}/attendance",
                         json={"days_attended": 1})
    assert attended.status_code == 200, attended.text
    participants_before = second["annual"]["open_offer"]["participants"]

    def counts_the_attendance():  # the version may move first for something else (the title lookup)
        answer = dashboard(staff, since=second["version"])
        return answer if answer["changed"] and answer["annual"]["open_offer"]["participants"] > participants_before \
            else None

    third = wait_for(counts_the_attendance, timeout=15, message="the dashboard to count the attendance")
    assert third["annual"]["open_offer"]["participants"] == participants_before + 1
    month = starts.astimezone(CENTRE_TIMEZONE).month
    assert third["months"][month - 1]["participants"] == second["months"][month - 1]["participants"] + 1
    with ServiceRpcProxy("reporting", platform_config, timeout=30) as reporting:
        assert third["annual"] == reporting.annual_kpis(YEAR)
    assert dashboard(staff, since=third["version"])["changed"] is False


