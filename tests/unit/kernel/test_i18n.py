"""The shared language machinery: catalogs read from .po files (a fuzzy or missing message falls
back to Dutch, then to its id), each language's plural rule, and dates and numbers with Babel in
the centre's time zone."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from kernel.i18n import Translator, language_or_default, load_catalogs, normalise_language

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n"Plural-Forms: {forms}\\n"\n\n'
PLURALS = {"nl": "nplurals=2; plural=(n != 1);", "en": "nplurals=2; plural=(n != 1);",
           "fr": "nplurals=2; plural=(n > 1);"}
CATALOGS = {
    "nl": 'msgid "hello"\nmsgstr "Hallo {name}"\n\nmsgid "only_dutch"\nmsgstr "Alleen Nederlands"\n\n'
          'msgid "moment"\nmsgstr "{date} om {time}"\n\n'
          'msgid "places"\nmsgid_plural "places"\nmsgstr[0] "{n} plaats"\nmsgstr[1] "{n} plaatsen"\n',
    "en": 'msgid "hello"\nmsgstr "Hello {name}"\n\n#, fuzzy\nmsgid "only_dutch"\nmsgstr "Guessed"\n\n'
          'msgid "moment"\nmsgstr "{date} at {time}"\n\n'
          'msgid "places"\nmsgid_plural "places"\nmsgstr[0] "{n} place"\nmsgstr[1] "{n} places"\n',
    "fr": 'msgid "hello"\nmsgstr "Bonjour {name}"\n\nmsgid "moment"\nmsgstr "{date} à {time}"\n\n'
          'msgid "places"\nmsgid_plural "places"\nmsgstr[0] "{n} place"\nmsgstr[1] "{n} places"\n',
}


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory):
    root = tmp_path_factory.mktemp("locale")
    for language, body in CATALOGS.items():
        folder = root / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "test.po").write_text(HEADER.format(forms=PLURALS[language]) + body, encoding="utf-8")
    return load_catalogs(root, "test")


def test_messages_are_filled_in_and_fall_back_to_dutch_then_to_the_id(catalogs):
    assert Translator("en", catalogs)("hello", name="Ann") == "Hello Ann"
    assert Translator("en", catalogs)("only_dutch") == "Alleen Nederlands"  # fuzzy: not used
    assert Translator("fr", catalogs)("only_dutch") == "Alleen Nederlands"  # missing
    assert Translator("fr", catalogs)("no_such_id") == "no_such_id"
    assert Translator("de", catalogs).language == "nl"


@pytest.mark.parametrize("language, number, expected", [
    ("nl", 0, "0 plaatsen"), ("nl", 1, "1 plaats"), ("nl", 2, "2 plaatsen"),
    ("en", 0, "0 places"), ("en", 1, "1 place"), ("en", 2, "2 places"),
    ("fr", 0, "0 place"), ("fr", 1, "1 place"), ("fr", 2, "2 places"),
])
def test_plurals_follow_each_languages_rule(catalogs, language, number, expected):
    assert Translator(language, catalogs).ngettext("places", number, n=number) == expected


@pytest.mark.parametrize("language, long, full, moment", [
    ("nl", "4 december 2026", "vrijdag 4 december 2026", "4 december 2026 om 09:00"),
    ("en", "4 December 2026", "Friday, 4 December 2026", "4 December 2026 at 09:00"),
    ("fr", "4 décembre 2026", "vendredi 4 décembre 2026", "4 décembre 2026 à 09:00"),
])
def test_dates_in_the_centres_time_zone(catalogs, language, long, full, moment):
    t = Translator(language, catalogs)
    nine_in_brussels = datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)
    assert t.date(date(2026, 12, 4)) == long
    assert t.date(datetime(2026, 12, 3, 23, 30, tzinfo=timezone.utc)) == long  # already the 4th in Brussels
    assert Translator(language, catalogs, date_width="full").date(nine_in_brussels) == full
    assert t.time(nine_in_brussels) == "09:00"
    assert t.moment(nine_in_brussels) == moment


@pytest.mark.parametrize("language, count, tenths, percent", [
    ("nl", "1.234.567", "70,3", "70%"),
    ("en", "1,234,567", "70.3", "70%"),
    ("fr", "1\u202f234\u202f567", "70,3", "70\u00a0%"),
])
def test_numbers_the_readers_way_half_rounded_up(catalogs, language, count, tenths, percent):
    t = Translator(language, catalogs)
    assert t.decimal(1234567) == count
    assert t.decimal(70.25, 1) == tenths
    assert t.percent(0.7) == percent


def test_language_choice():
    assert normalise_language("fr-BE") == "fr" and normalise_language("EN") == "en"
    assert normalise_language("de") is None and normalise_language(None) is None
    assert language_or_default("de") == "nl" and language_or_default("en_GB") == "en"
