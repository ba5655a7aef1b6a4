"""Registration scaled out: two registration processes on one database and two gateway processes in
front of them still seat exactly the capacity (SQLite and PostgreSQL)."""
from __future__ import annotations

import copy

import eventlet
import requests
from sqlalchemy import create_engine, func, select

from services.registration.models import activities, registrations
from tests.conftest import STAFF_TOKEN
from tests.helpers import consumers_on, free_port, wait_for
from tests.integration.faults.support import ServiceProcess, write_config
from tests.integration.registration.conftest import activity_payload, registration_payload

PEOPLE = 200
SEATS = 30
STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


def _free_address() -> str:
    return f"127.0.0.1:{free_port()}"


def _serving(base: str) -> bool:
    try:
        return requests.get(f"{base}/api/activities", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def test_two_registration_and_two_gateway_processes_seat_exactly_the_capacity(
        database_backend, platform_config, tmp_path):
    started: list[ServiceProcess] = []
    gateways = []
    try:
        shared = write_config(platform_config, tmp_path / "registration.yml")
        for number in (1, 2):
            started.append(ServiceProcess("registration", shared, tmp_path, f"registration-{number}").start())
            config = copy.deepcopy(platform_config)
            config["WEB_SERVER_ADDRESS"] = _free_address()
            own = write_config(config, tmp_path / f"gateway-{number}.yml")
            started.append(ServiceProcess("gateway", own, tmp_path, f"gateway-{number}").start())
            gateways.append(f"http://{config['WEB_SERVER_ADDRESS']}")

        def up() -> bool:
            for process in started:
                assert process.running(), f"{process.name} died:\n{process.log_tail()}"
            return consumers_on(platform_config["AMQP_URI"], "rpc-registration") == 2 and all(
                _serving(base) for base in gateways)

        wait_for(up, timeout=90, interval=0.3, message="two registration and two gateway processes")

        created = requests.post(f"{gateways[0]}/api/staff/activities", headers=STAFF,
                                json=activity_payload(capacity=SEATS), timeout=30)
        assert created.status_code == 201, created.text
        activity_id = created.json()["activity_id"]

        def register(n: int) -> requests.Response:
            base = gateways[n % 2]
            return requests.post(f"{base}/api/activities/{activity_id}/registrations",
                                 json=registration_payload(n), timeout=60)

        pool = eventlet.GreenPool(PEOPLE)
        answers = list(pool.imap(register, range(PEOPLE)))
        assert [a.status_code for a in answers] == [201] * PEOPLE, {a.status_code: a.text for a in answers}
        results = [a.json() for a in answers]
        statuses = [r["status"] for r in results]
        assert statuses.count("confirmed") == SEATS
        assert sorted(r["waitlist_position"] for r in results if r["status"] == "waitlisted") == list(
            range(1, PEOPLE - SEATS + 1))

        listed = requests.get(f"{gateways[1]}/api/staff/activities/{activity_id}/registrations", headers=STAFF,
                              timeout=30).json()
        assert len(listed) == PEOPLE and len({r["person_id"] for r in listed}) == PEOPLE
        assert sorted(r["waitlist_position"] for r in listed if r["status"] == "waitlisted") == list(
            range(1, PEOPLE - SEATS + 1))
        seats = requests.get(f"{gateways[1]}/api/staff/activities/{activity_id}", headers=STAFF,
                             timeout=30).json()["seats"]
        assert seats == {"confirmed": SEATS, "waitlisted": PEOPLE - SEATS, "available": 0}

        engine = create_engine(platform_config["DATABASES"]["registration"])
        try:
            with engine.connect() as connection:
                recount = dict(connection.execute(
                    select(registrations.c.status, func.count()).where(registrations.c.activity_id == activity_id)
                    .group_by(registrations.c.status)).all())
                counters = connection.execute(
                    select(activities.c.confirmed_count, activities.c.waitlisted_count)
                    .where(activities.c.activity_id == activity_id)).one()
        finally:
            engine.dispose()
        assert recount == {"confirmed": SEATS, "waitlisted": PEOPLE - SEATS}
        assert tuple(counters) == (SEATS, PEOPLE - SEATS)

        # the same people again, all at once, through both gateways: refused, one registration each
        again = list(pool.imap(register, range(0, PEOPLE, 5)))
        assert {a.status_code for a in again} == {409}
        assert {a.json()["details"]["reason"] for a in again} == {"duplicate"}
    finally:
        for process in started:
            process.stop()
