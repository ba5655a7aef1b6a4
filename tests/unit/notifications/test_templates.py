"""Every template renders in Dutch, English and French; subjects differ by language; the HTML is
accessible (language, title, headings, link texts); the .ics is valid iCalendar with the right times;
the preview command works."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest

from kernel.rules import LANGUAGES as LANGS
from services.notifications import domain, i18n, preview, rendering


@pytest.mark.parametrize("template", list(rendering.TEMPLATES))
def test_every_template_renders_in_every_language_with_distinct_subjects(template):
    context = rendering.sample_context(template)
    rendered = {lang: rendering.render(template, lang, context) for lang in LANGS}
    assert len({r.subject for r in rendered.values()}) == 3, template
    assert len({r.text for r in rendered.values()}) == 3, template
    for lang, r in rendered.items():
        assert r.language == lang and r.subject and r.text.strip() and "{" not in r.text
        assert f'<html lang="{lang}">' in r.html and f"<title>{r.subject.replace(chr(39), '&#39;')}</title>" in r.html
        assert "<h1" in r.html and "<img" not in r.html
        if context.get("activity") and template != "kpi_alert":
            assert context["activity"]["title"] in r.text
        assert i18n.translator(lang)("sign_off") in r.text


def test_words_are_those_of_the_language():
    context = rendering.sample_context("registration_confirmed")
    subjects = {lang: rendering.render("registration_confirmed", lang, context).subject for lang in LANGS}
    assert subjects["nl"].startswith("Je bent ingeschreven")
    assert subjects["en"].startswith("You are registered")
    assert subjects["fr"].startswith("Votre inscription est confirmée")
    # an unknown language falls back to Dutch
    assert rendering.render("registration_confirmed", "de", context).subject == subjects["nl"]


def test_times_are_shown_in_the_centres_time_zone():
    context = rendering.sample_context("reminder")
    context["activity"] = {**context["activity"], "starts_at": "2026-03-03T08:00:00+00:00",
                           "ends_at": "2026-03-03T15:30:00+00:00"}
    assert "dinsdag 3 maart 2026 van 09:00 tot 16:30" in rendering.render("reminder", "nl", context).text
    assert "Tuesday, 3 March 2026 from 09:00 to 16:30" in rendering.render("reminder", "en", context).text
    assert "mardi 3 mars 2026 de 09:00 à 16:30" in rendering.render("reminder", "fr", context).text


def test_html_escapes_what_people_typed():
    context = rendering.sample_context("registration_confirmed")
    context["name"] = "<script>x</script>"
    html = rendering.render("registration_confirmed", "nl", context).html
    assert "<script>" not in html and "&lt;script&gt;" in html


def unfold(text: str) -> list[str]:
    assert "\n" not in text.replace("\r\n", ""), "bare LF in iCalendar"
    return [line for line in text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n") if line]


def test_ics_is_valid_icalendar_with_the_right_times():
    activity = {"activity_id": "a-1", "title": "Vorming; deel 1, met \\ en een heel lange titel " + "x" * 80,
                "starts_at": "2026-03-03T09:00:00+01:00", "ends_at": "2026-03-03T16:30:00+01:00",
                "location": "Brussel, zaal 2", "online_link": None}
    text = rendering.ics(activity, sequence=2, description="Regel 1\nRegel 2", now=datetime(2026, 1, 1, tzinfo=UTC))
    for raw_line in text.split("\r\n"):
        assert len(raw_line.encode("utf-8")) <= 75
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    fields = dict(line.split(":", 1) for line in lines)
    for required in ("VERSION", "PRODID", "UID", "DTSTAMP", "DTSTART"):
        assert required in fields
    assert fields["VERSION"] == "2.0"
    assert fields["DTSTART"] == "20260303T080000Z" and fields["DTEND"] == "20260303T153000Z"
    assert fields["DTSTAMP"] == "20260101T000000Z"
    assert fields["UID"] == "a-1@steunpunt-platform" and fields["SEQUENCE"] == "2"
    assert fields["SUMMARY"].startswith("Vorming\\; deel 1\\, met \\\\ en")
    assert fields["LOCATION"] == "Brussel\\, zaal 2" and fields["DESCRIPTION"] == "Regel 1\\nRegel 2"
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    assert all(re.match(r"^[A-Z-]+[:;]", line) for line in lines)


def test_the_email_has_text_html_and_the_calendar_item():
    rendered = rendering.render("registration_confirmed", "en", rendering.sample_context("registration_confirmed"))
    message = rendering.email_message(rendered, "Steunpunt <noreply@steunpunt.example>", "ann@example.org", "n-1")
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["Content-Language"] == "en" and parsed["X-Notification-Id"] == "n-1"
    assert parsed.get_body(("plain",)).get_content().startswith("Hello Ann Peeters,")
    assert "<a href=" in parsed.get_body(("html",)).get_content()
    (ics,) = parsed.iter_attachments()
    assert ics.get_content_type() == "text/calendar" and ics.get_filename() == "activity.ics"
    assert ics.get_param("method") == "PUBLISH"
    assert "DTSTART:" in ics.get_content()


def test_templates_without_activity_dates_have_no_attachment():
    for template, has_ics in rendering.TEMPLATES.items():
        rendered = rendering.render(template, "nl", rendering.sample_context(template))
        assert bool(rendered.attachments) == has_ics, template


def test_dedup_keys_and_alert_window():
    assert domain.dedup_key("e1", "person:p", "t") == domain.dedup_key("e1", "person:p", "t")
    assert len({domain.dedup_key(*k) for k in [("e1", "p", "t"), ("e2", "p", "t"), ("e1", "q", "t"),
                                                 ("e1", "p", "u")]}) == 4
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert domain.alert_due(None, now, 900)
    assert not domain.alert_due(now.replace(minute=0), now.replace(minute=10), 900)
    assert domain.alert_due(now.replace(minute=0), now.replace(minute=15), 900)
    body = domain.webhook_body("Alert", "line one\nline two", {"kpi": "nps"}, "e1")
    assert body["text"] == "**Alert**\nline one" and body["props"]["kpi"] == "nps"


def test_preview_command(capsys):
    assert preview.main(["waitlisted", "--lang", "fr"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Subject: Vous êtes sur la liste d'attente") and "liste d'attente : 3" in out
    assert preview.main(["promoted", "--format", "ics"]) == 0
    assert capsys.readouterr().out.startswith("BEGIN:VCALENDAR")
    assert preview.main(["--list"]) == 0
    assert "kpi_alert" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        preview.main(["nope"])


@pytest.mark.parametrize("lang", LANGS)
def test_request_acknowledgement_says_within_how_many_working_days(lang):
    five = rendering.render("request_acknowledgement", lang, {"name": "An", "answer_within": 5}).text
    one = rendering.render("request_acknowledgement", lang, {"name": "An", "answer_within": 1}).text
    assert "5" in five and i18n.translator(lang).ngettext("request_acknowledgement.answer_within", 1, days=1) in one
    assert i18n.translator(lang)("footer_requester") in five
    assert "activity.ics" not in five and not rendering.render("request_acknowledgement", lang, {}).attachments


@pytest.mark.parametrize("lang", LANGS)
def test_request_declined_gives_the_reason_in_plain_words_and_the_referral(lang):
    from kernel.contract import DECLINE_REASONS

    sentences = set()
    for reason in DECLINE_REASONS:
        rendered = rendering.render("request_declined", lang, {"name": "An", "decline_reason": reason,
                                                               "referred_to": None})
        sentence = i18n.translator(lang)(f"request_declined.reason.{reason}")
        assert sentence in rendered.text and (reason == "other" or reason not in rendered.text)  # "another"
        assert "Vrijwilligerspunt" not in rendered.text
        sentences.add(sentence)
    assert len(sentences) == len(DECLINE_REASONS)
    referred = rendering.render("request_declined", lang, {"name": "An", "decline_reason": "other",
                                                           "referred_to": "Vrijwilligerspunt <Brussel>"})
    referral = i18n.translator(lang)("request_declined.referral", referred_to="Vrijwilligerspunt <Brussel>")
    assert referral in referred.text
    assert "Vrijwilligerspunt &lt;Brussel&gt;" in referred.html and "<Brussel>" not in referred.html


def test_requester_recipient():
    assert domain.requester_recipient("r-1", None) is None
    assert domain.requester_recipient("r-1", {"name": "An", "email": None, "language": "en"}) is None
    assert domain.requester_recipient("r-1", {"name": "An", "email": "", "language": "en"}) is None
    recipient = domain.requester_recipient("r-1", {"name": "An", "email": "an@example.org", "language": "fr"},
                                           {"answer_within": 5})
    assert (recipient.ref, recipient.address, recipient.language, recipient.person_id) == (
        "request:r-1", "an@example.org", "fr", None)
    assert recipient.context == {"name": "An", "answer_within": 5}
    assert domain.requester_recipient("r-1", {"name": "An", "email": "a@b.org", "language": None}).language == "nl"


@pytest.mark.parametrize("lang", LANGS)
def test_request_overdue_reminds_staff_in_plain_words(lang):
    context = domain.overdue_context(
        {"request_id": "r-42", "received_at": "2026-03-02T09:30:00+00:00",
         "answer_due_at": "2026-03-09T23:00:00+00:00"},  # midnight after Monday 9 March in Brussels
        5, "https://steunpunt.example/")
    assert context["desk_url"] == "https://steunpunt.example/api/staff/requests/r-42"
    (desk,) = domain.overdue_recipients(None, ["desk@steunpunt.example"], lang, context)
    rendered = rendering.render("request_overdue", desk.language, desk.context)
    day = {"nl": "maandag 2 maart 2026", "en": "Monday, 2 March 2026", "fr": "lundi 2 mars 2026"}[lang]
    last = {"nl": "maandag 9 maart 2026", "en": "Monday, 9 March 2026", "fr": "lundi 9 mars 2026"}[lang]
    assert day in rendered.subject and last in rendered.text and "r-42" in rendered.text
    assert i18n.translator(lang)("request_overdue.unassigned") in rendered.text
    assert rendered.text.startswith(i18n.translator(lang)("greeting_anonymous"))
    assert i18n.translator(lang)("footer_staff") in rendered.text
    assert 'href="https://steunpunt.example/api/staff/requests/r-42"' in rendered.html
    (assignee,) = domain.overdue_recipients({"staff_id": "s-1", "name": "Bram", "email": "bram@steunpunt.example"},
                                            ["desk@steunpunt.example"], lang, context)
    assert (assignee.ref, assignee.address) == ("staff:bram@steunpunt.example", "bram@steunpunt.example")
    text = rendering.render("request_overdue", lang, assignee.context).text
    assert text.startswith(i18n.translator(lang)("greeting", name="Bram"))
    assert i18n.translator(lang)("request_overdue.assigned") in text


def test_overdue_recipients_the_assignee_else_the_desk_else_nobody():
    assert domain.overdue_recipients(None, [], "nl", {}) == []
    assert domain.overdue_recipients({"name": "Bram", "email": None}, [], "nl", {}) == []
    desk = domain.overdue_recipients(None, ["a@x.org", "b@x.org"], "en", {"request_id": "r"})
    assert [(r.ref, r.channel, r.language, r.person_id) for r in desk] == [
        ("staff:a@x.org", "email", "en", None), ("staff:b@x.org", "email", "en", None)]


def test_settings_desk_emails_fall_back_to_the_alert_emails():
    from services.notifications.delivery import Settings

    assert Settings.from_config({"NOTIFICATIONS": {"ALERT_EMAILS": "oncall@x.org"}}).desk_emails == ("oncall@x.org",)
    settings = Settings.from_config({"NOTIFICATIONS": {"ALERT_EMAILS": "oncall@x.org",
                                                       "REQUEST_DESK_EMAILS": "desk@x.org, balie@x.org"}})
    assert settings.desk_emails == ("desk@x.org", "balie@x.org")


ALERT = {"status": "firing", "fingerprint": "a1b2c3d4e5f60718", "startsAt": "2026-03-02T09:30:00.123456+00:00",
         "endsAt": None, "labels": {"alertname": "PlatformTargetDown", "severity": "critical", "job": "reporting",
                                    "instance": "reporting:9104"},
         "annotations": {"summary": "reporting (reporting:9104) is down", "runbook_url": "https://x.org/rb"}}


@pytest.mark.parametrize("lang", LANGS)
def test_ops_alert_firing_and_resolved(lang):
    firing = domain.ops_alert_context(ALERT)
    assert firing["labels"] == ["instance=reporting:9104", "job=reporting"]
    rendered = rendering.render("ops_alert", lang, firing)
    assert rendered.subject == "[critical] " + i18n.translator(lang)("ops_alert.subject.firing",
                                                              alertname="PlatformTargetDown")
    assert "reporting (reporting:9104) is down" in rendered.text and "job=reporting" in rendered.text
    assert "10:30" in rendered.text  # the start, in the centre's time zone
    assert '<a href="https://x.org/rb"' in rendered.html
    resolved = domain.ops_alert_context({**ALERT, "status": "resolved", "endsAt": "2026-03-02T10:00:00+00:00"})
    text = rendering.render("ops_alert", lang, resolved).text
    assert text.startswith(i18n.translator(lang)("ops_alert.resolved", alertname="PlatformTargetDown",
                                          since=i18n.translator(lang).moment(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))))
    body = domain.webhook_body(rendered.subject, rendered.text, firing, "c-1")
    assert body["text"].startswith(f"**{rendered.subject}**")
    assert body["props"]["alertname"] == "PlatformTargetDown" and body["props"]["fingerprint"] == "a1b2c3d4e5f60718"


def test_ops_alert_cause_is_the_alert_its_status_and_its_start():
    firing = domain.ops_alert_context(ALERT)
    assert domain.ops_alert_cause(firing) == "alertmanager:a1b2c3d4e5f60718:firing:20260302T093000Z"
    same_start = domain.ops_alert_context({**ALERT, "startsAt": "2026-03-02T10:30:00+01:00"})
    assert domain.ops_alert_cause(same_start) == domain.ops_alert_cause(firing)
    resolved = domain.ops_alert_context({**ALERT, "status": "resolved"})
    later = domain.ops_alert_context({**ALERT, "startsAt": "2026-03-02T11:00:00+00:00"})
    assert len({domain.ops_alert_cause(c) for c in (firing, resolved, later)}) == 3
    assert len(domain.ops_alert_cause(firing)) <= 100  # messages.cause_event_id


def test_ops_alert_due_firing_once_per_window_resolved_once_after_a_firing():
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    minutes = [t0 + timedelta(minutes=m) for m in range(0, 40)]
    assert domain.ops_alert_due("firing", None, None, t0, 900)
    assert not domain.ops_alert_due("firing", t0, None, minutes[10], 900)  # repeated or flapping
    assert domain.ops_alert_due("firing", t0, minutes[5], minutes[15], 900)
    assert not domain.ops_alert_due("resolved", None, None, t0, 900)  # nobody was told it fired
    assert domain.ops_alert_due("resolved", t0, None, minutes[1], 900)
    assert not domain.ops_alert_due("resolved", t0, minutes[1], minutes[2], 900)  # once
    assert domain.ops_alert_due("resolved", minutes[20], minutes[1], minutes[30], 900)  # the next episode


@pytest.mark.parametrize("lang, value, threshold", [("nl", "64,5", "70,0"), ("en", "64.5", "70.0"),
                                                    ("fr", "64,5", "70,0")])
def test_kpi_alert_writes_the_figures_the_readers_way(lang, value, threshold):
    text = rendering.render("kpi_alert", lang, rendering.sample_context("kpi_alert")).text
    assert value in text and threshold in text
    nps = rendering.render("kpi_alert", lang, {**rendering.sample_context("kpi_alert"), "value": -12, "threshold": 0})
    assert "-12" in nps.text


@pytest.mark.parametrize("lang, one, five", [
    ("nl", "Binnen 1 werkdag krijg", "Binnen 5 werkdagen krijg"),
    ("en", "within 1 working day.", "within 5 working days."),
    ("fr", "de 1 jour ouvrable.", "les 5 jours ouvrables."),
])
def test_working_days_are_a_plural(lang, one, five):
    def text(days):
        return rendering.render("request_acknowledgement", lang, {"name": "An", "answer_within": days}).text

    assert one in text(1) and five in text(5)
