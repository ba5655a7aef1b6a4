"""The on-call command line against the real broker: a poison event is
dead-lettered, shows up in `status` and `dlq list`, and is replayed once its
cause is fixed; purge needs --yes."""
import json
import subprocess
import sys

import pytest
import yaml
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import insert, select

from kernel import topology
from kernel.config import ROOT
from tests.helpers import queue_depth, wait_for
from tests.integration.kernel.fixture_services import Producer, RepairableCounter, repairs, seen


def ops(config_path, *args):
    done = subprocess.run(
        [sys.executable, "-m", "ops", "--config", str(config_path), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def config_path(kernel_config, container_factory, tmp_path, monkeypatch):
    """The producer and a counter that can be repaired running, and the config file the commands read."""
    monkeypatch.setattr(topology, "platform_consumers", lambda: topology.consumers_of(Producer, RepairableCounter))
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(kernel_config))
    container_factory(Producer, kernel_config).start()
    container_factory(RepairableCounter, kernel_config).start()
    return path


def test_poison_is_listed_then_replayed_after_the_fix(kernel_config, config_path, counter_db):
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        [broken] = rpc.emit(1, "broken")
        [fine] = rpc.emit(1, "fine")
    wait_for(lambda: queue_depth(kernel_config["AMQP_URI"], "platform.dead-letter") == 1, message="dead letter")

    code, out, _ = ops(config_path, "status", "--json")
    assert code == 1  # a dead letter is not healthy
    queues = {row["queue"]: row for row in json.loads(out)["queues"]}
    assert queues["platform.dead-letter"]["messages"] == 1

    code, out, _ = ops(config_path, "dlq", "list")
    assert code == 0
    assert broken in out and "RuntimeError" in out and "the cause is not fixed yet" in out
    assert fine not in out
    assert queue_depth(kernel_config["AMQP_URI"], "platform.dead-letter") == 1  # listing leaves it there

    with counter_db.begin() as connection:
        connection.execute(insert(repairs).values(id=1))
    code, out, err = ops(config_path, "dlq", "replay", "--all")
    assert code == 0, err
    assert "replayed 1 of 1" in out

    def handled():
        with counter_db.connect() as connection:
            return set(connection.execute(select(seen.c.event_id)).scalars())

    wait_for(lambda: handled() == {broken, fine}, message="replayed event handled")
    assert queue_depth(kernel_config["AMQP_URI"], "platform.dead-letter") == 0
    code, _, _ = ops(config_path, "status")
    assert code == 0


def test_purge_asks_for_yes_and_unknown_ids_match_nothing(kernel_config, config_path):
    with ServiceRpcProxy("registration", kernel_config) as rpc:
        [broken] = rpc.emit(1, "broken")
    wait_for(lambda: queue_depth(kernel_config["AMQP_URI"], "platform.dead-letter") == 1, message="dead letter")

    assert ops(config_path, "dlq", "replay")[0] == 2  # neither ids nor --all
    assert ops(config_path, "dlq", "replay", "no-such-id")[0] == 2
    code, out, _ = ops(config_path, "dlq", "show", broken)
    assert code == 0 and json.loads(out)["headers"]["x-attempts"] == 3
    assert ops(config_path, "dlq", "purge", "--all")[0] == 2  # no --yes
    assert queue_depth(kernel_config["AMQP_URI"], "platform.dead-letter") == 1
    code, out, _ = ops(config_path, "dlq", "purge", broken, "--yes")
    assert code == 0 and "purged 1" in out
    assert queue_depth(kernel_config["AMQP_URI"], "platform.dead-letter") == 0
