"""Satisfaction surveys end to end over the real RabbitMQ and a real SMTP server: an activity is completed ->
each attendee gets one survey mail in their language with a working personal link -> answering
through the gateway's page emits evaluation.submitted with the right values; the link then says
it was used; the one reminder goes only to whoever did not answer; the survey closes (410).
The evaluation service's clock is moved by the test; everything else runs as in production."""
from __future__ import annotations

import re
from datetime import timedelta

import requests
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, func, select

from kernel.envelope import new_event
from kernel.tables import utcnow
from services.evaluation.models import activities, attendance
from services.evaluation.service import EvaluationService
from services.gateway.service import GatewayService
from services.notifications.service import NotificationsService
from services.registration.service import RegistrationService
from tests.helpers import EventSpy, wait_for
from tests.integration.evaluation.support import MovableClock, with_clock
from tests.integration.gateway.support import CSRF_FIELD, activity_payload, iso, registration_payload
from tests.integration.notifications.conftest import publish

TITLE = "Vorming: samen evalueren"
SURVEY_LINK = re.compile(r"(https?://\S+/evaluations/[A-Za-z0-9._-]+\?lang=(?:nl|en|fr))")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def survey_mails(smtp, subject_start: str) -> list:
    return [m for m in smtp.messages() if str(m["Subject"]).startswith(subject_start)]


def link_in(message) -> str:
    (link,) = set(SURVEY_LINK.findall(text_of(message)))
    assert link in message.get_body(preferencelist=("html",)).get_content()
    return link


def test_attendees_get_one_survey_mail_whose_link_answers_the_survey(smtp_factory, notif_config, container_factory,
                                                                     gateway_url):
    smtp = smtp_factory()
    config = notif_config
    config["NOTIFICATIONS"]["SMTP_PORT"] = smtp.port
    config["EVALUATION"].update(LINK_SECRET="mail-test-secret", INVITE_DELAY_HOURS=2, REMINDER_AFTER_DAYS=7,
                                CLOSE_AFTER_DAYS=21, DUE_CHECK_SECONDS=3600)
    evaluation_events = EventSpy(config["AMQP_URI"], "evaluation")
    notification_events = EventSpy(config["AMQP_URI"], "notifications")
    clock = MovableClock()
    with_clock(container_factory(EvaluationService, config), clock).start()
    for cls in (RegistrationService, NotificationsService, GatewayService):
        container_factory(cls, config).start()

    now = utcnow()
    ends = now + timedelta(hours=1)
    with ServiceRpcProxy("registration", config, timeout=30) as registration, \
            ServiceRpcProxy("evaluation", config, timeout=30) as evaluation:
        activity = registration.create_activity(activity_payload(
            title=TITLE, starts_at=iso(now - timedelta(hours=2)), ends_at=iso(ends), capacity=10,
            registration_opens_at=None, registration_closes_at=iso(ends)))
        activity_id = activity["activity_id"]
        ann = registration.register(activity_id, registration_payload(name="Ann Peeters", email="ann@example.org"))
        bob = registration.register(activity_id, registration_payload(name="Bob Smith", email="bob@example.org",
                                                                      language="en"))
        registration.register(activity_id, registration_payload(name="Cas Janssens", email="cas@example.org"))
        for person in (ann, bob):  # Cas did not come
            registration.record_attendance(person["registration_id"], 1)
        registration.complete_activity(activity_id)

        # the service's timer would do this; the delay after the end is 2 hours
        wait_for(lambda: _known(config, activity_id), timeout=15,
                 message="the completion and both attendances known to the evaluation service")
        assert evaluation.run_due()["invited"] == 0  # not before the end plus the delay
        clock.set(ends + timedelta(hours=2, minutes=1))
        assert evaluation.run_due()["invited"] == 2
        requested = evaluation_events.wait("evaluation.requested", 2)

        wait_for(lambda: len(survey_mails(smtp, "Wat vond je van")) == 1
                 and len(survey_mails(smtp, "What did you think of")) == 1, message="two survey mails")
        (to_ann,) = survey_mails(smtp, "Wat vond je van")
        (to_bob,) = survey_mails(smtp, "What did you think of")
        assert (to_ann["To"], to_bob["To"]) == ("ann@example.org", "bob@example.org")
        assert to_ann["Subject"] == f"Wat vond je van {TITLE}?" and to_bob["Content-Language"] == "en"
        ann_link, bob_link = link_in(to_ann), link_in(to_bob)
        assert ann_link.startswith(f"{gateway_url}/evaluations/") and ann_link.endswith("?lang=nl")
        assert bob_link.endswith("?lang=en") and ann_link.split("?")[0] != bob_link.split("?")[0]
        assert not any(m["To"] == "cas@example.org" and "evaluations/" in text_of(m) for m in smtp.messages())

        # one mail each, also when evaluation.requested is delivered again
        publish(config["AMQP_URI"], requested[0])
        wait_for(lambda: len([e for e in notification_events.poll() if e["data"]["template"] ==
                              "evaluation_invitation"]) >= 2, message="two invitations logged as sent")
        notification_events.settle(0.5)
        assert len(survey_mails(smtp, "Wat vond je van")) + len(survey_mails(smtp, "What did you think of")) == 2

        # the link opens the survey in the participant's language, and answering it works
        browser = requests.Session()  # keeps the form's CSRF cookie
        page = browser.get(ann_link, timeout=10)
        assert page.status_code == 200 and '<html lang="nl">' in page.text
        assert f"Wat vond je van {TITLE}?" in page.text
        csrf = {"csrf_token": CSRF_FIELD.search(page.text)[1]}
        answered = browser.post(ann_link, data={"satisfaction": "9", "recommend": "10", **csrf,
                                                "most_useful": "De voorbeelden uit de praktijk", "comment": ""},
                                timeout=10)
        assert answered.status_code == 201 and "Bedankt voor je antwoorden" in answered.text
        (submitted,) = evaluation_events.wait("evaluation.submitted")
        ann_request = next(e for e in requested if e["data"]["registration_id"] == ann["registration_id"])
        assert submitted["data"] == {
            "evaluation_id": ann_request["data"]["evaluation_id"], "registration_id": ann["registration_id"],
            "activity_id": activity_id, "satisfaction": 9, "recommend": 10, "has_comment": True,
        }
        assert "praktijk" not in str(submitted)
        again = browser.post(ann_link, data={"satisfaction": "1", "recommend": "1", **csrf}, timeout=10)
        assert again.status_code == 409 and "Je hebt al geantwoord" in again.text
        assert requests.get(bob_link, timeout=10).status_code == 200  # Bob's own link is still open

        # a reminder that crossed Ann's answer (say, another instance's) sends her nothing
        publish(config["AMQP_URI"], new_event("evaluation", "evaluation.reminded", ann_request["data"]))

        # a week later: one reminder, only to Bob, with his same link
        clock.advance(days=7, hours=1)
        assert evaluation.run_due()["reminded"] == 1
        wait_for(lambda: survey_mails(smtp, "Reminder: what did you think of"), message="the reminder")
        (reminder,) = survey_mails(smtp, "Reminder: what did you think of")
        # notification.sent follows the mail (recorded, then relayed): wait for it, then count
        wait_for(lambda: [e["data"]["template"] for e in notification_events.poll()].count("evaluation_reminder"),
                 message="the reminder logged as sent")
        assert [e["data"]["template"] for e in notification_events.settle(0.5)].count("evaluation_reminder") == 1
        assert reminder["To"] == "bob@example.org" and link_in(reminder) == bob_link
        assert evaluation.run_due()["reminded"] == 0

        # three weeks after the invitation the survey closes
        clock.advance(days=14)
        assert evaluation.run_due()["closed"] == 1
        closed = requests.get(bob_link, timeout=10)
        assert closed.status_code == 410 and "The survey is closed" in closed.text
        answered = browser.post(bob_link, data={"satisfaction": "5", "recommend": "5", **csrf}, timeout=10)
        assert answered.status_code == 410
        notification_events.settle(0.5)
        assert survey_mails(smtp, "Herinnering") == []
        evaluation_events.settle(0.3)
        assert len(evaluation_events.of_type("evaluation.submitted")) == 1


def _known(config, activity_id) -> bool:
    """The completion and both attendances have reached the evaluation service (its own database)."""
    engine = create_engine(config["DATABASES"]["evaluation"])
    try:
        with engine.connect() as connection:
            status = connection.execute(select(activities.c.status)
                                        .where(activities.c.activity_id == activity_id)).scalar()
            attendees = connection.execute(select(func.count()).select_from(attendance)
                                           .where(attendance.c.activity_id == activity_id)).scalar()
    finally:
        engine.dispose()
    return status == "completed" and attendees == 2
