"""The words of every message in Dutch, English and French (plain words, short sentences): the
mail catalog (domain `mail`, services/notifications/locale/<language>/LC_MESSAGES/mail.po).

Templates look them up with `_("key", name=...)` and `ngettext("key", n, ...)`; the values are
plain text (the HTML templates escape them). Dutch is the fallback for a language we do not have.
Days are written in full ("dinsdag 3 maart 2026"), in the centre's time zone (kernel/i18n.py).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kernel import i18n

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "mail"

CATALOGS = i18n.load_catalogs(LOCALE_DIR, DOMAIN)


def translator(language: str | None) -> i18n.Translator:
    """The mails' messages in `language` (Dutch for one we do not speak); days with their weekday."""
    return i18n.Translator(language, CATALOGS, date_width="full")


def format_range(t: i18n.Translator, starts_at: datetime, ends_at: datetime) -> str:
    """'dinsdag 3 maart 2026 van 09:00 tot 16:30', or both moments in full when the days differ."""
    if i18n.local(starts_at).date() == i18n.local(ends_at).date():
        return t("time_range_same_day", day=t.date(starts_at), start=t.time(starts_at), end=t.time(ends_at))
    return t("time_range", start=t.moment(starts_at), end=t.moment(ends_at))
