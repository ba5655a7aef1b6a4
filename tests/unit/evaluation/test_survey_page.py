"""The public survey page and the staff routes of the gateway, driven directly with a stand-in for
the evaluation RPC proxy (no broker): markup for screen readers and phones, the three languages,
field errors, the pages for bad links, and what reaches the service."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from kernel.errors import Conflict, Gone, NotFound, ValidationFailed
from kernel.rules import LANGUAGES
from services.gateway.core.i18n import translator
from services.gateway.core.pages import FEATURE_TEMPLATES
from services.gateway.evaluations import routes as evaluation_routes
from tests.unit.gateway.fakes import FakeRegistration, gateway, request

SURVEY = {"evaluation_id": "ev-1", "activity_id": "act-1", "stage": "final", "closes_at": "2026-04-01T09:00:00+00:00"}


class FakeEvaluation:
    def __init__(self, submit_error=None):
        self.submitted = []
        self.submit_error = submit_error

    def get_survey(self, token):
        if token == "good":
            return SURVEY
        if token == "midway":
            return {**SURVEY, "stage": "midway"}
        if token == "expired":
            raise Gone("this survey is closed", {"reason": "closed"})
        if token == "used":
            raise Conflict("this survey was already answered", {"reason": "answered"})
        raise NotFound("survey not found")

    def submit(self, token, answers):
        if self.submit_error is not None:
            raise self.submit_error
        self.submitted.append((token, answers))
        return {"evaluation_id": "ev-1"}


def survey_gateway(evaluation=None):
    service = gateway(FakeRegistration())
    service.evaluation = evaluation or FakeEvaluation()
    return service


def page(response) -> str:
    return response.get_data(as_text=True)


def post(token="good", lang=None, **fields):
    return request("POST", f"/evaluations/{token}", query={"lang": lang} if lang else None, form=MultiDict(fields))


def test_the_survey_is_dutch_accessible_and_without_javascript():
    response = survey_gateway().page_evaluation(request(path="/evaluations/good"), "good")
    html = page(response)
    assert response.status_code == 200
    assert '<html lang="nl">' in html and '<meta name="viewport"' in html
    assert "<h1 id=\"form-heading\">Wat vond je van Vorming &lt;Samen&gt; sterk?</h1>" in html
    assert "<script" not in html
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Robots-Tag"] == "noindex"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # each 0-10 scale is a fieldset with a legend and a hint, every radio has its label
    for question, legend in (("satisfaction", "Hoe tevreden ben je over deze activiteit?"),
                             ("recommend",
                              "Hoe waarschijnlijk is het dat je deze activiteit aanraadt aan een collega?")):
        group = re.search(rf'<fieldset[^>]*id="g-{question}"[^>]*>(.*?)</fieldset>', html, re.S)
        assert group, question
        assert f'aria-describedby="h-{question}"' in group.group(0)
        assert f"<legend>{legend}" in group.group(1)
        radios = re.findall(rf'<input type="radio" id="([^"]+)" name="{question}" value="(\d+)"', group.group(1))
        assert [int(value) for _, value in radios] == list(range(11))
        for input_id, value in radios:
            assert f'<label for="{input_id}">{value}</label>' in group.group(1)
        assert radios[0][0] == f"f-{question}"  # the error summary links here
    for field in ("most_useful", "could_be_better", "comment"):
        assert re.search(rf'<label for="f-{field}">', html), field
        assert re.search(rf'<textarea id="f-{field}" name="{field}"[^>]*aria-describedby="h-{field}"', html)
    assert 'action="/evaluations/good?lang=nl"' in html and 'method="post"' in html


@pytest.mark.parametrize("lang, heading, button", [
    ("en", "What did you think of Vorming &lt;Samen&gt; sterk?", "Send answers"),
    ("fr", "Qu&#39;avez-vous pensé de Vorming &lt;Samen&gt; sterk ?", "Envoyer mes réponses"),
])
def test_english_and_french(lang, heading, button):
    html = page(survey_gateway().page_evaluation(request(path="/evaluations/good", query={"lang": lang}), "good"))
    assert f'<html lang="{lang}">' in html and heading in html and button in html


def test_a_midway_survey_says_so():
    html = page(survey_gateway().page_evaluation(request(path="/evaluations/midway"), "midway"))
    assert "Halfweg Vorming &lt;Samen&gt; sterk: hoe gaat het?" in html


@pytest.mark.parametrize("token, status, text", [
    ("forged", 404, "Deze link werkt niet"),
    ("expired", 410, "De vragenlijst is afgesloten"),
    ("used", 409, "Je hebt al geantwoord"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_links_get_a_clear_page_and_reach_no_submit(token, status, text, method):
    evaluation = FakeEvaluation()
    service = survey_gateway(evaluation)
    if method == "GET":
        response = service.page_evaluation(request(path=f"/evaluations/{token}"), token)
    else:
        response = service.page_evaluation(post(token, satisfaction="8", recommend="9"), token)
    assert response.status_code == status
    assert f"<h1>{text}</h1>" in page(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert evaluation.submitted == []


def test_missing_scores_get_field_errors_linked_from_the_summary():
    evaluation = FakeEvaluation()
    response = survey_gateway(evaluation).page_evaluation(post(comment="Goed zo"), "good")
    html = page(response)
    assert response.status_code == 400
    assert '<div class="error-summary" role="alert"' in html
    assert '<a href="#f-satisfaction">Tevredenheid – Kies een cijfer van 0 tot 10: hoe tevreden ben je?</a>' in html
    assert '<a href="#f-recommend">Aanraden aan een collega –' in html
    assert 'id="e-satisfaction"' in html and 'id="e-recommend"' in html
    assert 'aria-describedby="h-satisfaction e-satisfaction"' in html
    assert html.count('aria-invalid="true"') == 22  # every radio of both scales
    assert ">Goed zo</textarea>" in html  # what was typed stays
    assert html.startswith("<!doctype html>") and "<title>Er is een probleem:" in html
    assert evaluation.submitted == []


@pytest.mark.parametrize("fields, wrong", [
    ({"satisfaction": "11", "recommend": "5"}, "satisfaction"),
    ({"satisfaction": "5", "recommend": "-1"}, "recommend"),
    ({"satisfaction": "zeven", "recommend": "5"}, "satisfaction"),
    ({"satisfaction": "5", "recommend": "5", "most_useful": "x" * 2001}, "most_useful"),
])
def test_impossible_answers_get_field_errors(fields, wrong):
    evaluation = FakeEvaluation()
    response = survey_gateway(evaluation).page_evaluation(post(lang="en", **fields), "good")
    html = page(response)
    assert response.status_code == 400
    assert f'id="e-{wrong}"' in html and f'<a href="#f-{wrong}">' in html
    assert html.count('class="error-message"') == 1
    assert evaluation.submitted == []


def test_a_valid_answer_is_submitted_and_thanked_for():
    evaluation = FakeEvaluation()
    response = survey_gateway(evaluation).page_evaluation(
        post(satisfaction="0", recommend="10", most_useful=" De oefeningen ", could_be_better=""), "good")
    assert response.status_code == 201
    assert "<h1>Bedankt voor je antwoorden</h1>" in page(response)
    assert evaluation.submitted == [("good", {"satisfaction": 0, "recommend": 10, "most_useful": "De oefeningen",
                                              "could_be_better": None, "comment": None})]


def test_the_services_verdicts_on_answers_and_races():
    refused = FakeEvaluation(
        ValidationFailed("invalid answers", {"recommend": ["Must be a whole number from 0 to 10."]}))
    response = survey_gateway(refused).page_evaluation(post(satisfaction="3", recommend="4"), "good")
    assert response.status_code == 400 and 'id="e-recommend"' in page(response)
    raced = FakeEvaluation(Conflict("this survey was already answered"))
    assert survey_gateway(raced).page_evaluation(post(satisfaction="3", recommend="4"), "good").status_code == 409
    down = FakeEvaluation(RuntimeError("broker gone"))
    response = survey_gateway(down).page_evaluation(post(satisfaction="3", recommend="4"), "good")
    assert response.status_code == 503 and "even niet bereikbaar" in page(response)


def test_staff_routes_need_the_staff_token():
    service = survey_gateway()
    for handler, args in ((service.staff_list_evaluation_reports, ()), (service.staff_evaluation_report, ("a",)),
                          (service.staff_export_evaluations, ("a",))):
        response = handler(request(path="/api/staff/evaluations/activities"), *args)
        assert response.status_code == 401
        assert json.loads(response.get_data())["error"] == "unauthorized"


def test_export_filename_is_safe():
    assert evaluation_routes._filename('a"b/../c') == "evaluations-abc.csv"


# --- the strings ---------------------------------------------------------------------------------------------


def test_every_key_the_survey_uses_exists():
    used = set()
    sources = [*FEATURE_TEMPLATES["evaluations"].glob("*.html"), Path(evaluation_routes.__file__)]
    for source in sources:
        text = source.read_text()
        used |= set(re.findall(r"""\b(?:t|_|ngettext)\(\s*f?["']([a-z0-9_]+)["']\s*[,)]""", text))
        used |= set(re.findall(r"""page\.(?:message|error)\(\s*(?:\d+,\s*)?["']([a-z0-9_]+)["']""", text))
    used |= set(evaluation_routes.FIELD_LABELS.values())
    used |= {f"ev_q_{q}" for q in evaluation_routes.SCORE_FIELDS}
    used |= {f"ev_hint_{q}" for q in evaluation_routes.SCORE_FIELDS}
    used |= {f"ev_err_{q}_required" for q in evaluation_routes.SCORE_FIELDS}
    assert "ev_submit" in used and "ev_invalid_title" in used
    for language in LANGUAGES:
        assert not {key for key in used if not translator(language).has(key)}, language


def test_the_survey_works_without_the_activity_title():
    class Down(FakeRegistration):
        def get_activity(self, activity_id):
            raise RuntimeError("registration is down")

    service = survey_gateway()
    service.registration = Down()
    response = service.page_evaluation(request(path="/evaluations/good"), "good")
    assert response.status_code == 200
    assert '<h1 id="form-heading">Wat vond je ervan?</h1>' in page(response)
