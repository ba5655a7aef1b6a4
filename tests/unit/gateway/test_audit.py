"""services.gateway.core.audit: who a line of the audit log names, and what it sends the accounts service."""
import pytest
from nameko.exceptions import UnknownService

from kernel.errors import ServiceUnavailable
from services.gateway.core import audit
from services.gateway.core.auth import IMPLIES, VIEWER, Viewer
from tests.unit.gateway.fakes import FakeAccounts, gateway, request


def test_the_actor_is_the_account_or_the_machine_token_of_its_highest_role():
    assert audit.actor_of(Viewer(IMPLIES["staff"], "acc-1", "An Peeters", "an@x.example")) == {
        "account_id": "acc-1", "name": "An Peeters"}
    assert audit.actor_of(Viewer(IMPLIES["admin"])) == {"account_id": None, "name": "machine:admin"}
    assert audit.actor_of(Viewer(IMPLIES["ops"])) == {"account_id": None, "name": "machine:ops"}


def test_record_sends_one_line_with_the_viewer_as_actor():
    service = gateway()
    service.accounts = FakeAccounts()
    asked = request("POST", "/staff/activities/new")
    asked.environ[VIEWER] = Viewer(IMPLIES["staff"], "acc-1", "An Peeters", "an@x.example")
    audit.record(service, asked, "activity.created", "activity", "act-1", kind="vorming")
    assert service.accounts.audit == [{
        "actor": {"account_id": "acc-1", "name": "An Peeters"}, "action": "activity.created",
        "subject_type": "activity", "subject_id": "act-1", "details": {"kind": "vorming"}}]


@pytest.mark.parametrize("failure", [ServiceUnavailable("the accounts service did not answer in time"),
                                     UnknownService("accounts")], ids=["slow", "not running"])
def test_a_line_the_accounts_service_cannot_take_is_logged_and_the_change_stands(caplog, failure):
    class Down(FakeAccounts):
        def record_audit(self, entry):
            raise failure

    service = gateway()
    service.accounts = Down()
    audit.record(service, request("POST", "/x"), "activity.completed", "activity", "act-9")
    assert "activity.completed" in caplog.text and "act-9" in caplog.text
