"""The public pages, driven directly (a fake registration proxy, no broker)."""
import re

from werkzeug.datastructures import MultiDict

from tests.unit.gateway.fakes import FakeRegistration, gateway, request


def html(response):
    return response.get_data(as_text=True)


def valid_form(**extra):
    form = MultiDict({"name": "Ann", "email": "ann@example.org", "organisation": "individual",
                      "privacy_consent": "yes"})
    for key, value in extra.items():
        form.setlist(key, [value])
    return form


def test_list_page_is_dutch_by_default_and_escapes():
    response = gateway().page_activities(request())
    page = html(response)
    assert response.status_code == 200
    assert '<html lang="nl">' in page
    assert "Vorming &lt;Samen&gt; sterk" in page and "<Samen>" not in page
    assert "<script" not in page
    assert 'href="/activities/act-1"' in page


def test_language_from_query_is_remembered_in_a_cookie():
    response = gateway().page_activities(request(query={"lang": "en"}))
    assert '<html lang="en">' in html(response)
    assert "lang=en" in response.headers["Set-Cookie"]
    again = gateway().page_activities(request(cookies={"lang": "fr"}))
    assert '<html lang="fr">' in html(again)
    assert "Set-Cookie" not in again.headers


def test_detail_page_has_a_labelled_form_with_the_questions():
    page = html(gateway().page_activity(request(path="/activities/act-1"), "act-1"))
    for field in ("name", "email", "organisation", "role", "language", "needs_other", "begeleider_name",
                  "begeleider_email", "privacy_consent"):
        assert re.search(rf'<label for="f-{field}"', page), field
    assert page.count("<fieldset") >= 4 and page.count("<legend>") >= 4
    assert 'value="sign_language_interpreter"' in page and 'value="childcare"' in page
    assert 'value="informal_initiative"' in page and "Vereniging Eén" in page
    assert 'href="/privacy?lang=nl"' in page
    assert "identiteitskaart" not in page.lower() and "rijksregister" not in page.lower()


def test_unknown_activity_is_a_404_page():
    response = gateway().page_activity(request(path="/activities/nope"), "nope")
    assert response.status_code == 404
    assert "Niet gevonden" in html(response)


def test_empty_submission_shows_field_errors_linked_from_a_summary_and_calls_nothing():
    fake = FakeRegistration()
    response = gateway(fake).page_activity(request("POST", "/activities/act-1", form={}), "act-1")
    page = html(response)
    assert response.status_code == 400
    assert 'class="error-summary"' in page
    for field in ("name", "email", "privacy_consent"):
        assert f'href="#f-{field}"' in page
        assert f'id="e-{field}"' in page
    assert 'aria-invalid="true"' in page
    assert fake.calls == []


def test_service_validation_errors_are_shown_on_the_field():
    fake = FakeRegistration()
    svc = gateway(fake)
    svc.registration.register = lambda *a, **kw: (_ for _ in ()).throw(
        __import__("kernel.errors", fromlist=["x"]).ValidationFailed("bad", {"begeleider": {"email": ["Bad."]}})
    )
    response = svc.page_activity(request("POST", "/activities/act-1", form=valid_form()), "act-1")
    assert response.status_code == 400
    assert 'href="#f-begeleider_email"' in html(response)


def test_valid_submission_confirms_then_waitlists_with_position_and_cancel_link():
    fake = FakeRegistration(capacity=1)
    svc = gateway(fake)
    first = svc.page_activity(request("POST", "/activities/act-1", form=valid_form()), "act-1")
    assert first.status_code == 201
    assert "Je bent ingeschreven" in html(first)
    assert "https://example.test/registrations/tok1/cancel" in html(first)
    payload = fake.calls[0][2]
    assert payload["organisation_kind"] == "individual" and payload["privacy_consent"] is True

    second = svc.page_activity(
        request("POST", "/activities/act-1", query={"lang": "en"}, form=valid_form(email="bo@example.org")), "act-1"
    )
    assert "You are on the waiting list" in html(second)
    assert "number 1 on the waiting list" in html(second)


def test_duplicate_is_a_409_page():
    svc = gateway()
    svc.page_activity(request("POST", "/activities/act-1", form=valid_form()), "act-1")
    response = svc.page_activity(request("POST", "/activities/act-1", form=valid_form()), "act-1")
    assert response.status_code == 409
    assert "al ingeschreven" in html(response)


def test_cancel_link_get_only_asks_and_post_cancels():
    fake = FakeRegistration()
    svc = gateway(fake)
    svc.page_activity(request("POST", "/activities/act-1", form=valid_form()), "act-1")
    ask = svc.page_cancel(request(path="/registrations/tok1/cancel"), "tok1")
    assert ask.status_code == 200
    assert 'method="post"' in html(ask) and "Vorming &lt;Samen&gt; sterk" in html(ask)
    assert ("cancel", "tok1") not in fake.calls
    done = svc.page_cancel(request("POST", "/registrations/tok1/cancel"), "tok1")
    assert done.status_code == 200 and "uitgeschreven" in html(done)
    assert fake.registrations["tok1"]["status"] == "cancelled"
    again = svc.page_cancel(request(path="/registrations/tok1/cancel"), "tok1")
    assert "al geannuleerd" in html(again)


def test_unknown_cancel_token_is_404():
    assert gateway().page_cancel(request(path="/registrations/x/cancel"), "x").status_code == 404


def test_privacy_page_in_french():
    page = html(gateway().page_privacy(request(query={"lang": "fr"})))
    assert "Déclaration de confidentialité" in page and "pièce d&#39;identité" in page


def test_staff_endpoints_refuse_everything_without_configured_token():
    svc = gateway()
    response = svc.staff_list_activities(request(path="/api/staff/activities",
                                                 headers={"Authorization": "Bearer anything"}))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_head_on_the_cancel_link_never_cancels():
    fake = FakeRegistration()
    svc = gateway(fake)
    svc.page_activity(request("POST", "/activities/act-1", form=valid_form()), "act-1")
    svc.page_cancel(request("HEAD", "/registrations/tok1/cancel"), "tok1")
    assert fake.registrations["tok1"]["status"] == "confirmed"


def test_times_are_shown_in_the_centres_time_zone():
    from services.gateway.core.pages import format_when

    assert format_when("2027-03-01T08:00:00+00:00", "nl") == "1 maart 2027 om 09:00"  # winter: UTC+1
    assert format_when("2027-07-01T07:30:00+00:00", "nl") == "1 juli 2027 om 09:30"  # summer: UTC+2
    assert format_when("2027-02-28T23:00:00+00:00", "nl") == "1 maart 2027"  # midnight in Brussels


def test_a_period_within_one_day_of_the_centre_writes_the_day_once():
    from services.gateway.core.pages import format_period

    # 08:00-16:00 UTC is 09:00-17:00 in Brussels in winter
    assert format_period("2027-03-01T08:00:00+00:00", "2027-03-01T16:00:00+00:00", "nl") == "1 maart 2027, 09:00–17:00"
    assert format_period("2027-03-01T08:00:00+00:00", "2027-03-01T16:00:00+00:00", "fr") == "1 mars 2027, 09:00–17:00"
    # 23:30 UTC is already the next day in Brussels: two days, each written out
    assert format_period("2027-03-01T08:00:00+00:00", "2027-03-01T23:30:00+00:00", "en") == (
        "1 March 2027 at 09:00 – 2 March 2027 at 00:30")
