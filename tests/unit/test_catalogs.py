"""Both gettext catalogs (the gateway's pages, the notification mails) are complete in Dutch,
English and French: every message id the code and the templates use (extracted as `pybabel
extract` does, with babel.cfg) is in every language, translated (not empty, not fuzzy), with the
same placeholders as the Dutch text and as many plural forms as the language has."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from kernel.config import ROOT
from kernel.i18n import DEFAULT_LANGUAGE, read_catalog
from kernel.rules import LANGUAGES
from services.gateway.core import i18n as pages_i18n
from services.notifications import i18n as mail_i18n

# t("key", ...), _("key", ...) and ngettext("key", n, ...): the keywords of babel.cfg's extraction
KEYWORDS = {"t": None, "_": None, "ngettext": (1,)}
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}|%\((\w+)\)[sdif]")
# (the package whose code and templates use the catalog, the catalog's folder, its domain)
DOMAINS = {
    "pages": (ROOT / "services" / "gateway", pages_i18n.LOCALE_DIR, pages_i18n.DOMAIN),
    "mail": (ROOT / "services" / "notifications", mail_i18n.LOCALE_DIR, mail_i18n.DOMAIN),
}


def used_ids(package: Path) -> dict[str, str]:
    """Every message id a literal call names in the package's code and templates -> where."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {message if isinstance(message, str) else message[0]: f"{filename}:{lineno}"
            for filename, lineno, message, _, _ in extract_from_dir(package, method_map, options_map, KEYWORDS)}


def messages(locale_dir: Path, language: str, domain: str) -> dict:
    return {message.id if isinstance(message.id, str) else message.id[0]: message
            for message in read_catalog(locale_dir, language, domain) if message.id}


def forms(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def placeholders(text: str) -> set[str]:
    return {brace or percent for brace, percent in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_extraction_finds_the_messages(domain):
    package, _, _ = DOMAINS[domain]
    used = used_ids(package)
    assert len(used) > 40, sorted(used)  # code and templates both read: not an empty extraction
    assert any(where.split(":")[0].endswith((".html", ".txt")) for where in used.values())


EVERY_CATALOG = pytest.mark.parametrize("domain, language", [(d, lang) for d in DOMAINS for lang in LANGUAGES])


@EVERY_CATALOG
def test_every_message_used_is_translated_in_every_language(domain, language):
    package, locale_dir, name = DOMAINS[domain]
    catalog = messages(locale_dir, language, name)
    dutch = messages(locale_dir, DEFAULT_LANGUAGE, name)
    missing = {key: where for key, where in used_ids(package).items() if key not in catalog}
    assert not missing, f"{domain}.po ({language}) lacks messages the code uses: {missing}"
    assert set(catalog) == set(dutch), (
        f"{domain}.po ({language}) differs from Dutch: lacks {sorted(set(dutch) - set(catalog))}, "
        f"has more {sorted(set(catalog) - set(dutch))}")
    for key, message in catalog.items():
        assert not message.fuzzy, f"{domain}.po ({language}): {key} is fuzzy"
        assert all(text.strip() for text in forms(message)), f"{domain}.po ({language}): {key} is not translated"


@EVERY_CATALOG
def test_translations_keep_the_placeholders_and_the_plural_forms(domain, language):
    _, locale_dir, name = DOMAINS[domain]
    num_plurals = read_catalog(locale_dir, language, name).num_plurals
    dutch = messages(locale_dir, DEFAULT_LANGUAGE, name)
    for key, message in messages(locale_dir, language, name).items():
        expected = set().union(*(placeholders(text) for text in forms(dutch[key])))
        for text in forms(message):
            assert placeholders(text) == expected, f"{domain}.po ({language}) {key}: {text!r}"
        if message.pluralizable or dutch[key].pluralizable:
            assert message.pluralizable and dutch[key].pluralizable, f"{domain}.po ({language}) {key}: plural in one"
            assert len(message.string) == num_plurals, f"{domain}.po ({language}) {key}: plural forms"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_each_message_id_is_defined_once(domain, language):
    """Two features that picked the same id would share one text (the last wins): a merge of two
    branches' catalog blocks must not hide that."""
    _, locale_dir, name = DOMAINS[domain]
    text = (locale_dir / language / "LC_MESSAGES" / f"{name}.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "(.+)"$', text, re.MULTILINE)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []
