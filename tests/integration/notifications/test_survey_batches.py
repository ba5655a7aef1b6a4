"""Survey mails in batches over the real RabbitMQ, the real registration and evaluation
services and a real SMTP server: 30 `evaluation.requested` at once -> exactly one mail each; the same
30 delivered again -> still 30. With a temporary SMTP failure and a refused address in the batch:
the rest goes out once, the temporary failures are sent on the one-event fallback, the refused one
ends as notification.failed and in the dead-letter queue."""
from __future__ import annotations

from benchmarks.notifications_bench import large_activity, open_surveys
from kernel.envelope import new_event
from services.evaluation.service import EvaluationService
from tests.helpers import drain_queue, wait_for
from tests.integration.notifications.conftest import publish

PEOPLE = 30


def _surveys(config, container_factory):
    """30 registrations and their open surveys, inserted as the benchmark does (no mails of their own),
    as the evaluation service's invitation step leaves them before `evaluation.requested`; the events."""
    container_factory(EvaluationService, config).start()
    activity_id, registration_ids = large_activity(config, PEOPLE)
    survey_ids = open_surveys(config, activity_id, registration_ids)
    return [new_event("evaluation", "evaluation.requested", {
        "evaluation_id": eid, "registration_id": rid, "activity_id": activity_id})
        for eid, rid in zip(survey_ids, registration_ids, strict=True)]


def _survey_mails(smtp) -> list:
    return smtp.messages()  # nothing else is sent in these tests


def _invitations_sent(spy) -> list:
    return [e for e in spy.poll() if e["event_type"] == "notification.sent"
            and e["data"]["template"] == "evaluation_invitation"]


def test_thirty_invitations_at_once_are_sent_once_each(smtp_factory, start_platform, notif_config,
                                                       container_factory, notifications, spy):
    smtp = smtp_factory()
    start_platform(smtp)
    events = _surveys(notif_config, container_factory)
    for envelope in events:
        publish(notif_config["AMQP_URI"], envelope)
    wait_for(lambda: len(_survey_mails(smtp)) >= PEOPLE, timeout=30, message="30 survey mails")
    wait_for(lambda: len(_invitations_sent(spy)) >= PEOPLE, timeout=15, message="30 invitations logged as sent")
    mails = _survey_mails(smtp)
    assert sorted(m["To"] for m in mails) == sorted(f"p{n}@example.org" for n in range(PEOPLE))
    assert all("/evaluations/" in m.get_body(preferencelist=("plain",)).get_content() for m in mails)

    for envelope in events:  # delivered again: nothing goes out twice
        publish(notif_config["AMQP_URI"], envelope)
    spy.settle(2.0)
    assert len(_survey_mails(smtp)) == PEOPLE and len(_invitations_sent(spy)) == PEOPLE
    rows = [r for r in notifications.list_notifications(limit=1000) if r["template"] == "evaluation_invitation"]
    assert len(rows) == PEOPLE and {r["status"] for r in rows} == {"sent"} and {r["attempts"] for r in rows} == {1}


def test_a_failing_mail_in_a_batch_is_retried_or_dead_lettered_alone(smtp_factory, start_platform,
                                                                      notif_config, container_factory,
                                                                      notifications, spy):
    smtp = smtp_factory(fail_first=3, refuse=["p7@example.org"])  # three 451s, one 550
    start_platform(smtp)
    events = _surveys(notif_config, container_factory)
    drain_queue(notif_config["AMQP_URI"], "platform.dead-letter")
    for envelope in events:
        publish(notif_config["AMQP_URI"], envelope)
    wait_for(lambda: len(_survey_mails(smtp)) >= PEOPLE - 1, timeout=60, message="29 survey mails")
    (failed,) = spy.wait("notification.failed", timeout=30)
    assert failed["data"]["template"] == "evaluation_invitation"
    dead = wait_for(lambda: drain_queue(notif_config["AMQP_URI"], "platform.dead-letter"), timeout=15,
                    message="the dead letter")
    assert len(dead) == 1 and dead[0].headers["x-original-queue"].endswith("notifications.on_evaluation_requested")
    assert dead[0].headers["x-error-type"] == "GaveUp"
    wait_for(lambda: len(_invitations_sent(spy)) >= PEOPLE - 1, timeout=15, message="29 invitations logged as sent")
    spy.settle(1.0)
    mails = _survey_mails(smtp)
    assert len(mails) == PEOPLE - 1 and "p7@example.org" not in {m["To"] for m in mails}
    rows = {r["recipient"]: r for r in notifications.list_notifications(limit=1000)
            if r["template"] == "evaluation_invitation"}
    assert len(rows) == PEOPLE
    assert sorted(r["status"] for r in rows.values()) == ["failed"] + ["sent"] * (PEOPLE - 1)
    assert all(r["attempts"] == 1 for r in rows.values())  # a batch's own try is not counted against anyone
