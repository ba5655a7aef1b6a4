"""The request desk's staff pages against the real platform: the queues, a request's page and every
lifecycle action through its form (checked through the JSON API), refusals that change nothing,
field errors that write nothing, a delivery sent twice recorded once, the colleagues, the CSV link
for admins, and the roles (ops 403, no token 401)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import create_engine, update

from services.gateway.core.auth import Viewer
from services.requests.models import requests as requests_table
from tests.integration.gateway.support import form_post
from tests.integration.gateway.test_requests_api import intake

pytestmark = pytest.mark.usefixtures("platform")


@pytest.fixture
def desk(gateway_url, staff_headers):
    """A browser-like session of a staff member (bearer token) on the desk's pages."""
    session = requests.Session()
    session.headers.update(staff_headers)
    return session


def submit(api, **overrides) -> str:
    public, _ = api
    answer = public.post("/api/requests", json=intake(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()["request_id"]


def colleague(api, name: str, themes=("vrijwilligers",), email=None) -> str:
    _, staff = api
    answer = staff.post("/api/staff/requests/staff", json={"name": name, "email": email, "themes": list(themes)})
    assert answer.status_code == 201, answer.text
    return answer.json()["staff_id"]


def shown(api, request_id: str) -> dict:
    _, staff = api
    return staff.get(f"/api/staff/requests/{request_id}").json()


def act(desk, gateway_url, request_id: str, action: str, data: dict):
    page = f"{gateway_url}/staff/requests/{request_id}"
    return form_post(f"{page}/{action}", data, session=desk, page_url=page, allow_redirects=False)


def linked_ids(html: str) -> set[str]:
    return set(re.findall(r'href="/staff/requests/([0-9a-f-]{36})"', html))


def test_each_queue_shows_its_requests_without_contact_details(api, desk, gateway_url, platform_config):
    fresh = submit(api, name="Fresh Requester", email="fresh@example.org", question="Vorming voor vrijwilligers")
    late = submit(api, name="Late Requester", email="late@example.org", question="Hulp bij een bestuursdag")
    explored = submit(api, name="Busy Requester", email="busy@example.org", question="Samenwerking in de wijk")
    _, staff = api
    assert staff.post(f"/api/staff/requests/{explored}/explore", json={}).status_code == 200
    engine = create_engine(platform_config["DATABASES"]["requests"])
    with engine.begin() as connection:  # the clock: `late` got no answer within its term
        connection.execute(update(requests_table).where(requests_table.c.request_id == late)
                           .values(answer_due_at=datetime.now(UTC) - timedelta(minutes=1)))
    engine.dispose()

    queues = {queue: desk.get(f"{gateway_url}/staff/requests", params={"queue": queue}, timeout=10)
              for queue in ("new", "overdue", "all")}
    assert all(page.status_code == 200 for page in queues.values())
    assert linked_ids(queues["new"].text) == {fresh, late}
    assert linked_ids(queues["overdue"].text) == {late}
    assert linked_ids(queues["all"].text) == {fresh, late, explored}
    for page in queues.values():
        assert "@example.org" not in page.text and "Requester" not in page.text
    assert linked_ids(desk.get(f"{gateway_url}/staff/requests", timeout=10).text) == {fresh, late}  # new first

    found = desk.get(f"{gateway_url}/staff/requests", params={"queue": "all", "q": "bestuursdag"}, timeout=10)
    assert linked_ids(found.text) == {late}
    too_long = desk.get(f"{gateway_url}/staff/requests", params={"queue": "all", "q": "x" * 300}, timeout=10)
    assert too_long.status_code == 400 and 'id="e-q"' in too_long.text

    mine = desk.get(f"{gateway_url}/staff/requests", params={"queue": "mine"}, timeout=10)
    assert mine.status_code == 200 and "geen e-mailadres" in mine.text and not linked_ids(mine.text)


def test_mine_holds_the_requests_of_the_colleague_with_the_viewer_s_email(api, desk, gateway_url, monkeypatch):
    from services.gateway.requests import desk as desk_pages

    bram = colleague(api, "Bram Claes", email="bram@steunpunt.example")
    his = submit(api, question="Zijn vraag")
    other = submit(api, question="Een andere vraag")
    _, staff = api
    assert staff.post(f"/api/staff/requests/{his}/explore", json={"staff_id": bram}).status_code == 200
    assert staff.post(f"/api/staff/requests/{other}/explore", json={}).status_code == 200
    # the accounts give a Viewer its email; the machine token of the tests has none
    monkeypatch.setattr(desk_pages, "viewer_of", lambda request: Viewer(frozenset({"staff"}),
                                                                       email="Bram@steunpunt.example"))
    mine = desk.get(f"{gateway_url}/staff/requests", params={"queue": "mine"}, timeout=10)
    assert mine.status_code == 200 and linked_ids(mine.text) == {his}
    monkeypatch.setattr(desk_pages, "viewer_of", lambda request: Viewer(frozenset({"staff"}),
                                                                       email="nobody@steunpunt.example"))
    nobody = desk.get(f"{gateway_url}/staff/requests", params={"queue": "mine"}, timeout=10)
    assert "nobody@steunpunt.example" in nobody.text and not linked_ids(nobody.text)


def test_the_list_comes_in_pages(api, desk, gateway_url):
    from services.gateway.requests.desk import PAGE_SIZE

    created = {submit(api, question=f"Vraag {number}") for number in range(PAGE_SIZE + 2)}
    first = desk.get(f"{gateway_url}/staff/requests", params={"queue": "all"}, timeout=10)
    second = desk.get(f"{gateway_url}/staff/requests", params={"queue": "all", "page": 2}, timeout=10)
    assert len(linked_ids(first.text)) == PAGE_SIZE and len(linked_ids(second.text)) == 2
    assert linked_ids(first.text) | linked_ids(second.text) == created
    assert 'rel="next"' in first.text and 'rel="next"' not in second.text and 'rel="prev"' in second.text


def test_a_request_from_exploring_to_closed_through_the_forms(api, desk, gateway_url):
    an = colleague(api, "An Janssens", themes=("bestuur",))
    bram = colleague(api, "Bram Claes", themes=("vrijwilligers",))
    request_id = submit(api, name="Lies Peeters", email="lies@example.org", phone="+32 470 12 34 56")
    page = desk.get(f"{gateway_url}/staff/requests/{request_id}", timeout=10)
    assert page.status_code == 200
    assert "lies@example.org" in page.text and "+32 470 12 34 56" in page.text  # contact details here
    assert page.text.index("Bram Claes") < page.text.index("An Janssens")  # the better match first
    assert f'action="/staff/requests/{request_id}/explore"' in page.text
    assert "/accept" not in page.text and "/deliveries" not in page.text and "/close" not in page.text

    explored = act(desk, gateway_url, request_id, "explore", {"staff_id": bram, "notes": "Gebeld met Lies."})
    assert explored.status_code == 303 and explored.headers["Location"].endswith(f"/{request_id}?done=explore")
    assert (shown(api, request_id)["status"], shown(api, request_id)["assignee"]) == ("exploring", bram)

    noted = act(desk, gateway_url, request_id, "notes", {"text": "Ze willen een vorming in maart."})
    assert noted.status_code == 303
    assert [n["text"] for n in shown(api, request_id)["notes"]] == ["Gebeld met Lies.",
                                                                    "Ze willen een vorming in maart."]

    accepted = act(desk, gateway_url, request_id, "accept", {"assignee": an, "notes": ""})
    assert accepted.status_code == 303
    assert (shown(api, request_id)["status"], shown(api, request_id)["assignee"]) == ("accepted", an)

    delivery = {"date": date.today().isoformat(), "form": "inhouse_training", "dagdelen": "2", "participants": "12",
                "participations": "24", "description": "Vorming vrijwilligersbeleid"}
    delivered = act(desk, gateway_url, request_id, "deliveries", delivery)
    assert delivered.status_code == 303
    after = shown(api, request_id)
    assert after["status"] == "delivered"
    assert after["totals"] == {"deliveries": 1, "dagdelen": 2, "participants": 12, "participations": 24}

    page = desk.get(f"{gateway_url}/staff/requests/{request_id}?done=deliver", timeout=10)
    assert "De uitvoering is bewaard." in page.text
    history = re.search(r'<ol class="history">(.*?)</ol>', page.text, re.DOTALL).group(1)
    assert [history.index(text) for text in ("Ontvangen via", "Verkenning gestart", "Gebeld met Lies",
                                             "Weerhouden, voor An Janssens", "Uitgevoerd: vorming op maat")] \
        == sorted(history.index(text) for text in ("Ontvangen via", "Verkenning gestart", "Gebeld met Lies",
                                                   "Weerhouden, voor An Janssens", "Uitgevoerd: vorming op maat"))

    closed = act(desk, gateway_url, request_id, "close", {})
    assert closed.status_code == 303 and shown(api, request_id)["status"] == "closed"
    final = desk.get(f"{gateway_url}/staff/requests/{request_id}", timeout=10)
    assert "Afgesloten." in final.text and f'action="/staff/requests/{request_id}/' not in final.text


def test_decline_with_a_reason_and_a_referral(api, desk, gateway_url):
    request_id = submit(api)
    _, staff = api
    assert staff.post(f"/api/staff/requests/{request_id}/explore", json={}).status_code == 200
    declined = act(desk, gateway_url, request_id, "decline", {"reason": "long_term_coaching",
                                                             "referred_to": "Partner Coaching vzw", "notes": ""})
    assert declined.status_code == 303
    after = shown(api, request_id)
    assert (after["status"], after["decline_reason"], after["referred_to"]) == (
        "declined", "long_term_coaching", "Partner Coaching vzw")
    page = desk.get(f"{gateway_url}/staff/requests/{request_id}", timeout=10).text
    assert "Doorverwezen naar Partner Coaching vzw." in page


def test_an_action_the_state_does_not_allow_shows_the_reason_and_changes_nothing(api, desk, gateway_url):
    bram = colleague(api, "Bram Claes")
    request_id = submit(api)
    _, staff = api
    assert staff.post(f"/api/staff/requests/{request_id}/explore", json={}).status_code == 200
    assert staff.post(f"/api/staff/requests/{request_id}/decline", json={"reason": "no_capacity"}).status_code == 200
    before = shown(api, request_id)
    refused = act(desk, gateway_url, request_id, "accept", {"assignee": bram})
    assert refused.status_code == 409
    assert 'id="refused"' in refused.text and "niet weerhouden" in refused.text and "niets gewijzigd" in refused.text
    closing = act(desk, gateway_url, request_id, "close", {})
    assert closing.status_code == 409 and 'id="refused"' in closing.text
    assert shown(api, request_id) == before


def test_a_step_sent_twice_says_it_was_done_already(api, desk, gateway_url):
    request_id = submit(api)
    page = f"{gateway_url}/staff/requests/{request_id}"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', desk.get(page, timeout=10).text).group(1)
    first, second = (desk.post(f"{page}/explore", data={"csrf_token": csrf, "notes": "Gebeld"}, allow_redirects=False,
                               timeout=10) for _ in range(2))
    assert (first.status_code, second.status_code) == (303, 409)
    assert "al gebeurd" in second.text and "in verkenning" in second.text
    assert [note["text"] for note in shown(api, request_id)["notes"]] == ["Gebeld"]


def test_bad_input_shows_field_errors_and_writes_nothing(api, desk, gateway_url):
    request_id = submit(api)
    _, staff = api
    assert staff.post(f"/api/staff/requests/{request_id}/explore", json={}).status_code == 200
    empty = act(desk, gateway_url, request_id, "accept", {"assignee": "", "notes": "x"})
    assert empty.status_code == 400 and 'id="e-accept_assignee"' in empty.text and "error-summary" in empty.text
    unknown = act(desk, gateway_url, request_id, "accept", {"assignee": "nobody"})
    assert unknown.status_code == 400 and 'id="e-accept_assignee"' in unknown.text
    no_reason = act(desk, gateway_url, request_id, "decline", {"reason": "", "referred_to": "Iemand"})
    assert no_reason.status_code == 400 and 'id="e-decline_reason"' in no_reason.text
    assert 'value="Iemand"' in no_reason.text  # what was typed stays
    assert shown(api, request_id)["status"] == "exploring"

    bram = colleague(api, "Bram Claes")
    assert staff.post(f"/api/staff/requests/{request_id}/accept", json={"assignee": bram}).status_code == 200
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    bad = act(desk, gateway_url, request_id, "deliveries", {
        "date": tomorrow, "form": "team_day", "dagdelen": "two", "participants": "5", "participations": "3"})
    assert bad.status_code == 400
    assert 'id="e-deliver_dagdelen"' in bad.text
    fixed_count = act(desk, gateway_url, request_id, "deliveries", {
        "date": tomorrow, "form": "team_day", "dagdelen": "2", "participants": "5", "participations": "3"})
    assert fixed_count.status_code == 400
    assert 'id="e-deliver_date"' in fixed_count.text and 'id="e-deliver_participations"' in fixed_count.text
    blank_note = act(desk, gateway_url, request_id, "notes", {"text": "  "})
    assert blank_note.status_code == 400 and 'id="e-note_text"' in blank_note.text
    after = shown(api, request_id)
    assert (after["status"], after["totals"]["deliveries"], after["notes"]) == ("accepted", 0, [])


def test_a_delivery_sent_twice_is_recorded_once(api, desk, gateway_url):
    bram = colleague(api, "Bram Claes")
    request_id = submit(api)
    _, staff = api
    staff.post(f"/api/staff/requests/{request_id}/explore", json={})
    assert staff.post(f"/api/staff/requests/{request_id}/accept", json={"assignee": bram}).status_code == 200
    page = desk.get(f"{gateway_url}/staff/requests/{request_id}", timeout=10).text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    fields = {"date": date.today().isoformat(), "form": "advice_conversation", "dagdelen": "1",
              "participants": "3", "participations": "3", "description": "", "idempotency_key": key,
              "csrf_token": csrf}
    answers = [desk.post(f"{gateway_url}/staff/requests/{request_id}/deliveries", data=fields,
                         allow_redirects=False, timeout=10) for _ in range(2)]
    assert [a.status_code for a in answers] == [303, 303]
    assert shown(api, request_id)["totals"]["deliveries"] == 1
    page = desk.get(f"{gateway_url}/staff/requests/{request_id}", timeout=10).text
    second_key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    assert second_key != key
    again = desk.post(f"{gateway_url}/staff/requests/{request_id}/deliveries", allow_redirects=False, timeout=10,
                      data={**fields, "idempotency_key": second_key})
    assert again.status_code == 303 and shown(api, request_id)["totals"]["deliveries"] == 2  # a new form, a new one


def test_record_a_request_taken_by_phone(api, desk, gateway_url):
    url = f"{gateway_url}/staff/requests/new"
    empty = form_post(url, {"name": "", "question": "", "theme": "", "email": "not-an-address"}, session=desk)
    assert empty.status_code == 400
    for field in ("name", "question", "theme", "email"):
        assert f'id="e-{field}"' in empty.text, field
    _, staff = api
    assert staff.get("/api/staff/requests", params={"q": "Telefonische"}).json() == []
    recorded = form_post(url, {"name": "Jan Smet", "email": "", "phone": "+32 2 123 45 67", "language": "nl",
                               "organisation": "type:civiel_scw", "organisation_name": "Buurtwerk Noord",
                               "question": "Telefonische vraag over vrijwilligers", "theme": "vrijwilligers",
                               "goal": "SD1.OD4", "preferred_timing": "voorjaar"}, session=desk,
                         allow_redirects=False)
    assert recorded.status_code == 303, recorded.text
    request_id = recorded.headers["Location"].split("/staff/requests/")[1].split("?")[0]
    after = shown(api, request_id)
    assert (after["channel"], after["email"], after["phone"], after["org_type"], after["goal"]) == (
        "phone", None, "+32 2 123 45 67", "civiel_scw", "SD1.OD4")
    page = desk.get(f"{gateway_url}{recorded.headers['Location']}", timeout=10).text
    assert "De vraag is genoteerd." in page and "Ontvangen per telefoon." in page
    bad_goal = form_post(url, {"name": "Jan", "question": "Vraag", "theme": "vrijwilligers", "goal": "no goal"},
                         session=desk)
    assert bad_goal.status_code == 400 and 'id="e-goal"' in bad_goal.text


def test_the_desk_s_colleagues_are_listed_added_and_changed(api, desk, gateway_url):
    url = f"{gateway_url}/staff/requests/colleagues"
    empty = form_post(url, {"name": "", "email": "nope"}, session=desk)
    assert empty.status_code == 400 and 'id="e-colleague_name"' in empty.text and 'id="e-colleague_email"' in empty.text
    _, staff = api
    assert staff.get("/api/staff/requests/staff").json() == []
    added = form_post(url, [("name", "Bram Claes"), ("email", "bram@steunpunt.example"), ("themes", "bestuur"),
                            ("themes", "vrijwilligers")], session=desk, allow_redirects=False)
    assert added.status_code == 303
    [bram] = staff.get("/api/staff/requests/staff").json()
    assert (bram["name"], bram["email"], bram["themes"], bram["active"]) == (
        "Bram Claes", "bram@steunpunt.example", ["bestuur", "vrijwilligers"], True)
    listing = desk.get(url, timeout=10).text
    assert "Bram Claes" in listing and f'href="/staff/requests/colleagues/{bram["staff_id"]}"' in listing
    edit = f"{url}/{bram['staff_id']}"
    changed = form_post(edit, [("name", "Bram Claes"), ("email", ""), ("themes", "bestuur")], session=desk,
                        allow_redirects=False)  # "active" unticked
    assert changed.status_code == 303
    after = staff.get(f"/api/staff/requests/staff/{bram['staff_id']}").json()
    assert (after["email"], after["themes"], after["active"]) == (None, ["bestuur"], False)
    assert desk.get(f"{url}/nobody", timeout=10).status_code == 404


def test_only_admins_get_the_csv_link_and_it_exports_the_list_shown(api, gateway_url, staff_headers, admin_headers):
    submit(api, email="waiting@example.org")
    explored = submit(api, email="explored@example.org")
    _, staff = api
    assert staff.post(f"/api/staff/requests/{explored}/explore", json={}).status_code == 200
    as_staff = requests.get(f"{gateway_url}/staff/requests", headers=staff_headers, timeout=10)
    as_admin = requests.get(f"{gateway_url}/staff/requests?queue=new", headers=admin_headers, timeout=10)
    assert as_staff.status_code == as_admin.status_code == 200
    assert "export.csv" not in as_staff.text
    link = re.search(r'href="(/api/staff/requests/export\.csv[^"]*)"', as_admin.text).group(1).replace("&amp;", "&")
    export = requests.get(f"{gateway_url}{link}", headers=admin_headers, timeout=10)
    assert export.status_code == 200
    assert "waiting@example.org" in export.text and "explored@example.org" not in export.text
    assert requests.get(f"{gateway_url}{link}", headers=staff_headers, timeout=10).status_code == 403


@pytest.mark.parametrize("path", ["/staff/requests", "/staff/requests/new", "/staff/requests/colleagues",
                                  "/staff/requests/x"])
def test_ops_gets_403_and_no_token_401(gateway_url, ops_headers, path):
    assert requests.get(f"{gateway_url}{path}", headers=ops_headers, timeout=10).status_code == 403
    anonymous = requests.get(f"{gateway_url}{path}", timeout=10)
    assert anonymous.status_code == 401 and 'action="/staff/login"' in anonymous.text


def test_an_unknown_request_is_not_found(desk, gateway_url):
    for unknown in ("00000000-0000-4000-8000-000000000000", "x"):
        assert desk.get(f"{gateway_url}/staff/requests/{unknown}", timeout=10).status_code == 404
        closing = form_post(f"{gateway_url}/staff/requests/{unknown}/close", {}, session=desk,
                            page_url=f"{gateway_url}/staff/requests/colleagues")
        assert closing.status_code == 404


def test_each_change_is_written_to_the_audit_trail_and_a_refused_one_is_not(api, desk, gateway_url, monkeypatch):
    from services.gateway.core import audit

    written = []
    monkeypatch.setattr(audit, "record", lambda service, request, action, subject_type, subject_id=None, **details:
                        written.append((action, subject_type, subject_id, details)))
    bram = colleague(api, "Bram Claes")
    request_id = submit(api)
    written.clear()  # the set-up's own line: the colleague was made through the JSON API
    today = date.today().isoformat()
    for action, data in (("explore", {}), ("notes", {"text": "Gebeld"}), ("accept", {"assignee": bram}),
                         ("deliveries", {"date": today, "form": "other", "dagdelen": "1", "participants": "1",
                                         "participations": "1"}),
                         ("close", {}), ("close", {})):
        act(desk, gateway_url, request_id, action, data)
    assert written == [(action, "request", request_id, {}) for action in (
        "request.explored", "request.note_added", "request.accepted", "request.delivery_recorded", "request.closed")]
    written.clear()
    recorded = form_post(f"{gateway_url}/staff/requests/new", {"name": "Jan", "question": "Vraag",
                                                               "theme": "bestuur"}, session=desk, allow_redirects=False)
    added = form_post(f"{gateway_url}/staff/requests/colleagues", {"name": "An"}, session=desk, allow_redirects=False)
    assert recorded.status_code == added.status_code == 303
    assert [(action, subject_type) for action, subject_type, _, _ in written] == [
        ("request.recorded", "request"), ("request_staff.created", "request_staff")]
    assert "Jan" not in str(written)  # no personal data in the trail's details


def post_twice(desk, page_url: str, action_url: str, fields: dict) -> list:
    """The form of `page_url` sent twice as it was (a double click): its CSRF field and idempotency key."""
    page = desk.get(page_url, timeout=10).text
    hidden = dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', page))
    assert set(hidden) == {"csrf_token", "idempotency_key"}, page_url
    return [desk.post(action_url, data={**fields, **hidden}, allow_redirects=False, timeout=10).status_code
            for _ in range(2)]


def test_a_note_a_phone_request_and_a_colleague_sent_twice_are_made_once(api, desk, gateway_url):
    _, staff = api
    url = f"{gateway_url}/staff/requests/colleagues"
    assert post_twice(desk, url, url, {"name": "Bram Claes", "themes": "bestuur"}) == [303, 303]
    assert [c["name"] for c in staff.get("/api/staff/requests/staff").json()] == ["Bram Claes"]

    url = f"{gateway_url}/staff/requests/new"
    assert post_twice(desk, url, url, {"name": "Jan Smet", "question": "Telefoon twee keer", "theme": "bestuur"}) \
        == [303, 303]
    [line] = staff.get("/api/staff/requests", params={"q": "Telefoon twee keer"}).json()

    request_id = line["request_id"]
    staff.post(f"/api/staff/requests/{request_id}/explore", json={})
    page = f"{gateway_url}/staff/requests/{request_id}"
    assert post_twice(desk, page, f"{page}/notes", {"text": "Eén keer"}) == [303, 303]
    assert [note["text"] for note in shown(api, request_id)["notes"]] == ["Eén keer"]
