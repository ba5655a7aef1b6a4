"""/health's verdict, with fake RPC proxies (the real broker is in the integration tests)."""
import json
import types

import eventlet

from kernel.config import SERVICES
from services.gateway.ops import routes as gateway_module
from services.gateway.service import GatewayService
from tests.unit.gateway.fakes import request


class Proxy:
    def __init__(self, behaviour):
        self.health = types.SimpleNamespace(call_async=lambda: types.SimpleNamespace(result=behaviour))


def answering(name):
    return lambda: {"service": name, "database": True}


def silent():
    eventlet.sleep(5)


def failing():
    raise RuntimeError("boom")


def health_of(behaviours, monkeypatch, broker=(True, None)):
    svc = GatewayService()
    svc.config = {"AMQP_URI": "memory://", "GATEWAY": {"HEALTH_TIMEOUT_SECONDS": 0.2}}
    for name in SERVICES:
        setattr(svc, name, Proxy(behaviours.get(name, answering(name))))
    monkeypatch.setattr(GatewayService, "_broker_answers", staticmethod(lambda uri, timeout: broker))
    response = svc.health(request(path="/health"))
    return response.status_code, json.loads(response.get_data())


def test_every_service_is_asked():
    assert {name for name in SERVICES} <= {n for n in vars(GatewayService)}
    assert gateway_module.SERVICES == SERVICES


def test_all_answer_is_200(monkeypatch):
    status, body = health_of({}, monkeypatch)
    assert status == 200
    assert body["status"] == "ok" and set(body["services"]) == set(SERVICES)


def test_a_silent_service_is_503_within_the_timeout(monkeypatch):
    started = eventlet.hubs.get_hub().clock()
    status, body = health_of({"reporting": silent}, monkeypatch)
    assert eventlet.hubs.get_hub().clock() - started < 2
    assert status == 503
    assert body["failed"] == ["reporting"]
    assert "0.2" in body["services"]["reporting"]["error"]


def test_a_failing_service_and_a_bad_database_are_503(monkeypatch):
    status, body = health_of(
        {"evaluation": failing, "requests": lambda: {"service": "requests", "database": False}}, monkeypatch
    )
    assert status == 503
    assert body["failed"] == ["evaluation", "requests"]


def test_no_broker_is_503(monkeypatch):
    status, body = health_of({}, monkeypatch, broker=(False, "ConnectionRefusedError"))
    assert status == 503
    assert body["failed"][0] == "broker"


def test_broker_that_does_not_answer(free_port):
    ok, error = GatewayService._broker_answers(f"pyamqp://guest:guest@127.0.0.1:{free_port}//", 1)
    assert ok is False and error
