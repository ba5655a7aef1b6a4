"""The organisations directory's staff pages: the list with search and filters, the create and edit
forms, and the CSV import with its preview, in each role that matters."""
from __future__ import annotations

import re

import pytest
import requests

from tests.integration.gateway.support import activity_payload, form_post, organisation_payload, registration_payload

pytestmark = pytest.mark.usefixtures("platform")

LIST = "/staff/organisations"
NEW = "/staff/organisations/new"
IMPORT = "/staff/organisations/import"
CONFIRM = "/staff/organisations/import/confirm"
PLAN_FIELD = re.compile(r'name="plan" value="([^"]+)"')


def session_with(headers) -> requests.Session:
    session = requests.Session()
    session.headers.update(headers)
    return session


def directory(staff) -> dict[str, dict]:
    return {o["name"]: o for o in staff.get("/api/staff/organisations").json()}


def create(staff, **overrides) -> dict:
    answer = staff.post("/api/staff/organisations", json=organisation_payload(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_staff_see_search_and_filter_the_list(api, gateway_url, staff_headers):
    _, staff = api
    create(staff, name="Vereniging Samen", org_type="vereniging", recognised=True)
    create(staff, name="Gemeente Zottegem", org_type="overheid", recognised=False)
    create(staff, name="Volkshogeschool Oost", org_type="volkshogeschool", recognised=True)
    page = requests.get(f"{gateway_url}{LIST}?lang=en", headers=staff_headers, timeout=10)
    assert page.status_code == 200 and "no-store" in page.headers["Cache-Control"]
    assert all(name in page.text for name in ("Vereniging Samen", "Gemeente Zottegem", "Volkshogeschool Oost"))
    assert "/edit" in page.text and 'href="/staff/organisations/new"' in page.text

    def shown(**params) -> set[str]:
        answer = requests.get(f"{gateway_url}{LIST}", params=params, headers=staff_headers, timeout=10)
        assert answer.status_code == 200
        return {name for name in ("Vereniging Samen", "Gemeente Zottegem", "Volkshogeschool Oost")
                if f">{name}</a>" in answer.text}

    assert shown(q="samen") == {"Vereniging Samen"}
    assert shown(type="overheid") == {"Gemeente Zottegem"}
    assert shown(recognised="yes") == {"Vereniging Samen", "Volkshogeschool Oost"}
    assert shown(recognised="no", q="oost") == set()


@pytest.mark.parametrize("path", [LIST, NEW, IMPORT])
def test_ops_get_403_and_no_token_the_sign_in_page(gateway_url, ops_headers, path):
    assert requests.get(f"{gateway_url}{path}", headers=ops_headers, timeout=10).status_code == 403
    anonymous = requests.get(f"{gateway_url}{path}", timeout=10)
    assert anonymous.status_code == 401 and 'name="password"' in anonymous.text


def test_ops_may_not_create_or_confirm_an_import(api, gateway_url, ops_headers, staff_headers):
    _, staff = api
    ops = session_with(ops_headers)
    # the CSRF field comes from a page ops may open; the post itself is refused by role
    assert form_post(f"{gateway_url}{NEW}", organisation_payload(org_type="vereniging"), session=ops,
                     page_url=f"{gateway_url}/staff/mail").status_code == 403
    preview = form_post(f"{gateway_url}{IMPORT}", {}, session=session_with(staff_headers),
                        files={"file": ("o.csv", b"name,type,recognised\nNieuw,vereniging,ja\n", "text/csv")})
    plan = PLAN_FIELD.search(preview.text).group(1)
    assert form_post(f"{gateway_url}{CONFIRM}", {"plan": plan}, session=ops,
                     page_url=f"{gateway_url}/staff/mail").status_code == 403
    assert directory(staff) == {}


def test_create_refuses_bad_input_beside_the_fields_and_creates_once(api, gateway_url, staff_headers):
    _, staff = api
    session = session_with(staff_headers)
    bad = form_post(f"{gateway_url}{NEW}?lang=en", {"name": " ", "org_type": "club"}, session=session)
    assert bad.status_code == 400
    assert 'id="e-name"' in bad.text and 'id="e-org_type"' in bad.text and 'id="error-summary"' in bad.text
    assert "Enter the organisation&#39;s name." in bad.text and 'href="#f-org_type"' in bad.text
    assert directory(staff) == {}

    fields = {"name": "Vormingplus Gent", "org_type": "landelijke_vormingsinstelling", "recognised": "yes"}
    created = form_post(f"{gateway_url}{NEW}", fields, session=session, allow_redirects=False)
    assert created.status_code == 303 and created.headers["Location"].startswith(f"{LIST}?saved=")
    again = form_post(f"{gateway_url}{NEW}?lang=en", {**fields, "name": "vormingplus GENT"}, session=session)
    assert again.status_code == 400 and "already in the directory" in again.text
    found = directory(staff)
    assert list(found) == ["Vormingplus Gent"]
    assert (found["Vormingplus Gent"]["org_type"], found["Vormingplus Gent"]["recognised"]) == (
        "landelijke_vormingsinstelling", True)
    listed = session.get(f"{gateway_url}{created.headers['Location']}&lang=en", timeout=10)
    assert "Vormingplus Gent has been saved." in listed.text


def test_edit_changes_the_organisation_and_refuses_bad_input(api, gateway_url, staff_headers):
    _, staff = api
    session = session_with(staff_headers)
    organisation = create(staff, name="Buurtwerk Noord", org_type="civiel_scw", recognised=False)
    create(staff, name="Vereniging Samen")
    edit = f"{gateway_url}/staff/organisations/{organisation['organisation_id']}/edit"
    shown = session.get(edit, timeout=10)
    assert shown.status_code == 200 and 'value="Buurtwerk Noord"' in shown.text
    assert '<option value="civiel_scw" selected>' in shown.text
    bad = form_post(f"{edit}?lang=en", {"name": "Vereniging samen", "org_type": "vereniging"}, session=session)
    assert bad.status_code == 400 and 'id="e-name"' in bad.text
    assert staff.get(f"/api/staff/organisations/{organisation['organisation_id']}").json()["name"] == "Buurtwerk Noord"

    saved = form_post(edit, {"name": "Buurtwerk Noord vzw", "org_type": "vereniging", "recognised": "yes"},
                      session=session, allow_redirects=False)
    assert saved.status_code == 303
    now = staff.get(f"/api/staff/organisations/{organisation['organisation_id']}").json()
    assert (now["name"], now["org_type"], now["recognised"]) == ("Buurtwerk Noord vzw", "vereniging", True)
    assert session.get(f"{gateway_url}/staff/organisations/no-such-id/edit", timeout=10).status_code == 404


IMPORT_FILE = (
    b"name;type;recognised\n"
    b"Vereniging Samen;vereniging;ja\n"          # known, unchanged
    b"GEMEENTE ZOTTEGEM;beweging;ja\n"           # known (other case): updated
    b"Volkshogeschool Oost;volkshogeschool;ja\n"  # new
    b"Ergens;club;ja\n"                          # unknown type
    b";vereniging;nee\n"                         # no name
    b"Beweging West;beweging;misschien\n"        # not yes or no
    b"Beweging Zuid;beweging;nee\n"              # new
)


def preview_of(gateway_url, session, content: bytes = IMPORT_FILE):
    return form_post(f"{gateway_url}{IMPORT}?lang=en", {}, session=session,
                     files={"file": ("recognised.csv", content, "text/csv")})


def test_the_import_previews_then_writes_exactly_what_it_showed_once(api, gateway_url, staff_headers):
    _, staff = api
    session = session_with(staff_headers)
    create(staff, name="Vereniging Samen", org_type="vereniging", recognised=True)
    zottegem = create(staff, name="Gemeente Zottegem", org_type="overheid", recognised=False)
    before = directory(staff)

    preview = preview_of(gateway_url, session)
    assert preview.status_code == 200, preview.text
    text = preview.text
    assert "2 new organisations will be added" in text and "1 organisation will be updated" in text
    assert "1 organisation is already listed like this" in text
    assert "3 lines could not be read and will be skipped" in text
    assert "Unknown type “club”." in text and "Enter the organisation&#39;s name." in text
    assert "“misschien” is not yes or no" in text
    for line in ("<td class=\"number\">5</td>", "<td class=\"number\">6</td>", "<td class=\"number\">7</td>"):
        assert line in text
    assert directory(staff) == before  # nothing written by the preview

    cancelled = session.get(f"{gateway_url}{LIST}", timeout=10)  # "cancel" is the way back to the list
    assert cancelled.status_code == 200 and directory(staff) == before

    plan = PLAN_FIELD.search(text).group(1)
    confirmed = form_post(f"{gateway_url}{CONFIRM}?lang=en", {"plan": plan}, session=session,
                          page_url=f"{gateway_url}{IMPORT}")
    assert confirmed.status_code == 200
    assert "2 organisations added." in confirmed.text and "1 organisation updated." in confirmed.text
    after = directory(staff)
    assert set(after) == {"Vereniging Samen", "Gemeente Zottegem", "Volkshogeschool Oost", "Beweging Zuid"}
    assert after["Gemeente Zottegem"]["organisation_id"] == zottegem["organisation_id"]
    assert (after["Gemeente Zottegem"]["org_type"], after["Gemeente Zottegem"]["recognised"]) == ("beweging", True)
    assert (after["Beweging Zuid"]["org_type"], after["Beweging Zuid"]["recognised"]) == ("beweging", False)
    assert after["Vereniging Samen"] == before["Vereniging Samen"]

    twice = form_post(f"{gateway_url}{CONFIRM}?lang=en", {"plan": plan}, session=session,
                          page_url=f"{gateway_url}{IMPORT}")
    assert twice.status_code == 200 and "already been done" in twice.text
    assert directory(staff) == after


def test_an_altered_or_empty_import_writes_nothing(api, gateway_url, staff_headers):
    _, staff = api
    session = session_with(staff_headers)
    preview = preview_of(gateway_url, session, b"name,type,recognised\nNieuw,vereniging,yes\n")
    plan = PLAN_FIELD.search(preview.text).group(1)
    forged = plan[:-4] + ("AAAA" if not plan.endswith("AAAA") else "BBBB")
    altered = form_post(f"{gateway_url}{CONFIRM}?lang=en", {"plan": forged}, session=session,
                        page_url=f"{gateway_url}{IMPORT}")
    assert altered.status_code == 400 and "no longer valid" in altered.text
    empty = form_post(f"{gateway_url}{IMPORT}?lang=en", {}, session=session,
                      files={"file": ("empty.csv", b"", "text/csv")})
    assert empty.status_code == 400 and 'id="e-file"' in empty.text
    wrong_header = preview_of(gateway_url, session, b"naam,soort\nNieuw,vereniging\n")
    assert wrong_header.status_code == 200 and "The first line must name the columns" in wrong_header.text
    assert 'name="plan"' not in wrong_header.text  # nothing to confirm
    assert directory(staff) == {}


def test_organisations_participants_named_wait_for_staff_and_are_confirmed_by_saving_or_importing(
        api, gateway_url, staff_headers):
    public, staff = api
    activity = staff.post("/api/staff/activities", json=activity_payload()).json()
    for number, name in enumerate(("Buurthuis De Brug", "Beweging Zuid")):
        registered = public.post(f"/api/activities/{activity['activity_id']}/registrations", json=registration_payload(
            email=f"p{number}@example.org", new_organisation={"name": name, "org_type": "civiel_scw"}))
        assert registered.status_code == 201, registered.text
    session = session_with(staff_headers)
    listed = session.get(f"{gateway_url}{LIST}?lang=en", timeout=10).text
    assert "2 organisations participants named are waiting for your check." in listed
    assert listed.count("to confirm</span>") == 2
    create(staff, name="Vereniging Samen", org_type="vereniging", recognised=True)
    waiting = session.get(f"{gateway_url}{LIST}?unconfirmed=1", timeout=10).text
    assert "Buurthuis De Brug" in waiting and "Vereniging Samen" not in waiting

    brug = directory(staff)["Buurthuis De Brug"]
    edit_url = f"{gateway_url}/staff/organisations/{brug['organisation_id']}/edit?lang=en"
    form = session.get(edit_url, timeout=10).text
    assert "A participant named this organisation" in form and "Save and confirm" in form
    saved = form_post(edit_url, {"name": "Buurthuis De Brug vzw", "org_type": "vereniging", "recognised": "yes"},
                      session=session, allow_redirects=False)
    assert saved.status_code == 303, saved.text
    confirmed = directory(staff)["Buurthuis De Brug vzw"]
    assert (confirmed["confirmed"], confirmed["recognised"], confirmed["org_type"]) == (True, True, "vereniging")

    # the centre's list names the other one exactly as it is: importing it confirms it all the same
    preview = preview_of(gateway_url, session, b"name,type,recognised\nBeweging Zuid,civiel_scw,no\n")
    assert "1 organisation will be updated" in preview.text, preview.text
    done = form_post(f"{gateway_url}{CONFIRM}?lang=en", {"plan": PLAN_FIELD.search(preview.text).group(1)},
                     session=session, page_url=f"{gateway_url}{IMPORT}")
    assert done.status_code == 200 and directory(staff)["Beweging Zuid"]["confirmed"] is True
    assert "waiting for your check" not in session.get(f"{gateway_url}{LIST}?lang=en", timeout=10).text
