"""The activities back office (/staff/activities...) against the real platform: every page and action
with the staff role, other roles and no token refused, bad input refused field by field with nothing
written, and what the pages change is what the JSON API then shows."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from kernel.i18n import local
from tests.helpers import wait_for
from tests.integration.gateway.support import activity_payload, form_post, iso, registration_payload

pytestmark = pytest.mark.usefixtures("platform")


def staff_session(headers) -> requests.Session:
    session = requests.Session()
    session.headers.update(headers)
    return session


def local_input(moment: datetime) -> str:
    return local(moment).strftime("%Y-%m-%dT%H:%M")


def new_form(**overrides) -> dict:
    starts = datetime.now(UTC) + timedelta(days=20)
    data = {
        "title": "Vorming: vrijwilligers begeleiden", "kind": "vorming", "theme": "vrijwilligers", "goal": "SD1.OD4",
        "description": "", "format": "offline", "starts_at": local_input(starts),
        "ends_at": local_input(starts + timedelta(hours=6)), "days": "1", "dagdelen": "2", "capacity": "12",
        "location": "Gent", "online_link": "", "language": "nl", "price_eur": "20,00", "reduced_price_eur": "",
        "registration_opens_at": "", "registration_closes_at": "",
    }
    data.update(overrides)
    return data


def api_activities(gateway_url, staff_headers) -> list[dict]:
    return requests.get(f"{gateway_url}/api/staff/activities", headers=staff_headers, timeout=10).json()


def running_activity(gateway_url, staff_headers, people=("ann", "bert"), **overrides) -> tuple[dict, list[str]]:
    """An activity that has started, with a confirmed registration per name (registered while it was
    still to come, then moved to now)."""
    api = staff_session(staff_headers)
    payload = activity_payload(registration_opens_at=None, registration_closes_at=None, capacity=None, **overrides)
    created = api.post(f"{gateway_url}/api/staff/activities", json=payload, timeout=10)
    assert created.status_code == 201, created.text
    activity_id = created.json()["activity_id"]
    registration_ids = []
    for name in people:
        needs = {"sign_language_interpreter": name == "ann", "dietary": "vegetarisch" if name == "bert" else None}
        registered = requests.post(f"{gateway_url}/api/activities/{activity_id}/registrations", timeout=10,
                                   json=registration_payload(name=name.title(), email=f"{name}@example.org",
                                                             needs=needs))
        assert registered.status_code == 201, registered.text
        registration_ids.append(registered.json()["registration_id"])
    now = datetime.now(UTC)
    moved = api.patch(f"{gateway_url}/api/staff/activities/{activity_id}", timeout=10,
                      json={"starts_at": iso(now - timedelta(hours=1)), "ends_at": iso(now + timedelta(hours=5))})
    assert moved.status_code == 200, moved.text
    return moved.json(), registration_ids


PAGES = ("/staff/activities", "/staff/activities/new", "/staff/activities/{id}", "/staff/activities/{id}/edit",
         "/staff/activities/{id}/attendance")


def test_every_page_for_staff_and_admin_not_for_ops_nor_without_a_token(gateway_url, staff_headers, ops_headers,
                                                                         admin_headers):
    activity, _ = running_activity(gateway_url, staff_headers)
    for path in PAGES:
        url = gateway_url + path.format(id=activity["activity_id"])
        for headers in (staff_headers, admin_headers):
            page = requests.get(url, headers=headers, timeout=10)
            assert page.status_code == 200, (path, page.text[:500])
            assert '<html lang="nl">' in page.text
        assert requests.get(url, headers=ops_headers, timeout=10).status_code == 403, path
        assert requests.get(url, timeout=10).status_code == 401, path
    for action in ("complete", "cancel", "attendance"):
        url = f"{gateway_url}/staff/activities/{activity['activity_id']}/{action}"
        refused = form_post(url, {"reason": "x"}, session=staff_session(ops_headers),
                            page_url=f"{gateway_url}/staff/login")
        assert refused.status_code == 403, action
    assert api_activities(gateway_url, staff_headers)[0]["status"] == "scheduled"


def test_the_list_filters_and_flags_what_needs_attention(gateway_url, staff_headers):
    now = datetime.now(UTC)
    api = staff_session(staff_headers)
    past = api.post(f"{gateway_url}/api/staff/activities", timeout=10, json=activity_payload(
        title="Gisteren gehouden", kind="workshop", theme="bestuur", registration_opens_at=None,
        registration_closes_at=None, starts_at=iso(now - timedelta(days=1)),
        ends_at=iso(now - timedelta(days=1) + timedelta(hours=3)))).json()
    coming = api.post(f"{gateway_url}/api/staff/activities", timeout=10,
                      json=activity_payload(title="Nog te komen", theme="samenwerking")).json()
    listing = api.get(f"{gateway_url}/staff/activities?lang=en", timeout=10)
    assert listing.status_code == 200
    assert f'href="/staff/activities/{past["activity_id"]}"' in listing.text
    assert f'href="/staff/activities/{coming["activity_id"]}"' in listing.text
    assert 'href="/staff/activities/new"' in listing.text
    attention = api.get(f"{gateway_url}/staff/activities?attention=1&lang=en", timeout=10).text
    assert "Gisteren gehouden" in attention and "Past, not completed" in attention
    assert "Nog te komen" not in attention
    by_kind = api.get(f"{gateway_url}/staff/activities?kind=workshop", timeout=10).text
    assert "Gisteren gehouden" in by_kind and "Nog te komen" not in by_kind
    by_theme = api.get(f"{gateway_url}/staff/activities?theme=samenwerking", timeout=10).text
    assert "Nog te komen" in by_theme and "Gisteren gehouden" not in by_theme
    assert "Nog te komen" not in api.get(f"{gateway_url}/staff/activities?status=completed", timeout=10).text
    year = local(now + timedelta(days=30)).year
    assert "Nog te komen" in api.get(f"{gateway_url}/staff/activities?year={year}", timeout=10).text
    assert "Nog te komen" not in api.get(f"{gateway_url}/staff/activities?year=1999", timeout=10).text


def test_the_form_creates_the_activity_in_local_time_and_a_double_submit_creates_one(gateway_url, staff_headers):
    session = staff_session(staff_headers)
    page = session.get(f"{gateway_url}/staff/activities/new", timeout=10)
    for name in ("title", "kind", "theme", "goal", "format", "starts_at", "ends_at", "days", "dagdelen", "capacity",
                 "location", "online_link", "language", "price_eur", "registration_opens_at", "invitation_only"):
        assert f'name="{name}"' in page.text, name
    assert 'type="datetime-local" id="f-starts_at"' in page.text
    form_id = re.search(r'name="form_id" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    data = new_form(starts_at="2026-03-10T09:30", ends_at="2026-03-10T16:00", form_id=form_id, csrf_token=csrf)
    first = session.post(f"{gateway_url}/staff/activities/new", data=data, allow_redirects=False, timeout=10)
    again = session.post(f"{gateway_url}/staff/activities/new", data=data, allow_redirects=False, timeout=10)
    assert first.status_code == again.status_code == 303, first.text
    assert first.headers["Location"] == again.headers["Location"] == f"/staff/activities/{form_id}"
    activities = api_activities(gateway_url, staff_headers)
    assert len(activities) == 1
    created = activities[0]
    assert created["starts_at"] == "2026-03-10T08:30:00+00:00"  # 09:30 in Brussels (winter time)
    assert (created["title"], created["kind"], created["capacity"], created["price_eur"]) == (
        "Vorming: vrijwilligers begeleiden", "vorming", 12, 20.0)
    shown = session.get(f"{gateway_url}/staff/activities/{form_id}", timeout=10)
    assert shown.status_code == 200 and "Vorming: vrijwilligers begeleiden" in shown.text


def test_bad_input_gets_field_errors_and_creates_nothing(gateway_url, staff_headers):
    session = staff_session(staff_headers)
    url = f"{gateway_url}/staff/activities/new"
    refused = form_post(url, new_form(title="", days="twee", ends_at="2020-01-01T10:00", format="online",
                                      price_eur="gratis"), session=session)
    assert refused.status_code == 400
    assert 'class="error-summary"' in refused.text
    for name in ("title", "days", "ends_at", "online_link", "price_eur"):
        assert f'id="e-{name}"' in refused.text, name
        assert f'href="#f-{name}"' in refused.text, name
    assert 'value="twee"' in refused.text  # what was typed is kept
    by_service = form_post(url, new_form(goal="not a goal"), session=session)
    assert by_service.status_code == 400 and 'id="e-goal"' in by_service.text
    assert api_activities(gateway_url, staff_headers) == []


def test_edit_and_repeat(gateway_url, staff_headers):
    activity, _ = running_activity(gateway_url, staff_headers, people=())
    session = staff_session(staff_headers)
    edit_url = f"{gateway_url}/staff/activities/{activity['activity_id']}/edit"
    form = session.get(edit_url, timeout=10).text
    assert f'value="{activity["title"]}"' in form
    changed = form_post(edit_url, new_form(title="Nieuwe titel", starts_at=local_input(datetime.now(UTC)),
                                           ends_at=local_input(datetime.now(UTC) + timedelta(hours=2))),
                        session=session, allow_redirects=False)
    assert changed.status_code == 303 and changed.headers["Location"] == f"/staff/activities/{activity['activity_id']}"
    shown = requests.get(f"{gateway_url}/api/staff/activities/{activity['activity_id']}", headers=staff_headers,
                         timeout=10).json()
    assert (shown["title"], shown["location"]) == ("Nieuwe titel", "Gent")
    bad = form_post(edit_url, new_form(title=""), session=session)
    assert bad.status_code == 400 and 'id="e-title"' in bad.text
    repeat = session.get(f"{gateway_url}/staff/activities/new?from={activity['activity_id']}", timeout=10).text
    assert 'value="Nieuwe titel"' in repeat and 'action="/staff/activities/new"' in repeat
    assert 'name="starts_at" value=""' in repeat  # a repeat's dates are asked for afresh
    assert f'name="form_id" value="{activity["activity_id"]}"' not in repeat
    assert f'name="repeat_of" value="{activity["activity_id"]}"' in repeat
    later = datetime.now(UTC) + timedelta(days=90)
    repeated = form_post(f"{gateway_url}/staff/activities/new", [
        *new_form(starts_at=local_input(later), ends_at=local_input(later + timedelta(hours=3))).items(),
        ("repeat_of", activity["activity_id"]), ("form_id", str(uuid.uuid4()))],
        session=session, page_url=f"{gateway_url}/staff/activities/new?from={activity['activity_id']}",
        allow_redirects=False)
    assert repeated.status_code == 303, repeated.text
    page = session.get(f"{gateway_url}{repeated.headers['Location']}", timeout=10).text
    assert "Herneming van" in page and f'href="/staff/activities/{activity["activity_id"]}"' in page


def test_the_activity_page_groups_registrations_and_summarises_needs(gateway_url, staff_headers):
    activity, (ann, bert) = running_activity(gateway_url, staff_headers)
    page = requests.get(f"{gateway_url}/staff/activities/{activity['activity_id']}?lang=en", headers=staff_headers,
                        timeout=10)
    assert page.status_code == 200
    assert "Ann" in page.text and "Bert" in page.text
    needs = page.text.split("To arrange for the confirmed participants")[1].split("</table>")[0]
    assert re.search(r"Sign-language interpreter</th><td class=\"number\">1</td>\s*<td>Ann", needs)
    assert re.search(r"Diet</th><td class=\"number\">1</td>\s*<td>Bert \(vegetarisch\)", needs)
    assert f"/staff/activities/{activity['activity_id']}/complete" in page.text


def test_cancel_a_registration_complete_and_cancel_change_what_the_api_shows(gateway_url, staff_headers):
    activity, (ann, bert) = running_activity(gateway_url, staff_headers)
    activity_id = activity["activity_id"]
    session = staff_session(staff_headers)
    page_url = f"{gateway_url}/staff/activities/{activity_id}"
    cancelled = form_post(f"{page_url}/registrations/{ann}/cancel", {}, session=session, page_url=page_url,
                          allow_redirects=False)
    assert cancelled.status_code == 303
    registrations = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}/registrations",
                                 headers=staff_headers, timeout=10).json()
    assert {r["registration_id"]: r["status"] for r in registrations} == {ann: "cancelled", bert: "confirmed"}
    no_reason = form_post(f"{page_url}/cancel", {"reason": " "}, session=session, page_url=page_url)
    assert no_reason.status_code == 400 and 'id="e-reason"' in no_reason.text
    completed = form_post(f"{page_url}/complete", {}, session=session, page_url=page_url, allow_redirects=False)
    assert completed.status_code == 303
    shown = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}", headers=staff_headers, timeout=10)
    assert shown.json()["status"] == "completed"
    too_late = form_post(f"{page_url}/cancel", {"reason": "Lesgever ziek"}, session=session, page_url=page_url)
    assert too_late.status_code == 409

    other, _ = running_activity(gateway_url, staff_headers, people=())
    other_url = f"{gateway_url}/staff/activities/{other['activity_id']}"
    afgelast = form_post(f"{other_url}/cancel", {"reason": "Lesgever ziek"}, session=session, page_url=other_url,
                         allow_redirects=False)
    assert afgelast.status_code == 303
    shown = requests.get(f"{gateway_url}/api/staff/activities/{other['activity_id']}", headers=staff_headers,
                         timeout=10).json()
    assert (shown["status"], shown["cancel_reason"]) == ("cancelled", "Lesgever ziek")


def test_the_attendance_sheet_saves_days_per_row(gateway_url, staff_headers):
    activity, (ann, bert) = running_activity(gateway_url, staff_headers, days=3, dagdelen=6)
    activity_id = activity["activity_id"]
    session = staff_session(staff_headers)
    url = f"{gateway_url}/staff/activities/{activity_id}/attendance"
    sheet = session.get(url, timeout=10).text
    assert f'type="number" id="f-days.{ann}" name="days.{ann}"' in sheet
    refused = form_post(url, {f"days.{ann}": "2", f"days.{bert}": "9"}, session=session)
    assert refused.status_code == 400 and f'id="e-days.{bert}"' in refused.text

    def attended():
        registrations = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}/registrations",
                                     headers=staff_headers, timeout=10).json()
        return {r["registration_id"]: r["days_attended"] for r in registrations}

    assert attended() == {ann: None, bert: None}  # nothing saved from a sheet with an error
    saved = form_post(url, {f"days.{ann}": "2", f"days.{bert}": "3"}, session=session, allow_redirects=False)
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/attendance?saved=1")
    assert attended() == {ann: 2, bert: 3}
    corrected = form_post(url, {f"days.{ann}": "1", f"days.{bert}": "3"}, session=session, allow_redirects=False)
    assert corrected.status_code == 303 and attended() == {ann: 1, bert: 3}


def test_a_one_day_sheet_has_checkboxes(gateway_url, staff_headers):
    activity, (ann, bert) = running_activity(gateway_url, staff_headers)
    url = f"{gateway_url}/staff/activities/{activity['activity_id']}/attendance"
    session = staff_session(staff_headers)
    assert f'type="checkbox" id="f-days.{ann}"' in session.get(url, timeout=10).text
    saved = form_post(url, {f"days.{ann}": "1"}, session=session, allow_redirects=False)
    assert saved.status_code == 303
    registrations = requests.get(f"{gateway_url}/api/staff/activities/{activity['activity_id']}/registrations",
                                 headers=staff_headers, timeout=10).json()
    assert {r["registration_id"]: r["days_attended"] for r in registrations} == {ann: 1, bert: None}


def test_the_printable_sign_in_sheet_lists_the_confirmed_and_blank_lines(gateway_url, staff_headers, ops_headers):
    activity, _ = running_activity(gateway_url, staff_headers, days=2, dagdelen=4)
    url = f"{gateway_url}/staff/activities/{activity['activity_id']}/sign-in-sheet"
    sheet = requests.get(url, headers=staff_headers, timeout=10)
    assert sheet.status_code == 200
    assert "<td>Ann</td>" in sheet.text and "<td>Bert</td>" in sheet.text
    assert sheet.text.count('<td class="sign"></td>') == 2 * (2 + 5)  # two days: the two registered, five blank
    assert "@media print" in sheet.text
    assert requests.get(url, headers=ops_headers, timeout=10).status_code == 403


def test_the_registrations_csv_is_for_admins(gateway_url, staff_headers, admin_headers):
    activity, (ann, bert) = running_activity(gateway_url, staff_headers, people=("ann", "=cmd"))
    url = f"{gateway_url}/staff/activities/{activity['activity_id']}/registrations.csv?lang=en"
    assert requests.get(url, headers=staff_headers, timeout=10).status_code == 403
    page = requests.get(f"{gateway_url}/staff/activities/{activity['activity_id']}", headers=staff_headers,
                        timeout=10)
    assert "registrations.csv" not in page.text
    exported = requests.get(url, headers=admin_headers, timeout=10)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Name,Email address,Organisation,"), lines[0]
    assert lines[1].startswith("Ann,ann@example.org,")
    assert lines[2].startswith("'=Cmd,'=cmd@example.org,")  # a spreadsheet shows it, never runs it
    assert len(lines) == 3


def test_register_someone_on_their_behalf(gateway_url, staff_headers, ops_headers):
    api = staff_session(staff_headers)
    activity = api.post(f"{gateway_url}/api/staff/activities", json=activity_payload(capacity=5), timeout=10).json()
    activity_id = activity["activity_id"]
    url = f"{gateway_url}/staff/activities/{activity_id}/register"
    assert f'href="/staff/activities/{activity_id}/register"' in api.get(
        f"{gateway_url}/staff/activities/{activity_id}", timeout=10).text
    assert requests.get(url, headers=ops_headers, timeout=10).status_code == 403
    form = {"name": "Carla Janssens", "email": "carla@example.org", "organisation": "individual", "role": "",
            "language": "fr", "needs": "childcare", "needs_dietary": "", "needs_other": ""}
    no_consent = form_post(url, form, session=api)
    assert no_consent.status_code == 400 and 'id="e-privacy_consent"' in no_consent.text
    empty = form_post(url, {**form, "name": "", "privacy_consent": "yes"}, session=api)
    assert empty.status_code == 400 and 'id="e-name"' in empty.text

    def registered():
        return requests.get(f"{gateway_url}/api/staff/activities/{activity_id}/registrations", headers=staff_headers,
                            timeout=10).json()

    assert registered() == []
    done = form_post(url, {**form, "privacy_consent": "yes"}, session=api, allow_redirects=False)
    assert done.status_code == 303 and done.headers["Location"] == f"/staff/activities/{activity_id}"
    (carla,) = registered()
    assert (carla["name"], carla["status"], carla["language"], carla["needs"]["childcare"]) == (
        "Carla Janssens", "confirmed", "fr", True)
    twice = form_post(url, {**form, "privacy_consent": "yes"}, session=api)
    assert twice.status_code == 409 and len(registered()) == 1


def test_postponing_through_the_edit_form_tells_who_registered(gateway_url, staff_headers):
    api = staff_session(staff_headers)
    activity = api.post(f"{gateway_url}/api/staff/activities", json=activity_payload(), timeout=10).json()
    registered = requests.post(f"{gateway_url}/api/activities/{activity['activity_id']}/registrations", timeout=10,
                               json=registration_payload())
    assert registered.status_code == 201, registered.text
    edit_url = f"{gateway_url}/staff/activities/{activity['activity_id']}/edit"
    assert "Wie ingeschreven is, krijgt er bericht van." in api.get(edit_url, timeout=10).text
    later = datetime.now(UTC) + timedelta(days=60)
    moved = form_post(edit_url, new_form(starts_at=local_input(later), ends_at=local_input(later + timedelta(hours=6))),
                      session=api, allow_redirects=False)
    assert moved.status_code == 303

    def moved_mails():
        log = api.get(f"{gateway_url}/api/staff/notifications", timeout=10).json()
        return [line for line in log if line.get("template") == "activity_moved"]

    (told,) = wait_for(moved_mails, timeout=15, message="the activity_moved mail")
    assert told["person_id"] == requests.get(
        f"{gateway_url}/api/staff/activities/{activity['activity_id']}/registrations", headers=staff_headers,
        timeout=10).json()[0]["person_id"]


def test_a_minimum_warns_postponing_keeps_the_first_date_and_a_place_is_given_by_hand(gateway_url, staff_headers):
    session = staff_session(staff_headers)
    over = form_post(f"{gateway_url}/staff/activities/new", new_form(capacity="2", min_participants="3"),
                     session=session)
    assert over.status_code == 400 and 'id="e-min_participants"' in over.text
    made = form_post(f"{gateway_url}/staff/activities/new", new_form(capacity="1", min_participants="1"),
                     session=session, allow_redirects=False)
    assert made.status_code == 303, made.text
    page_url = f"{gateway_url}{made.headers['Location']}"
    activity_id = made.headers["Location"].rsplit("/", 1)[1]
    assert "Er zijn nog niet genoeg bevestigde deelnemers" in session.get(page_url, timeout=10).text
    ids = [requests.post(f"{gateway_url}/api/activities/{activity_id}/registrations", timeout=10,
                         json=registration_payload(name=f"P{n}", email=f"p{n}@example.org")).json()["registration_id"]
           for n in range(3)]
    assert "Er zijn nog niet genoeg bevestigde deelnemers" not in session.get(page_url, timeout=10).text
    # the last on the waitlist gets a place by hand: the activity was full, so one place is added
    promoted = form_post(f"{page_url}/registrations/{ids[2]}/promote", {}, session=session, page_url=page_url,
                         allow_redirects=False)
    assert promoted.status_code == 303, promoted.text
    shown = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}", headers=staff_headers, timeout=10).json()
    assert (shown["capacity"], shown["seats"]["confirmed"], shown["seats"]["waitlisted"]) == (2, 2, 1)
    again = form_post(f"{page_url}/registrations/{ids[2]}/promote", {}, session=session, page_url=page_url)
    assert again.status_code == 409 and "kon geen plaats krijgen" in again.text

    first_start = shown["starts_at"]
    later = datetime.now(UTC) + timedelta(days=50)
    missing = form_post(f"{page_url}/postpone", {"new_starts_at": local_input(later), "new_ends_at": "",
                                                  "postpone_reason": ""}, session=session, page_url=page_url)
    assert missing.status_code == 400
    assert 'id="e-new_ends_at"' in missing.text and 'id="e-postpone_reason"' in missing.text
    assert requests.get(f"{gateway_url}/api/staff/activities/{activity_id}", headers=staff_headers,
                        timeout=10).json()["starts_at"] == first_start  # nothing written
    postponed = form_post(f"{page_url}/postpone", {
        "new_starts_at": local_input(later), "new_ends_at": local_input(later + timedelta(hours=4)),
        "postpone_reason": "De zaal is niet vrij"}, session=session, page_url=page_url, allow_redirects=False)
    assert postponed.status_code == 303, postponed.text
    shown = requests.get(f"{gateway_url}/api/staff/activities/{activity_id}", headers=staff_headers, timeout=10).json()
    assert (shown["postponed_from"], shown["postpone_reason"]) == (first_start, "De zaal is niet vrij")
    assert local_input(datetime.fromisoformat(shown["starts_at"])) == local_input(later)
    assert "Verdaagd. Eerst gepland op" in session.get(page_url, timeout=10).text
