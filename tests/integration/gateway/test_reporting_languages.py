"""The live dashboard and the annual report follow the viewer's language (?lang=, then the cookie;
Dutch by default), and the staff navigation's /staff/reports/annual leads to this year's report."""
from __future__ import annotations

import json
import re
from datetime import datetime
from html import unescape

import pytest
import requests

from kernel.config import CENTRE_TIMEZONE

pytestmark = pytest.mark.usefixtures("platform")

YEAR = datetime.now(CENTRE_TIMEZONE).year
DASHBOARD_HEADINGS = {
    "nl": ("Live dashboard", "Doelen", "Het jaar tot vandaag", "Activiteiten met een alarm", "Per maand",
           f"Activiteiten van {YEAR}", "Geen activiteit met een alarm."),
    "fr": ("Tableau de bord en direct", "Objectifs", "L&#39;année à ce jour", "Activités en alerte", "Par mois",
           f"Activités de {YEAR}", "Aucune activité en alerte."),
}
REPORT_HEADINGS = {"nl": (f"Kengetallen {YEAR}", "Definities"), "fr": (f"Chiffres clés {YEAR}", "Définitions")}


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_the_dashboard_speaks_dutch_and_french(gateway_url, staff_headers, lang):
    page = requests.get(f"{gateway_url}/staff/dashboard/{YEAR}?lang={lang}", headers=staff_headers, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Language"] == lang
    assert f'<html lang="{lang}">' in page.text
    for heading in DASHBOARD_HEADINGS[lang]:
        assert heading in page.text, heading
    for english in ("Year to date", "Activities in alert", "Per month", "Refresh the figures"):
        assert english not in page.text, english
    words = json.loads(unescape(re.search(r'data-words="([^"]*)"', page.text).group(1)))
    assert words["decimal"] == "," and words["no_alert"] == unescape(DASHBOARD_HEADINGS[lang][-1])
    # the choice is remembered: the next page without ?lang= keeps it
    again = requests.get(f"{gateway_url}/staff/dashboard/{YEAR}", headers=staff_headers, timeout=10,
                         cookies=page.cookies)
    assert DASHBOARD_HEADINGS[lang][1] in again.text


def test_the_dashboard_is_dutch_by_default_and_its_problems_too(gateway_url, staff_headers):
    page = requests.get(f"{gateway_url}/staff/dashboard/{YEAR}", headers=staff_headers, timeout=10)
    assert "Het jaar tot vandaag" in page.text
    wrong = requests.get(f"{gateway_url}/staff/dashboard/1999?lang=fr", headers=staff_headers, timeout=10)
    assert wrong.status_code == 400 and "Choisissez une année entre 2000 et 2100." in wrong.text


@pytest.mark.parametrize("lang", ["nl", "fr"])
def test_the_annual_report_speaks_dutch_and_french(gateway_url, staff_headers, lang):
    page = requests.get(f"{gateway_url}/staff/reports/annual/{YEAR}?lang={lang}", headers=staff_headers, timeout=10)
    assert page.status_code == 200 and f'<html lang="{lang}">' in page.text
    for heading in REPORT_HEADINGS[lang]:
        assert heading in page.text, heading
    assert "Key figures" not in page.text


def test_the_annual_report_of_this_year_is_one_link_away(gateway_url, staff_headers, ops_headers):
    moved = requests.get(f"{gateway_url}/staff/reports/annual?lang=fr", headers=staff_headers, timeout=10,
                         allow_redirects=False)
    assert moved.status_code == 303 and moved.headers["Location"] == f"/staff/reports/annual/{YEAR}?lang=fr"
    followed = requests.get(f"{gateway_url}/staff/reports/annual", headers=staff_headers, timeout=10)
    assert followed.status_code == 200 and f"Kengetallen {YEAR}" in followed.text
    assert requests.get(f"{gateway_url}/staff/reports/annual", headers=ops_headers, timeout=10).status_code == 403
    assert requests.get(f"{gateway_url}/staff/reports/annual", timeout=10).status_code == 401
