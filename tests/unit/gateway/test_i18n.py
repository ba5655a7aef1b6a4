import re
from pathlib import Path

import pytest

from services.gateway.core import pages
from services.gateway.core.i18n import (
    CATALOGUE,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Translator,
    choose_language,
    normalise_language,
)
from services.gateway.core.pages import CORE_TEMPLATES, FEATURE_TEMPLATES
from services.gateway.public import forms
from services.gateway.public import routes as public_routes

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_catalogue_has_dutch_english_and_french_and_dutch_is_default():
    assert set(CATALOGUE) == set(LANGUAGES) == {"nl", "en", "fr"}
    assert DEFAULT_LANGUAGE == "nl"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_language_has_the_same_keys_as_dutch(language):
    assert set(CATALOGUE[language]) == set(CATALOGUE["nl"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_strings_and_same_placeholders(language):
    for key, text in CATALOGUE[language].items():
        assert text.strip(), f"{language}.{key} is empty"
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(CATALOGUE["nl"][key])), f"{language}.{key}"


def test_every_key_used_in_templates_exists():
    used = set()
    for template in [*CORE_TEMPLATES.glob("*.html"), *FEATURE_TEMPLATES["public"].glob("*.html")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text()))
    for module in (Path(public_routes.__file__), Path(pages.__file__)):
        source = module.read_text()
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", source))
        used |= set(re.findall(
            r"""(?:page|self)\.(?:message|error|not_found)\(\s*(?:\d+,\s*)?["']([a-z0-9_]+)["']""", source))
    # keys built from values: t("role_" ~ r), t("need_" ~ need), t("format_" ~ ...), t("status_" ~ ...)
    used |= {f"role_{r}" for r in forms.ROLES}
    used |= {f"need_{n}" for n in forms.NEEDS_FLAGS}
    used |= {f"format_{f}" for f in ("offline", "online", "blended")}
    used |= {f"status_{s}" for s in ("confirmed", "waitlisted", "cancelled")}
    used |= set(forms.FIELD_LABELS.values())
    missing = used - set(CATALOGUE["nl"])
    assert not missing


def test_no_id_document_is_asked():
    for language in LANGUAGES:
        keys = {k for k in CATALOGUE[language] if k.startswith("field_")}
        assert not any("id" in k.split("_") for k in keys)


@pytest.mark.parametrize(
    "query, cookie, expected",
    [(None, None, "nl"), ("en", None, "en"), ("FR", "en", "fr"), (None, "fr", "fr"), ("de", "en", "en"),
     ("xx", None, "nl"), ("en-GB", None, "en")],
)
def test_choose_language(query, cookie, expected):
    assert choose_language(query, cookie) == expected


def test_normalise_language_rejects_unknown():
    assert normalise_language("de") is None
    assert normalise_language("") is None


def test_translator_formats_and_falls_back():
    t = Translator("en")
    assert t("waitlisted_text", title="X", position=3).startswith("X is full")
    assert "3" in t("waitlisted_text", title="X", position=3)
    assert Translator("de").language == "nl"
    assert Translator("fr")("no_such_key") == "no_such_key"
