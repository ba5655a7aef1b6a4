"""The public pages' words in Dutch (default), English and French: the gateway's gettext catalog
(domain `pages`, services/gateway/locale/<language>/LC_MESSAGES/pages.po, every feature's
messages in one catalog) and the visitor's language (?lang= > cookie > Dutch).

Plain words, short sentences: many visitors have little time or limited Dutch. The catalog
loading, plurals and Babel's dates and numbers: kernel/i18n.py.
"""
from __future__ import annotations

from pathlib import Path

from kernel import i18n

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "pages"
LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English", "fr": "Français"}

CATALOGS = i18n.load_catalogs(LOCALE_DIR, DOMAIN)


def choose_language(query_value: str | None, cookie_value: str | None) -> str:
    """?lang= wins, then the remembered choice, then Dutch."""
    return i18n.normalise_language(query_value) or i18n.language_or_default(cookie_value)


def translator(language: str | None) -> i18n.Translator:
    """The pages' messages in `language` (Dutch for one we do not speak)."""
    return i18n.Translator(language, CATALOGS)
