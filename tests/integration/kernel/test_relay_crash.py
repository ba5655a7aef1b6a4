"""SIGKILL the producer (and its outbox relay) mid-stream: after a restart no
event is lost, and an idempotent consumer counts each exactly once."""
import os
import signal
import subprocess
import sys

import yaml
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, func, select

from kernel.tables import outbox
from tests.helpers import wait_for
from tests.integration.kernel.fixture_services import Counter, seen

EVENTS = 3000


def start_producer(config_path, log_path):
    return subprocess.Popen(
        [sys.executable, "-m", "nameko", "run", "--config", str(config_path),
         "tests.integration.kernel.fixture_services:Producer"],
        stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
    )


def rpc_answers(config):
    try:
        with ServiceRpcProxy("registration", config, timeout=2) as rpc:
            rpc.outbox_state()
        return True
    except Exception:
        return False


def test_killing_the_relay_mid_stream_loses_and_duplicates_nothing(database_backend, kernel_config, container_factory,
                                                                    tmp_path):
    kernel_config["EVENTS"]["RELAY_BATCH_SIZE"] = 10  # slow enough to be caught mid-stream
    config_path = tmp_path / "config.yml"
    config_path.write_text(yaml.safe_dump(kernel_config))
    log_path = tmp_path / "producer.log"
    producer_db = create_engine(kernel_config["DATABASES"]["registration"])
    counter_db = create_engine(kernel_config["DATABASES"]["counter"])

    def published():
        with producer_db.connect() as connection:
            return connection.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
            )

    container_factory(Counter, kernel_config).start()  # its queue now exists
    producer = start_producer(config_path, log_path)
    try:
        wait_for(lambda: rpc_answers(kernel_config), timeout=30, message="producer up")
        with ServiceRpcProxy("registration", kernel_config) as rpc:
            event_ids = rpc.emit(EVENTS)
        wait_for(lambda: published() >= 300, timeout=30, message="relay under way")
        os.kill(producer.pid, signal.SIGKILL)
        producer.wait(10)
        at_kill = published()
        assert at_kill < EVENTS, "the relay finished before it was killed; the test proves nothing"

        producer = start_producer(config_path, log_path)
        wait_for(lambda: published() == EVENTS, timeout=60, message="relay finishing after restart")
        with counter_db.connect() as connection:
            count = lambda: connection.scalar(select(func.count()).select_from(seen))  # noqa: E731
            wait_for(lambda: count() >= EVENTS, timeout=60, message="consumer catching up")
            rows = connection.execute(select(seen.c.event_id)).scalars().all()
        assert len(rows) == EVENTS  # no double count...
        assert sorted(rows) == sorted(event_ids)  # ...and nothing lost
    finally:
        producer.send_signal(signal.SIGTERM)
        producer.wait(20)
        producer_db.dispose()
        counter_db.dispose()
