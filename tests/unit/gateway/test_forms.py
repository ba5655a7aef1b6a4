from werkzeug.datastructures import MultiDict

from services.gateway.core.forms import flatten_details
from services.gateway.core.i18n import translator
from services.gateway.public import forms

t = translator("en")


def valid_form(**overrides):
    data = MultiDict(
        [
            ("name", " Ann Peeters "),
            ("email", "ann@example.org"),
            ("organisation", "org-1"),
            ("role", "vrijwilliger"),
            ("language", "fr"),
            ("needs", "sign_language_interpreter"),
            ("needs", "childcare"),
            ("needs", "bogus"),
            ("needs_dietary", "vegetarian"),
            ("needs_other", "quiet room"),
            ("privacy_consent", "yes"),
        ]
    )
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data.setlist(key, value if isinstance(value, list) else [value])
    return data


def test_valid_form_becomes_the_register_payload():
    values = forms.form_values(valid_form())
    assert forms.check(values, t, {"org-1"}).messages == {}
    assert forms.to_payload(values) == {
        "name": "Ann Peeters",
        "email": "ann@example.org",
        "organisation_id": "org-1",
        "role": "vrijwilliger",
        "language": "fr",
        "needs": {
            "accessibility": False,
            "sign_language_interpreter": True,
            "childcare": True,
            "dietary": "vegetarian",
            "other": "quiet room",
        },
        "privacy_consent": True,
        "invitation_code": None,
        "begeleider": None,
    }


def test_individual_and_informal_initiative_have_no_organisation_id():
    for kind in ("individual", "informal_initiative"):
        payload = forms.to_payload(forms.form_values(valid_form(organisation=kind)))
        assert payload["organisation_id"] is None
        assert payload["organisation_kind"] == kind
    payload = forms.to_payload(forms.form_values(valid_form(organisation=None)))
    assert (payload["organisation_id"], payload["organisation_kind"]) == (None, "individual")


def test_an_organisation_from_the_directory_sends_no_kind():
    payload = forms.to_payload(forms.form_values(valid_form()))
    assert payload["organisation_id"] == "org-1" and "organisation_kind" not in payload


def test_language_defaults_to_the_page_language():
    assert forms.to_payload(forms.form_values(valid_form(language="")), "fr")["language"] == "fr"


def test_empty_role_and_needs_become_null_and_false():
    payload = forms.to_payload(forms.form_values(valid_form(role="", needs=None, needs_other="", needs_dietary="")))
    assert payload["role"] is None
    assert payload["needs"] == {
        "accessibility": False, "sign_language_interpreter": False, "childcare": False, "dietary": None, "other": None,
    }


def test_begeleider():
    form = valid_form(registering_for_someone_else="yes", begeleider_name="Bo", begeleider_email="bo@example.org")
    values = forms.form_values(form)
    assert not forms.check(values, t)
    assert forms.to_payload(values)["begeleider"] == {"name": "Bo", "email": "bo@example.org"}


def test_a_begeleider_may_register_someone_without_email():
    form = valid_form(registering_for_someone_else="yes", begeleider_name="Bo", begeleider_email="bo@example.org",
                      email="")
    values = forms.form_values(form)
    assert not forms.check(values, t)
    assert forms.to_payload(values)["email"] is None


def test_begeleider_ticked_needs_name_and_email():
    errors = forms.check(forms.form_values(valid_form(registering_for_someone_else="yes")), t)
    assert set(errors.messages) == {forms.F_BEGELEIDER_NAME, forms.F_BEGELEIDER_EMAIL}


def test_invitation_code_travels():
    assert forms.to_payload(forms.form_values(valid_form(code="ABC")))["invitation_code"] == "ABC"


def test_empty_form_errors_in_page_order():
    errors = forms.check(forms.form_values(MultiDict()), t)
    assert [name for name, _ in errors.ordered()] == ["name", "email", "privacy_consent"]
    assert errors.messages["email"] == [t("err_email_required")]


def test_bad_email_role_language_organisation():
    values = forms.form_values(valid_form(email="nope", role="king", language="de", organisation="org-9"))
    errors = forms.check(values, t, {"org-1"})
    assert set(errors.messages) == {"email", "role", "language", "organisation"}


def test_unticked_consent_is_an_error():
    errors = forms.check(forms.form_values(valid_form(privacy_consent=None)), t)
    assert set(errors.messages) == {"privacy_consent"}


def test_service_details_map_onto_form_fields():
    details = {
        "email": ["Not a valid email address."],
        "begeleider": {"email": ["Not a valid email address."]},
        "needs.other": ["Longer than maximum length 2000."],
        "needs": {"dietary": ["Not a valid string."]},
        "organisation_id": ["Unknown organisation."],
        "privacy_consent": ["Must be true."],
        "_schema": ["Something general."],
    }
    errors, general = forms.errors_from_details(details, t)
    assert set(errors.messages) == {"email", "begeleider_email", "needs_other", "needs_dietary", "organisation",
                                    "privacy_consent"}
    assert "Not a valid email address." in errors.messages["email"][0]
    assert errors.messages["privacy_consent"] == [t("err_consent_required")]
    assert general == ["Something general."]


def test_flatten_details():
    assert flatten_details({"a": {"b": ["x"]}, "c": ["y"], "d": "z"}) == {"a.b": ["x"], "c": ["y"], "d": ["z"]}
    assert flatten_details(["oops"]) == {"_schema": ["oops"]}


def test_an_organisation_not_listed_travels_with_its_name_and_type():
    values = forms.form_values(valid_form(organisation="not_listed", new_organisation_name=" Buurtwerk ",
                                          new_organisation_type="civiel_scw"))
    payload = forms.to_payload(values)
    assert payload["new_organisation"] == {"name": "Buurtwerk", "org_type": "civiel_scw"}
    assert payload["organisation_id"] is None and "organisation_kind" not in payload
    assert not forms.check(values, t, organisation_ids={"org-1"})


def test_a_name_typed_with_the_list_at_its_first_choice_is_an_organisation_not_listed():
    values = forms.form_values(valid_form(organisation="individual", new_organisation_name="Buurtwerk"))
    assert values["organisation"] == "not_listed"
    errors = forms.check(values, t)
    assert [name for name, _ in errors.ordered()] == ["new_organisation_type"]
    assert forms.form_values(valid_form(organisation="org-1", new_organisation_name="x"))["organisation"] == "org-1"


def test_not_listed_without_name_or_type_shows_both_beside_their_fields():
    errors = forms.check(forms.form_values(valid_form(organisation="not_listed")), t)
    assert [name for name, _ in errors.ordered()] == ["new_organisation_name", "new_organisation_type"]
    assert errors.messages["new_organisation_name"] == ["Enter the name of your organisation."]
