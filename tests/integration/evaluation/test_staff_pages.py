"""The staff's evaluation pages through the gateway: the activities with their response rate,
satisfaction and NPS, and one activity's figures, distributions and comments, computed from
submitted surveys; in each role that matters."""
from __future__ import annotations

import re

import requests

from services.gateway.service import GatewayService
from services.registration.service import RegistrationService
from tests.integration.evaluation.test_service import invite, token_of


def test_staff_read_the_figures_of_the_submitted_surveys(start, send, rpc, events, db, clock, gateway_url,
                                                         staff_headers, ops_headers):
    start(GatewayService, RegistrationService)
    invite(send, db, rpc, clock, people=[(f"reg-{n}", f"person-{n}") for n in range(1, 6)])
    by_registration = {e["data"]["registration_id"]: e["data"]["evaluation_id"]
                       for e in events.wait("evaluation.requested", 5)}
    answers = {"reg-1": (10, 10, "Meer pauzes <graag>"), "reg-2": (9, 9, None), "reg-3": (7, 8, None),
               "reg-4": (4, 2, None)}
    for registration_id, (satisfaction, recommend, better) in answers.items():
        token = token_of(rpc.invitation_for(by_registration[registration_id])["survey_url"])
        rpc.submit(token, {"satisfaction": satisfaction, "recommend": recommend, "could_be_better": better})
    events.wait("evaluation.submitted", 4)

    listing = requests.get(f"{gateway_url}/staff/evaluations?lang=en", headers=staff_headers, timeout=10)
    assert listing.status_code == 200
    row = re.search(r'<a href="/staff/evaluations/act-1">.*?</tr>', listing.text, re.DOTALL).group(0)
    cells = re.findall(r'<td class="number">([^<]*)</td>', row)
    assert cells == ["4 of 5", "80.0%", "75.0%", "25"]  # (10 + 9 + 7 + 4) / 4 * 10; 2 promoters - 1 detractor
    assert 'href="/staff/evaluations"' in listing.text  # the navigation's item

    report = requests.get(f"{gateway_url}/staff/evaluations/act-1?lang=nl", headers=staff_headers, timeout=10)
    assert report.status_code == 200
    text = report.text
    assert "<dd>80,0 %</dd>" in text and "<dd>75,0 %</dd>" in text
    assert "promotors 50,0 %, passieven 25,0 %, criticasters 25,0 %" in text
    satisfaction = text.split('id="d-satisfaction"', 1)[1].split("</table>", 1)[0]
    counts = dict(re.findall(r'<th scope="row" class="number">(\d+)</th><td class="number">(\d+)</td>', satisfaction))
    assert counts == {str(s): str(int(s in (10, 9, 7, 4))) for s in range(11)}
    assert '<meter class="bar" min="0" max="1" value="1"' in satisfaction
    assert "Meer pauzes &lt;graag&gt;" in text and "<graag>" not in text  # comments escaped
    assert "reg-1" not in text and "person-1" not in text

    assert requests.get(f"{gateway_url}/staff/evaluations/nope", headers=staff_headers, timeout=10).status_code == 404
    for path in ("/staff/evaluations", "/staff/evaluations/act-1"):
        assert requests.get(f"{gateway_url}{path}", headers=ops_headers, timeout=10).status_code == 403
        assert requests.get(f"{gateway_url}{path}", timeout=10).status_code == 401
