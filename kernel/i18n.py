"""What the gateway's pages and the notification mails share about languages: the gettext catalogs
read from .po files at start-up, the reader's language (and Dutch when we do not speak it), and
dates, times and numbers written the reader's way with Babel, in the centre's time zone.

Each service keeps its own catalog domain (the gateway `pages`, notifications `mail`) in
`<service>/locale/<language>/LC_MESSAGES/<domain>.po`. Message ids are symbolic keys
("confirmed_text"); the Dutch catalog holds the Dutch text and every catalog translates every id
(tests/unit/test_catalogs.py). Placeholders are str.format names ({title}). A plural message is
one id with a plural form per language's rule (`Translator.ngettext`). docs/TRANSLATIONS.md says
how to add or change a message.
"""
from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from babel import dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from kernel.config import CENTRE_TIMEZONE
from kernel.rules import LANGUAGES

DEFAULT_LANGUAGE = "nl"
# The Babel locale each language is written in: the centre is in Belgium; English the British way
# (day before month, 1,234.5), as its readers in Europe expect.
LOCALES = {"nl": "nl_BE", "en": "en_GB", "fr": "fr_BE"}


def catalog_path(locale_dir: Path, language: str, domain: str) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


def read_catalog(locale_dir: Path, language: str, domain: str) -> Catalog:
    with catalog_path(locale_dir, language, domain).open("rb") as source:
        return read_po(source, locale=language, domain=domain)


def load_catalogs(locale_dir: Path, domain: str) -> dict[str, Translations]:
    """Each language's catalog of `domain`, compiled in memory from its .po file. A message a
    language lacks (or has only as fuzzy) falls back to Dutch, then to its id."""
    catalogs = {}
    for language in LANGUAGES:
        compiled = io.BytesIO()
        # write_mo leaves out fuzzy and untranslated messages: they fall back
        write_mo(compiled, read_catalog(locale_dir, language, domain))
        compiled.seek(0)
        catalogs[language] = Translations(compiled, domain=domain)
    for language, translations in catalogs.items():
        if language != DEFAULT_LANGUAGE:
            translations.add_fallback(catalogs[DEFAULT_LANGUAGE])
    return catalogs


def normalise_language(value: str | None) -> str | None:
    """`value` as one of LANGUAGES ("EN", "fr-BE" included), or None."""
    if not value:
        return None
    value = value.strip().lower().replace("_", "-").split("-")[0]
    return value if value in LANGUAGES else None


def language_or_default(value: str | None) -> str:
    return normalise_language(value) or DEFAULT_LANGUAGE


def local(moment: datetime) -> datetime:
    return moment.astimezone(CENTRE_TIMEZONE)


class Translator:
    """The messages of one catalog domain, and dates and numbers, in one language.

    `t("key", title=...)` is the message with its placeholders filled in; `t.ngettext("key", n, ...)`
    the plural form the language's rule picks for n."""

    def __init__(self, language: str | None, catalogs: Mapping[str, Translations], date_width: str = "long"):
        self.language = language_or_default(language)
        self.date_width = date_width  # a day unless said otherwise: long, or full (with the weekday)
        self.locale = LOCALES[self.language]
        self._translations = catalogs[self.language]

    def __call__(self, key: str, **values) -> str:
        text = self._translations.gettext(key)
        return text.format(**values) if values else text

    gettext = __call__

    def ngettext(self, key: str, number: int, /, **values) -> str:
        # a symbolic id is its own plural id: the catalogs hold the words of every form
        return self._translations.ngettext(key, key, number).format(**values)

    def has(self, key: str) -> bool:
        return self._translations.gettext(key) != key

    def date(self, value: date | datetime, width: str | None = None) -> str:
        """'4 december 2026' (long), 'vrijdag 4 december 2026' (full), '4/12/2026' (short); a moment's
        day in the centre's time zone."""
        if isinstance(value, datetime):
            value = local(value).date()
        return dates.format_date(value, width or self.date_width, locale=self.locale)

    def time(self, moment: datetime, width: str = "short") -> str:
        """'09:00' (short), '09:00:00' (medium), in the centre's time zone."""
        return dates.format_time(moment, width, tzinfo=CENTRE_TIMEZONE, locale=self.locale)

    def moment(self, moment: datetime) -> str:
        """A day and a time, joined by the catalog's `moment` message ('4 december 2026 om 09:00')."""
        return self("moment", date=self.date(moment), time=self.time(moment))

    def decimal(self, value, digits: int = 0) -> str:
        """A number with the language's separators and exactly `digits` decimals, half rounded up
        (as people round, not a bank): 1.234,5 / 1,234.5 / 1\u202f234,5."""
        amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(amount, pattern, locale=self.locale)

    def percent(self, fraction) -> str:
        """A fraction as a whole percentage, the language's way: 70% / 70 %."""
        return numbers.format_percent(fraction, locale=self.locale)

    def currency(self, amount, currency: str = "EUR") -> str:
        """€ 12,50 / €12.50 / 12,50 €."""
        return numbers.format_currency(amount, currency, locale=self.locale)
