"""SIGKILL of each service in turn during a steady stream of domain operations, then a restart:
in the end reporting's KPI documents equal those of an undisturbed run of the same events, every
event was counted once, and no participant or requester got a mail twice (or not at all).

The real registration, requests, reporting and notifications services run as `nameko run`
processes on the test's own vhost. The driver (driver.py) keeps calling registration's and
requests' RPC API. In turn each service is frozen (SIGSTOP) until there is demonstrably work in
its hands (a caller waiting on it, made sure of by one extra call; events published for it and
not yet handled), then SIGKILLed and started again while the stream goes on.

The undisturbed figures: the events the producers actually committed (their outboxes, which
also hold whatever a killed in-flight call did or did not commit) fed once, in order, in-process
through reporting's own write path into a fresh database.
"""
from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

from sqlalchemy import select

from kernel.config import CENTRE_TIMEZONE
from kernel.topology import consumers_of, delay_queue
from services.notifications.models import captured_mail, messages
from services.notifications.service import NotificationsService
from tests.helpers import broker_idle, queue_counts, wait_for
from tests.integration.faults.driver import Driver
from tests.integration.faults.support import (
    REPORTING_CONSUMER,
    REPORTING_TYPES,
    Databases,
    activity_ids,
    assert_as_undisturbed,
    fault_config,
    queue_depths,
    service_documents,
    wait_until_up,
    years_of,
)

SERVICES = ("registration", "requests", "reporting", "notifications")
# (victim, share of the activity rounds done when it is killed)
KILLS = (("registration", 0.12), ("reporting", 0.32), ("notifications", 0.52), ("requests", 0.72))
ACTIVITIES = 40  # about 20 events each
REQUESTS = 21
# the mails a registration calls for, written out here (not read from notifications' code)
CREATED_TEMPLATES = {"confirmed": "registration_confirmed", "waitlisted": "waitlisted"}


def test_sigkill_of_each_service_in_turn_loses_and_double_counts_nothing(
    platform_config, processes, migrated_templates, tmp_path
):
    config = fault_config(platform_config)
    group = processes(config)
    group.start(*SERVICES)
    dbs = Databases(config)
    began, timings = time.monotonic(), {}
    try:
        wait_until_up(config, group, *SERVICES)
        timings["up"] = time.monotonic() - began
        driver = Driver(config, activities=ACTIVITIES, requests_=REQUESTS, held_back=2)
        driver.set_up()
        driver.start()
        work_at_kill, in_flight_at_kill = {}, {}
        for victim, share in KILLS:
            wait_for(lambda share=share: driver.progress() >= share, timeout=300, interval=0.1,
                     message=f"{share:.0%} of the stream before killing {victim}")
            work_at_kill[victim] = kill_with_work_in_hand(victim, group, dbs, driver, in_flight_at_kill)
            assert driver.progress() < 1, f"the stream was over when {victim} was killed; it proves too little"
            killed = time.monotonic()
            group[victim].start()
            wait_until_up(config, group, victim)
            timings[f"restart {victim}"] = round(time.monotonic() - killed, 1)
        driver.release()
        driver.wait(timeout=300)

        timings["stream"] = time.monotonic() - began
        try:
            wait_for(lambda: not unsettled(config, dbs), timeout=240, interval=1, message="the platform to settle")
        except AssertionError as exc:
            queues = queue_counts(config["AMQP_URI"])
            raise AssertionError(f"{exc}: {unsettled(config, dbs)}; queues: {queues}") from None
        # nothing more can arrive once no queue holds a message, ready or delivered and unacknowledged
        wait_for(lambda: broker_idle(config["AMQP_URI"], consumed_queues(config)), timeout=120, interval=0.5,
                 message="the consumers' queues empty and every delivery acknowledged")
        assert not unsettled(config, dbs)
        timings["settled"] = time.monotonic() - began
        events = dbs.events("registration", "requests")
        years, activities = years_of(events), activity_ids(events)
        until = datetime.now(CENTRE_TIMEZONE).date()
        got = service_documents(config, years, activities, until)
    except BaseException:
        print(group.logs())
        raise
    finally:
        group.stop_all()

    counts = Counter(e["event_type"] for e in events)
    print("events:", dict(counts), "work at kill:", work_at_kill, "timings:", timings,
          "driver failures:", driver.failures)
    assert sum(counts.values()) >= 650 and counts["attendance.recorded"] >= 150 and counts["request.delivered"]
    # Only a call caught by a kill may fail (redelivered to the restarted service, it may run twice
    # and answer "already done"): one in flight on the killed service, or a requests call waiting on
    # registration's answer (get_organisation) when registration was killed. Reporting and
    # notifications serve no caller of the driver. So, per service, at most the calls in flight then.
    may_fail = {
        "registration": in_flight_at_kill["registration"]["registration"],
        "requests": in_flight_at_kill["requests"]["requests"] + in_flight_at_kill["registration"]["requests"],
    }
    failed = Counter(service for service, _, _ in driver.failures)
    assert set(failed) <= set(may_fail) and all(failed[s] <= may_fail[s] for s in failed), (
        driver.failures, in_flight_at_kill)

    # reporting counted each event once: exactly the consumed ones the producers committed
    wanted = {e["event_id"] for e in events if e["event_type"] in REPORTING_TYPES}
    assert dbs.processed("reporting", REPORTING_CONSUMER) == wanted

    # ... and its documents are those of an undisturbed run of the same events
    reference_url = migrated_templates.sqlite_copy("reporting", tmp_path / "undisturbed-reporting.db")
    assert_as_undisturbed(got, events, reference_url, config, years, activities, until)

    # notifications: every mail that had to go out went out once; none went twice
    must, may = expected_mails(events)
    sent = sent_mails(dbs)
    twice = {key: n for key, n in sent.items() if n > 1}
    assert not twice, f"mails sent more than once: {twice}"
    assert not must - set(sent), f"mails never sent: {sorted(must - set(sent))[:10]}"
    assert not set(sent) - must - may, f"unexpected mails: {sorted(set(sent) - must - may)[:10]}"
    sent_events = [e for e in dbs.events("notifications") if e["event_type"] == "notification.sent"]
    assert len(sent_events) == len({e["data"]["notification_id"] for e in sent_events}) == sum(sent.values())
    dbs.dispose()


def kill_with_work_in_hand(victim: str, group, dbs: Databases, driver: Driver, in_flight_at_kill: dict) -> int:
    """Freeze `victim` until it demonstrably holds unfinished work, then SIGKILL it; how much work.
    Records the driver's calls in flight at the kill, per service, in `in_flight_at_kill[victim]`."""
    process = group[victim]
    if victim in ("registration", "requests"):  # producers: a caller is waiting on the frozen service
        process.freeze()
        # the lanes may be between calls (the requests lane waits for the activity rounds), or done
        driver.call_in_background(victim)
        work = wait_for(lambda: driver.in_flight[victim], timeout=60, interval=0.05,
                        message=f"a call waiting on the frozen {victim}")
    elif victim == "reporting":  # events published for it and not handled
        process.freeze()

        def backlog():
            published = {e["event_id"] for e in dbs.events("registration", "requests", published_only=True)
                         if e["event_type"] in REPORTING_TYPES}
            late = len(published - dbs.processed("reporting", REPORTING_CONSUMER))
            return late if late >= 20 else 0

        work = wait_for(backlog, timeout=60, interval=0.3, message="a backlog for the frozen reporting")
    else:  # notifications: registrations it has to write about, published since it froze
        created = lambda: sum(1 for e in dbs.events("registration", published_only=True)  # noqa: E731
                              if e["event_type"] == "registration.created")
        at_freeze = created()
        process.freeze()
        work = wait_for(lambda: max(0, created() - at_freeze - 4), timeout=60, interval=0.3,
                        message="registrations for the frozen notifications")
    # the driver's lanes are green threads of this process: none runs between the count and the kill
    in_flight_at_kill[victim] = Counter(driver.in_flight)
    process.kill()
    return work


def notification_queues() -> list[str]:
    return [f"evt-{s.bindings[0][0]}-{s.bindings[0][1]}--{s.service_name}.{s.method_name}"
            for s in consumers_of(NotificationsService)]


def consumed_queues(config: dict) -> list[str]:
    """The queues of the event consumers under test (reporting's, notifications') and the retries'."""
    return ["evt-batch--reporting.on_events", *notification_queues(),
            *(delay_queue(ms).name for ms in config["EVENTS"]["RETRY_DELAYS_MS"])]


def unsettled(config: dict, dbs: Databases) -> str:
    """What is still under way ("" once everything is published, consumed and sent and no queue
    holds anything)."""
    for service in ("registration", "requests", "notifications"):
        if count := dbs.unpublished(service):
            return f"{service}'s outbox holds {count} unpublished events"
    events = dbs.events("registration", "requests")
    wanted = {e["event_id"] for e in events if e["event_type"] in REPORTING_TYPES}
    if late := wanted - dbs.processed("reporting", REPORTING_CONSUMER):
        return f"reporting has not handled {len(late)} events"
    must, _ = expected_mails(events)
    if unsent := must - set(sent_mails(dbs)):
        return f"{len(unsent)} mails not sent, e.g. {sorted(unsent)[:3]}"
    unfinished = dbs.rows("notifications", select(messages.c.notification_id).where(
        messages.c.status.in_(("pending", "sending"))))
    if unfinished:
        return f"{len(unfinished)} notifications pending or sending"
    depths = {name: depth for name, depth in queue_depths(config["AMQP_URI"], consumed_queues(config)).items()
              if depth}
    return f"queues not empty: {depths}" if depths else ""


def sent_mails(dbs: Databases) -> Counter:
    """Captured mail per (cause event, recipient, template)."""
    rows = dbs.rows("notifications", select(messages.c.cause_event_id, messages.c.recipient, messages.c.template)
                    .join(captured_mail, captured_mail.c.notification_id == messages.c.notification_id))
    return Counter(tuple(row) for row in rows)


def expected_mails(events: list[dict]) -> tuple[set, set]:
    """(must, may): the mails the committed events call for, and those that depend on timing
    (the confirmation of a registration cancelled before notifications got to it is not sent)."""
    person = {}
    cancelled = set()
    system_cancelled: dict[str, list[str]] = {}
    for e in events:
        data = e["data"]
        if e["event_type"] == "registration.created":
            person[data["registration_id"]] = f"person:{data['person_id']}"
        elif e["event_type"] == "registration.cancelled":
            cancelled.add(data["registration_id"])
            if data["cancelled_by"] == "system":
                system_cancelled.setdefault(data["activity_id"], []).append(data["registration_id"])
    must, may = set(), set()
    for e in events:
        data, kind, event_id = e["data"], e["event_type"], e["event_id"]
        if kind in ("registration.created", "registration.confirmed"):
            template = (CREATED_TEMPLATES[data["status"]] if kind == "registration.created" else "promoted")
            key = (event_id, person[data["registration_id"]], template)
            (may if data["registration_id"] in cancelled else must).add(key)
        elif kind == "registration.cancelled" and data["cancelled_by"] != "system":
            must.add((event_id, person[data["registration_id"]], "registration_cancelled"))
        elif kind == "activity.cancelled":
            must |= {(event_id, person[r], "activity_cancelled") for r in system_cancelled.get(data["activity_id"], ())}
        elif kind == "request.received":
            must.add((event_id, f"request:{data['request_id']}", "request_acknowledgement"))
        elif kind == "request.declined":
            must.add((event_id, f"request:{data['request_id']}", "request_declined"))
    return must, may
