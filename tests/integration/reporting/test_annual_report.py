"""The annual report through the gateway: events of two years through the real reporting
service over RabbitMQ, then the printable HTML page, the CSV and the JSON, checked against
figures computed by hand below (targets: satisfaction >= 70 %, NPS > 0, reach >= 70 %)."""
from __future__ import annotations

import argparse
import csv
import io
from html.parser import HTMLParser

import pytest
import requests

from services.accounts.service import AccountsService
from services.gateway.core.auth import SESSION_COOKIE
from services.gateway.service import GatewayService
from services.reporting import prior
from services.reporting.service import ReportingService
from tests.integration.gateway.support import staff_session
from tests.integration.reporting import stream
from tests.integration.reporting.test_service import publish_and_wait

O1, O2, O3 = ("o1", "vereniging", True), ("o2", "beweging", True), ("o3", "overheid", False)


def two_years() -> list[dict]:
    s = stream.Stream()
    for org_id, org_type, recognised in (O1, O2, O3):
        s.org("2025-01-05T09:00:00+00:00", org_id, org_type, recognised)
    # 2025: one offline activity, 2 participants (3 person-days), 4 answers
    s.activity("2025-02-01T09:00:00+00:00", "b1", "2025-03-10T09:00:00+00:00", fmt="offline", dagdelen=2)
    s.attend("2025-03-10T16:00:00+00:00", "r1", "b1", "p1", O1, 1)
    s.attend("2025-03-10T16:00:00+00:00", "r2", "b1", "p2", O3, 2)
    s.emit("activity.completed", "2025-03-11T09:00:00+00:00", activity_id="b1")
    for n, (satisfaction, recommend) in enumerate(((8, 9), (7, 10), (7, 7), (6, 3)), 1):
        s.emit("evaluation.submitted", "2025-03-12T09:00:00+00:00", evaluation_id=f"e{n}", registration_id=f"x{n}",
               activity_id="b1", satisfaction=satisfaction, recommend=recommend, has_comment=False)
    # 2026: one online activity, 2 participants, 2 answers; a request declined with a referral
    s.activity("2026-02-01T09:00:00+00:00", "b2", "2026-04-01T09:00:00+00:00", fmt="online", dagdelen=1)
    s.attend("2026-04-01T16:00:00+00:00", "r3", "b2", "p1", O1, 1)
    s.attend("2026-04-01T16:00:00+00:00", "r4", "b2", "p3", O2, 1)
    s.emit("activity.completed", "2026-04-02T09:00:00+00:00", activity_id="b2")
    for n, (satisfaction, recommend) in enumerate(((6, 9), (6, 5)), 5):
        s.emit("evaluation.submitted", "2026-04-03T09:00:00+00:00", evaluation_id=f"e{n}", registration_id=f"x{n}",
               activity_id="b2", satisfaction=satisfaction, recommend=recommend, has_comment=False)
    s.emit("request.received", "2026-05-01T09:00:00+00:00", request_id="q1", organisation_id="o3",
           org_type="overheid", recognised=False, target_group="secondary", theme="bestuur", goal=None)
    s.emit("request.declined", "2026-05-02T09:00:00+00:00", request_id="q1", reason="long_term_coaching",
           referred_to="Coachingspunt")
    return s.events


# By hand. 2025: satisfaction (8+7+7+6)/4 x 10 = 70.0 (exactly the target: met); NPS: 2 promoters,
# 1 passive, 1 detractor of 4 = +25 (met); reach: o1 of the 2 recognised = 50.0 % (missed).
# 2026: satisfaction (6+6)/2 x 10 = 60.0 (missed); NPS 1 promoter, 1 detractor = 0 (not above 0:
# missed); reach: o1 and o2 of 2 = 100.0 % (met).
EXPECTED_CSV = {  # figure: (2025, 2026, target, status 2025, status 2026)
    "open_offer.activities": ("1", "1", "", "", ""),
    "open_offer.activities_by_format.offline": ("1", "0", "", "", ""),
    "open_offer.activities_by_format.online": ("0", "1", "", "", ""),
    "open_offer.dagdelen": ("2", "1", "", "", ""),
    "open_offer.participants": ("2", "2", "", "", ""),
    "open_offer.participants_by_org_type.vereniging": ("1", "1", "", "", ""),
    "open_offer.participants_by_org_type.beweging": ("0", "1", "", "", ""),
    "open_offer.participants_by_org_type.overheid": ("1", "0", "", "", ""),
    "open_offer.participations": ("3", "2", "", "", ""),
    "open_offer.primary_pct": ("50.0", "100.0", "", "", ""),
    "open_offer.satisfaction_pct": ("70.0", "60.0", ">= 70", "met", "missed"),
    "open_offer.evaluations": ("4", "2", "", "", ""),
    "open_offer.nps.score": ("25", "0", "> 0", "met", "missed"),
    "open_offer.nps.promoters_pct": ("50.0", "50.0", "", "", ""),
    "open_offer.recognised_reach.pct": ("50.0", "100.0", "", "", ""),
    "demand_driven.requests_received": ("0", "1", "", "", ""),
    "demand_driven.requests_referred": ("0", "1", "", "", ""),
    "totals.recognised_reach.pct": ("50.0", "100.0", ">= 70", "missed", "met"),
}


class TableRows(HTMLParser):
    """The report table's rows: figure -> (label, [(cell text, data-status)]), plus the caption and headers."""

    def __init__(self):
        super().__init__()
        self.rows, self.caption, self.headers = {}, "", []
        self._row = self._cell = None
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-figure" in attrs:
            self._row = [attrs["data-figure"], "", []]
        elif tag == "th" and self._row is not None and attrs.get("scope") == "row":
            self._in = "label"
        elif tag == "td" and self._row is not None and "goal" not in (attrs.get("class") or ""):
            self._cell = ["", attrs.get("data-status")]
        elif tag == "caption":
            self._in = "caption"
        elif tag == "th" and attrs.get("scope") == "col":
            self._in = "col"
            self.headers.append("")

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row[2].append((self._cell[0].strip(), self._cell[1]))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows[self._row[0]] = (self._row[1].strip(), self._row[2])
            self._row = None
        elif tag in ("th", "caption"):
            self._in = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data
        elif self._in == "label":
            self._row[1] += data
        elif self._in == "caption":
            self.caption += data
        elif self._in == "col":
            self.headers[-1] += data


def table(html: str) -> TableRows:
    parser = TableRows()
    parser.feed(html)
    return parser


@pytest.fixture
def platform(platform_config, container_factory):
    container_factory(ReportingService, platform_config).start()
    container_factory(GatewayService, platform_config).start()
    container_factory(AccountsService, platform_config).start()
    publish_and_wait(platform_config, two_years())
    return platform_config


def get(url, **kwargs):
    return requests.get(url, timeout=10, allow_redirects=False, **kwargs)


def test_the_printable_page_shows_both_years_with_the_targets_met_or_missed(platform, gateway_url, staff_headers):
    page = f"{gateway_url}/staff/reports/annual/2026"
    answer = get(page)
    assert answer.status_code == 401 and 'action="/staff/login"' in answer.text  # the sign-in form, coming back
    answer = get(page, headers=staff_headers)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    html = answer.text
    assert '<html lang="nl">' in html and "@media print" in html and "thead { display: table-header-group; }" in html
    parsed = table(html)
    assert parsed.caption == "Kengetallen 2026, met de vorige jaren en de doelstellingen"
    assert parsed.headers == ["Kengetal", "2025", "2026", "Doel"]  # 2024 and before: no figures
    label, cells = parsed.rows["open_offer.satisfaction_pct"]
    assert label == "Tevredenheid"
    assert cells == [("70,0\xa0%✓ gehaald", "met"), ("60,0\xa0%✗ niet gehaald", "missed")]
    assert parsed.rows["open_offer.nps.score"][1] == [("25✓ gehaald", "met"), ("0✗ niet gehaald", "missed")]
    assert parsed.rows["totals.recognised_reach.pct"][1] == [("50,0\xa0%✗ niet gehaald", "missed"),
                                                             ("100,0\xa0%✓ gehaald", "met")]
    assert parsed.rows["open_offer.participations"] == ("Deelnames (persoonsdagen)", [("3", None), ("2", None)])
    assert parsed.rows["open_offer.participants_by_org_type.overheid"][0] == "Deelnemers: overheid"
    assert parsed.rows["demand_driven.requests_referred"][1] == [("0", None), ("1", None)]
    assert '<td class="goal">≥\xa070\xa0%</td>' in html and '<td class="goal">&gt;\xa00</td>' in html

    english = table(get(f"{page}?lang=en&years=3", headers=staff_headers).text)
    assert english.caption == "Key figures 2026, with the previous years and the targets"
    assert english.headers == ["Figure", "2024", "2025", "2026", "Target"]  # three years asked for
    assert english.rows["open_offer.satisfaction_pct"] == ("Satisfaction", [
        ("– not measured", "not_measured"), ("70.0\xa0%✓ met", "met"), ("60.0\xa0%✗ missed", "missed")])
    french = get(f"{page}?lang=fr", headers=staff_headers)
    assert french.headers["Content-Language"] == "fr"
    assert table(french.text).rows["open_offer.nps.score"][1] == [("25✓ atteint", "met"), ("0✗ non atteint", "missed")]
    # the definitions the figures use, printed under the table
    assert "<h2 id=\"definitions-heading\">Definities</h2>" in html
    assert "in de tijdzone Europe/Brussels" in html
    assert ("Primaire doelgroep: verenigingen, bewegingen, landelijke vormingsinstellingen, volkshogescholen." in html)
    assert "Deelname: een persoonsdag, de som van de aanwezige dagen." in html
    assert "Groupe cible primaire : associations, mouvements, institutions nationales de formation, " \
           "universités populaires." in french.text

    # a browser signed in with a staff account (/staff/login) may open it too; a bad year is a 400 page
    cookie = {SESSION_COOKIE: staff_session(gateway_url).cookies[SESSION_COOKIE]}
    assert get(page, cookies=cookie).status_code == 200
    assert get(f"{gateway_url}/staff/reports/annual/lastyear", cookies=cookie).status_code == 400
    assert get(f"{page}?years=11", cookies=cookie).status_code == 400


def test_the_csv_has_one_row_per_figure_and_a_column_per_year_with_target_and_status(
        platform, gateway_url, staff_headers):
    url = f"{gateway_url}/api/kpis/annual/2026/report.csv"
    assert get(url).status_code == 401
    answer = get(url, headers=staff_headers)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="kengetallen-2026.csv"' in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["figure", "section", "label", "2025", "2026", "target", "status_2025", "status_2026"]
    by_figure = {row[0]: row for row in rows[1:]}
    assert len(by_figure) == len(rows) - 1
    for figure, expected in EXPECTED_CSV.items():
        row = by_figure[figure]
        assert (row[3], row[4], row[5], row[6], row[7]) == expected, figure
    assert by_figure["open_offer.satisfaction_pct"][1:3] == ["Aanbodgerichte werking (open aanbod)", "Tevredenheid"]
    assert by_figure["open_offer.avg_dagdelen_per_activity"][3:5] == ["2.0", "1.0"]
    assert by_figure["open_offer.participants_by_org_type.beweging"][2] == "Deelnemers: bewegingen"
    english = list(csv.reader(io.StringIO(get(f"{url}?lang=en&years=1", headers=staff_headers)
                                          .content.decode("utf-8-sig"))))
    assert english[0] == ["figure", "section", "label", "2026", "target", "status_2026"]
    satisfaction = next(row for row in english if row[0] == "open_offer.satisfaction_pct")
    assert satisfaction == ["open_offer.satisfaction_pct", "Open offer", "Satisfaction", "60.0", ">= 70", "missed"]


def test_the_json_report_composes_the_annual_documents_and_the_targets(platform, gateway_url, staff_headers):
    url = f"{gateway_url}/api/kpis/annual/2026/report"
    assert get(url).status_code == 401
    report = get(url, headers=staff_headers).json()
    assert report["year"] == 2026 and report["years"] == [2025, 2026]
    assert report["documents"] == [get(f"{gateway_url}/api/kpis/annual/{year}", headers=staff_headers).json()
                                   for year in (2025, 2026)]
    assert report["documents"] == [stream.expected_annual(two_years(), year) for year in (2025, 2026)]
    assert [(t["kpi"], t["rule"], t["threshold"], t["values"], t["status"]) for t in report["targets"]] == [
        ("satisfaction_pct", "at_least", 70.0, [70.0, 60.0], ["met", "missed"]),
        ("nps", "above", 0.0, [25, 0], ["met", "missed"]),
        ("recognised_reach_pct", "at_least", 70.0, [50.0, 100.0], ["missed", "met"]),
    ]
    figures = {f["figure"]: f for f in report["figures"]}
    assert figures["open_offer.participations"] == {
        "figure": "open_offer.participations", "section": "open_offer", "kind": "count", "values": [3, 2],
        "imported_values": [], "target": None}
    assert figures["open_offer.nps.score"]["target"] == {
        "kpi": "nps", "rule": "above", "threshold": 0.0, "status": ["met", "missed"]}
    assert report["definitions"] == {
        "period": "calendar_year", "time_zone": "Europe/Brussels",
        "primary_org_types": ["vereniging", "beweging", "landelijke_vormingsinstelling", "volkshogeschool"],
        "participant": "attended_registration", "participation": "person_day",
        "organisation_reached": "distinct_organisation_of_participants"}
    early = get(f"{gateway_url}/api/kpis/annual/2025/report", headers=staff_headers).json()
    assert early["years"] == [2025]  # nothing before 2025
    bad = get(f"{url}?years=zero", headers=staff_headers)
    assert bad.status_code == 400 and bad.json()["details"] == {"years": ["A number of years from 1 to 10."]}
    assert get(f"{gateway_url}/api/kpis/annual/1999/report", headers=staff_headers).status_code == 400


def test_imported_prior_years_show_in_their_own_columns_marked_imported(platform, gateway_url, staff_headers, tmp_path):
    """2011-2015 averages and 2016 from the centre's own table, imported with the ops command."""
    source = tmp_path / "prior.csv"
    source.write_text("period,figure,value\n"
                      "2011-2015,open_offer.activities,52\n2011-2015,open_offer.satisfaction_pct,81.5\n"
                      "2016,open_offer.activities,45\n2016,demand_driven.requests_delivered,77\n"
                      "2016,totals.activities,122\n2016,totals.organisations_reached_tracks_added,356\n",
                      encoding="utf-8")
    assert prior.run(platform, argparse.Namespace(action="import-prior", file=str(source)), io.StringIO()) == 0
    parsed = table(get(f"{gateway_url}/staff/reports/annual/2026", headers=staff_headers).text)
    assert parsed.headers == ["Kengetal", "2011-2015 (geïmporteerd)", "2016 (geïmporteerd)", "2025", "2026", "Doel"]
    assert parsed.rows["totals.activities"][1] == [("–niet gemeten", None), ("122", None), ("1", None), ("1", None)]
    assert parsed.rows["open_offer.activities"][1][:2] == [("52", None), ("45", None)]
    assert parsed.rows["open_offer.satisfaction_pct"][1][:2] == [("81,5\xa0%", None), ("–niet gemeten", None)]
    report = get(f"{gateway_url}/api/kpis/annual/2026/report", headers=staff_headers).json()
    assert [entry["period"] for entry in report["imported"]] == ["2011-2015", "2016"]
    assert report["years"] == [2025, 2026]  # the live years apart
    csv_rows = {row[0]: row for row in csv.reader(io.StringIO(
        get(f"{gateway_url}/api/kpis/annual/2026/report.csv", headers=staff_headers).text.lstrip("\ufeff")))}
    assert csv_rows["figure"][3:7] == ["imported_2011-2015", "imported_2016", "2025", "2026"]
    assert csv_rows["totals.organisations_reached_tracks_added"][3:5] == ["", "356"]
