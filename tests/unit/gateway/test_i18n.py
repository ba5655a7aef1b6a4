import re
from pathlib import Path

import pytest

from kernel.i18n import DEFAULT_LANGUAGE, normalise_language, read_catalog
from kernel.rules import LANGUAGES
from services.gateway.core import pages
from services.gateway.core.i18n import CATALOGS, DOMAIN, LOCALE_DIR, choose_language, translator
from services.gateway.core.pages import CORE_TEMPLATES, FEATURE_TEMPLATES
from services.gateway.public import forms
from services.gateway.public import routes as public_routes


def test_catalogs_have_dutch_english_and_french_and_dutch_is_default():
    assert set(CATALOGS) == set(LANGUAGES) == {"nl", "en", "fr"}
    assert DEFAULT_LANGUAGE == "nl"


def test_every_key_used_in_templates_exists():
    used = set()
    for template in [*CORE_TEMPLATES.glob("*.html"), *FEATURE_TEMPLATES["public"].glob("*.html")]:
        used |= set(re.findall(r"""\b(?:_|ngettext)\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text()))
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
    missing = {key for key in used if not translator("nl").has(key)}
    assert not missing


def test_no_id_document_is_asked():
    for language in LANGUAGES:
        keys = {m.id for m in read_catalog(LOCALE_DIR, language, DOMAIN) if str(m.id).startswith("field_")}
        assert keys and not any("id" in k.split("_") for k in keys)


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
    t = translator("en")
    assert t("waitlisted_text", title="X", position=3).startswith("X is full")
    assert "3" in t("waitlisted_text", title="X", position=3)
    assert translator("de").language == "nl"
    assert translator("fr")("no_such_key") == "no_such_key"


def days_and_dagdelen(language: str, days: int, dagdelen: int) -> str:
    """As public/_facts.html writes an activity's length."""
    t = translator(language)
    return t("days_dagdelen", days=t.ngettext("day_count", days, count=days),
             dagdelen=t.ngettext("dagdeel_count", dagdelen, count=dagdelen))


@pytest.mark.parametrize("language, days, dagdelen, expected", [
    ("nl", 1, 2, "1 dag, 2 dagdelen"), ("nl", 2, 1, "2 dagen, 1 dagdeel"),
    ("en", 1, 2, "1 day, 2 half-days"), ("en", 2, 1, "2 days, 1 half-day"),
    ("fr", 1, 2, "1 jour, 2 demi-journées"), ("fr", 2, 1, "2 jours, 1 demi-journée"),
    ("fr", 0, 0, "0 jour, 0 demi-journée"),  # French: 0 is singular too
    ("nl", 0, 0, "0 dagen, 0 dagdelen"), ("en", 0, 0, "0 days, 0 half-days"),
])
def test_days_and_dagdelen_follow_each_languages_plural_rule(language, days, dagdelen, expected):
    assert days_and_dagdelen(language, days, dagdelen) == expected


@pytest.mark.parametrize("language, one, many", [
    ("nl", "Nog 1 plaats vrij", "Nog 3 plaatsen vrij"), ("en", "1 place left", "3 places left"),
    ("fr", "Encore 1 place libre", "Encore 3 places libres"),
])
def test_places_left_is_a_plural(language, one, many):
    t = translator(language)
    assert t.ngettext("seats_available", 1, count=1) == one
    assert t.ngettext("seats_available", 3, count=3) == many


@pytest.mark.parametrize("language, expected_date, expected_moment", [
    ("nl", "4 december 2026", "4 december 2026 om 09:00"),
    ("en", "4 December 2026", "4 December 2026 at 09:00"),
    ("fr", "4 décembre 2026", "4 décembre 2026 à 09:00"),
])
def test_dates_are_written_the_readers_way_in_the_centres_time_zone(language, expected_date, expected_moment):
    assert pages.format_when("2026-12-04T08:00:00+00:00", language) == expected_moment  # UTC+1 in winter
    assert pages.format_when("2026-12-03T23:00:00+00:00", language) == expected_date  # midnight in Brussels


@pytest.mark.parametrize("language, expected", [("nl", "€\u00a012,50"), ("en", "€12.50"), ("fr", "12,50\u00a0€")])
def test_prices_are_written_the_readers_way(language, expected):
    assert pages.format_price("12.5", language) == expected
