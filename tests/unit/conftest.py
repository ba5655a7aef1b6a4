"""Fixtures for testing a service's entrypoints with nameko's worker_factory: the service's own
database (migrated SQLite) and the outbox as a list of the events its transactions committed.
A test module names its service with a `service_name` fixture."""
from __future__ import annotations

import pytest

from kernel.db import ServiceDatabase


class CommittedEvents(list):
    """The outbox as the relay sees it: the events of each committed transaction, in order."""

    def of(self, event_type: str) -> list[dict]:
        return [event["data"] for event in self if event["event_type"] == event_type]


@pytest.fixture
def database(service_name, migrated_templates, tmp_path):
    """The service's ServiceDatabase on a fresh migrated SQLite file."""
    database = ServiceDatabase(migrated_templates.sqlite_copy(service_name, tmp_path / f"{service_name}.db"),
                               service_name)
    yield database
    database.dispose()


@pytest.fixture
def committed(database) -> CommittedEvents:
    """The events committed through `database` from now on."""
    events = CommittedEvents()
    database.on_commit.append(events.extend)
    return events
