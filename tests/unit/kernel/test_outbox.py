"""The outbox and its relay against a real SQLite file and a fake broker."""
import json

import pytest
from sqlalchemy import select

from kernel.db import ServiceDatabase
from kernel.outbox import OutboxRelay
from kernel.publisher import BatchResult
from kernel.tables import kernel_metadata, outbox


class FakePublisher:
    """Confirms everything except activities listed as unroutable; can fail after n messages."""

    def __init__(self, unroutable=(), fail_after=None):
        self.sent = []
        self.unroutable = set(unroutable)
        self.fail_after = fail_after

    def publish(self, messages):
        result = BatchResult()
        for message_id, routing_key, payload in messages:
            if self.fail_after is not None and len(self.sent) >= self.fail_after:
                result.failed.append(message_id)
            elif payload["data"]["activity_id"] in self.unroutable:
                result.unroutable.append(message_id)
            else:
                self.sent.append((routing_key, payload))
                result.confirmed.append(message_id)
        return result

    def close(self):
        pass


@pytest.fixture
def database(tmp_path):
    db = ServiceDatabase(f"sqlite:///{tmp_path}/svc.db", producer="registration")
    kernel_metadata.create_all(db.engine)
    yield db
    db.dispose()


def emit(database, *activity_ids):
    with database.unit_of_work() as uow:
        return [uow.emit("activity.completed", {"activity_id": a})["event_id"] for a in activity_ids]


def rows(database):
    with database.engine.connect() as connection:
        return connection.execute(select(outbox).order_by(outbox.c.id)).all()


def relay_with(database, publisher):
    relay = OutboxRelay(database, "memory://")
    relay.publisher = publisher
    return relay


def test_events_commit_with_the_state_change_or_not_at_all(database):
    with pytest.raises(RuntimeError):
        with database.unit_of_work() as uow:
            uow.emit("activity.completed", {"activity_id": "a1"})
            raise RuntimeError("the state change failed")
    assert rows(database) == []
    emit(database, "a2")
    assert [json.loads(r.payload)["data"]["activity_id"] for r in rows(database)] == ["a2"]


def test_relay_publishes_oldest_first_to_the_producer_exchange_and_marks_sent(database):
    ids = emit(database, "a1", "a2", "a3")
    publisher = FakePublisher()
    relay_with(database, publisher).publish_pending()
    assert [(key, p["event_id"]) for key, p in publisher.sent] == [
        ("activity.completed", event_id) for event_id in ids
    ]
    assert all(r.published_at is not None for r in rows(database))
    relay_with(database, publisher).publish_pending()
    assert len(publisher.sent) == 3  # nothing twice


def test_unroutable_events_stay_in_the_outbox_with_back_off(database):
    emit(database, "a1", "nobody-listens", "a3")
    relay = relay_with(database, FakePublisher(unroutable={"nobody-listens"}))
    relay.publish_pending()
    by_activity = {json.loads(r.payload)["data"]["activity_id"]: r for r in rows(database)}
    assert by_activity["nobody-listens"].published_at is None
    assert by_activity["nobody-listens"].attempts == 1
    assert by_activity["nobody-listens"].next_attempt_at is not None
    assert by_activity["a1"].published_at and by_activity["a3"].published_at
    # not due yet: the next pass leaves it alone
    assert relay.publish_pending() == 0


def test_unconfirmed_events_stay_and_confirmed_ones_are_recorded(database):
    emit(database, "a1", "a2", "a3")
    with pytest.raises(RuntimeError, match="did not confirm 2 events"):
        relay_with(database, FakePublisher(fail_after=1)).publish_pending()
    assert [r.published_at is not None for r in rows(database)] == [True, False, False]
    publisher = FakePublisher()
    relay_with(database, publisher).publish_pending()
    assert [p["data"]["activity_id"] for _, p in publisher.sent] == ["a2", "a3"]


def test_claim_makes_a_consumer_idempotent(database):
    event = {"event_id": "3f1b8e0e-0000-4000-8000-000000000001"}
    with database.unit_of_work(consumer="reporting.on_event") as uow:
        assert uow.claim(event) is True
    with database.unit_of_work(consumer="reporting.on_event") as uow:
        assert uow.claim(event) is False
    with database.unit_of_work(consumer="another.consumer") as uow:
        assert uow.claim(event) is True


def test_a_rolled_back_claim_can_be_claimed_again(database):
    event = {"event_id": "3f1b8e0e-0000-4000-8000-000000000002"}
    with pytest.raises(RuntimeError):
        with database.unit_of_work(consumer="c") as uow:
            uow.claim(event)
            raise RuntimeError("handler failed")
    with database.unit_of_work(consumer="c") as uow:
        assert uow.claim(event) is True


def test_a_relay_that_keeps_failing_still_reports_its_growing_backlog(database):
    import threading
    import time

    from kernel.metrics import OUTBOX_OLDEST_AGE, OUTBOX_PENDING

    class BrokenPublisher(FakePublisher):
        def publish(self, messages):
            raise ConnectionError("broker refuses")

    emit(database, "a1", "a2")
    relay = relay_with(database, BrokenPublisher())
    worker = threading.Thread(target=relay.run, args=(0.01,))
    worker.start()
    time.sleep(0.3)
    relay.stop()
    worker.join(5)
    assert OUTBOX_PENDING.labels("registration")._value.get() == 2
    assert OUTBOX_OLDEST_AGE.labels("registration")._value.get() > 0


def test_a_read_sees_committed_state_without_waiting_for_a_writer(database):
    import threading

    from sqlalchemy import func, select

    emit(database, "a1")
    writer_holds_lock = threading.Event()
    release = threading.Event()

    def long_write():
        with database.unit_of_work() as uow:
            uow.emit("activity.completed", {"activity_id": "a2"})
            writer_holds_lock.set()
            release.wait(5)

    writer = threading.Thread(target=long_write)
    writer.start()
    writer_holds_lock.wait(5)
    with database.read() as session:  # would block on the writer's lock if it were a write transaction
        assert session.scalar(select(func.count()).select_from(outbox)) == 1
    release.set()
    writer.join(5)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(outbox)) == 2


def test_an_event_type_no_platform_consumer_wants_is_not_left_pending(database):
    emit(database, "a1", "nobody-listens")
    relay = relay_with(database, FakePublisher(unroutable={"a1", "nobody-listens"}))
    relay.consumed = {"activity.cancelled"}  # activity.completed: no consumer in the platform
    relay.publish_pending()
    assert all(r.published_at is not None for r in rows(database))


def test_an_event_type_a_consumer_wants_waits_when_unroutable(database):
    emit(database, "a1")
    relay = relay_with(database, FakePublisher(unroutable={"a1"}))
    relay.consumed = {"activity.completed"}  # wanted, yet no queue: a queue is missing
    relay.publish_pending()
    assert [r.published_at for r in rows(database)] == [None]
