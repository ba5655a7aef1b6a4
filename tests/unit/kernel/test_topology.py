"""The topology declaration survives the broker's transient 404 on racing declarations."""
from unittest import mock

import pytest
from amqp.exceptions import NotFound

from kernel import topology


class FlakyEntity:
    """Fails its first `failures` declarations the way RabbitMQ does when declarations race."""

    def __init__(self, failures: int):
        self.failures = failures
        self.channels = []

    def bind(self, channel):
        self.channels.append(channel)
        return self

    def declare(self):
        if self.failures:
            self.failures -= 1
            raise NotFound("home node 'rabbit@localhost' of durable queue 'q' is down or inaccessible")


@pytest.fixture
def broker(monkeypatch):
    connection = mock.MagicMock()
    connection.__enter__.return_value = connection
    connection.channel.side_effect = lambda: mock.Mock(name="channel")
    monkeypatch.setattr(topology, "Connection", lambda uri: connection)
    monkeypatch.setattr(topology, "DECLARE_RETRY_SECONDS", 0)
    return connection


def test_a_transient_not_found_is_retried_on_a_fresh_channel(broker, monkeypatch):
    entity = FlakyEntity(failures=2)
    monkeypatch.setattr(topology, "entities", lambda config, classes: [entity])

    assert topology.declare({"AMQP_URI": "memory://"}) == 1
    assert entity.failures == 0
    assert len(set(map(id, entity.channels))) == 3  # each retry on a new channel


def test_a_persistent_not_found_is_raised_after_the_last_attempt(broker, monkeypatch):
    entity = FlakyEntity(failures=topology.DECLARE_ATTEMPTS)
    monkeypatch.setattr(topology, "entities", lambda config, classes: [entity])

    with pytest.raises(NotFound):
        topology.declare({"AMQP_URI": "memory://"})
