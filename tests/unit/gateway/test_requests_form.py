"""The request form's strings, templates and form helpers, without a broker."""
import re
from pathlib import Path

from kernel.i18n import read_catalog
from kernel.rules import LANGUAGES
from services.gateway.core.i18n import DOMAIN, LOCALE_DIR, translator
from services.gateway.core.pages import FEATURE_TEMPLATES
from services.gateway.requests import routes as requests_routes


def test_every_key_the_request_pages_use_exists_and_themes_have_labels():
    used = set()
    for template in FEATURE_TEMPLATES["requests"].glob("*.html"):
        used |= set(re.findall(r"""\b(?:_|ngettext)\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text()))
    used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""",
                           Path(requests_routes.__file__).read_text()))
    used |= set(requests_routes.FIELD_LABELS.values())
    used |= {f"rq_org_{org_type}" for org_type in requests_routes.ORG_TYPE_CHOICES}
    used |= {f"theme_{theme}" for theme in requests_routes.DEFAULT_THEMES}
    for language in LANGUAGES:
        assert not {key for key in used if not translator(language).has(key)}, language


def test_no_id_document_is_asked():
    keys = [str(m.id) for m in read_catalog(LOCALE_DIR, "nl", DOMAIN) if str(m.id).startswith("rq_")]
    assert not any("id" in key.split("_") for key in keys if "field" in key)
    assert "id_number" not in requests_routes.FIELDS


def test_form_checks_and_payload():
    t = translator("nl")
    values = requests_routes.form_values({})
    errors = requests_routes.check_form(values, t, ["bestuur"], set())
    assert set(errors.messages) == {"name", "email", "question", "theme", "privacy_consent"}
    assert [name for name, _ in errors.ordered()] == ["name", "email", "question", "theme", "privacy_consent"]

    form = {"name": " Ann ", "email": "ann@example.org", "phone": "02 123 45 67", "organisation": "type:overheid",
            "question": "Help", "theme": "bestuur", "privacy_consent": "yes"}
    values = requests_routes.form_values(form)
    assert not requests_routes.check_form(values, t, ["bestuur"], set())
    payload = requests_routes.to_payload(values, "fr")
    assert payload["name"] == "Ann" and payload["org_type"] == "overheid" and payload["organisation_id"] is None
    assert payload["language"] == "fr" and payload["privacy_consent"] is True

    values = requests_routes.form_values({**form, "organisation": "org-1", "phone": "bel me", "theme": "x"})
    errors = requests_routes.check_form(values, t, ["bestuur"], {"org-2"})
    assert set(errors.messages) == {"organisation", "phone", "theme"}
    assert requests_routes.to_payload(requests_routes.form_values({**form, "organisation": "org-1"}), "nl")[
        "organisation_id"] == "org-1"


def test_service_errors_land_on_the_form_fields():
    t = translator("en")
    errors, general = requests_routes.errors_from_details(
        {"organisation_id": ["Unknown organisation."], "email": ["Not a valid email address."], "x": ["?"]}, t)
    assert set(errors.messages) == {"organisation", "email"}
    assert general == ["?"]
