"""The audit page words every line: each action, kind of action and kind of subject the accounts
service accepts has its words in every language of the gateway's catalog (the page builds those
ids at run time, so the extraction in test_catalogs cannot see them)."""
from __future__ import annotations

import pytest

from kernel.i18n import read_catalog
from kernel.rules import LANGUAGES
from services.accounts.api import AUDIT_ACTIONS, AUDIT_SUBJECTS
from services.gateway.core.i18n import DOMAIN, LOCALE_DIR

IDS = ([f"accounts_action.{action}" for action in AUDIT_ACTIONS]
       + [f"accounts_kind.{kind}" for kind in sorted({action.split(".")[0] for action in AUDIT_ACTIONS})]
       + [f"accounts_subject.{subject}" for subject in AUDIT_SUBJECTS])


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_action_kind_and_subject_has_words(language):
    translated = {message.id for message in read_catalog(LOCALE_DIR, language, DOMAIN) if message.string}
    assert [message_id for message_id in IDS if message_id not in translated] == []
