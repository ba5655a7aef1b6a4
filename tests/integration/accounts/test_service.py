"""The accounts service over RPC: accounts, sign-in with lockout, sessions, API tokens and the
audit lines of every account action."""
from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from sqlalchemy import create_engine, text

from kernel.errors import Conflict, NotFound, ValidationFailed
from tests.integration.accounts.conftest import ADMIN, PASSWORD, account_payload


def test_an_account_is_created_without_showing_its_hash_and_its_email_is_unique(rpc, platform_config):
    made = rpc.create_account(account_payload(), ADMIN)
    assert made["email"] == "an@steunpunt.example" and made["role"] == "staff" and made["active"] is True
    assert "password" not in made and "password_hash" not in made
    with pytest.raises(Conflict):
        rpc.create_account(account_payload(email="AN@steunpunt.example "), ADMIN)
    engine = create_engine(platform_config["DATABASES"]["accounts"])
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM accounts")).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2id$")


@pytest.mark.parametrize("overrides, field", [
    ({"email": "not an email"}, "email"), ({"name": " "}, "name"), ({"role": "boss"}, "role"),
    ({"password": "kort"}, "password"), ({"extra": 1}, "extra"),
])
def test_bad_input_is_refused_field_by_field(rpc, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        rpc.create_account(account_payload(**overrides), ADMIN)
    assert field in refused.value.details
    assert rpc.list_accounts() == []


def test_sign_in_gives_a_session_that_sign_out_ends(rpc):
    made = rpc.create_account(account_payload(), ADMIN)
    signed = rpc.sign_in("an@steunpunt.EXAMPLE", PASSWORD)
    assert signed["account"]["account_id"] == made["account_id"] and signed["token"]
    assert rpc.session_account(signed["token"])["email"] == made["email"]
    assert rpc.session_account(signed["token"] + "x") is None
    assert rpc.sign_out(signed["token"]) is True
    assert rpc.session_account(signed["token"]) is None


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer_and_five_failures_lock(rpc):
    rpc.create_account(account_payload(), ADMIN)
    assert rpc.sign_in("nobody@steunpunt.example", PASSWORD) == {"token": None, "outcome": "failed"}
    outcomes = [rpc.sign_in("an@steunpunt.example", "wrong password!")["outcome"] for _ in range(5)]
    assert outcomes == ["failed"] * 4 + ["locked"]
    assert rpc.sign_in("an@steunpunt.example", PASSWORD) == {"token": None, "outcome": "locked"}
    actions = [e["action"] for e in rpc.list_audit({"action_kind": "account"})["entries"]]
    assert actions.count("account.sign_in_failed") == 5 and actions.count("account.locked") == 2


def test_revoking_every_session_signs_the_account_out_everywhere(rpc):
    made = rpc.create_account(account_payload(), ADMIN)
    tokens = [rpc.sign_in(made["email"], PASSWORD)["token"] for _ in range(2)]
    assert rpc.revoke_sessions(made["account_id"], ADMIN) == 2
    assert [rpc.session_account(t) for t in tokens] == [None, None]


def test_a_deactivated_account_is_signed_out_and_cannot_sign_in(rpc):
    made = rpc.create_account(account_payload(), ADMIN)
    token = rpc.sign_in(made["email"], PASSWORD)["token"]
    assert rpc.update_account(made["account_id"], {"active": False}, ADMIN)["active"] is False
    assert rpc.session_account(token) is None
    assert rpc.sign_in(made["email"], PASSWORD)["token"] is None


def test_a_personal_token_works_until_it_is_revoked(rpc):
    made = rpc.create_account(account_payload(role="ops"), ADMIN)
    issued = rpc.issue_token(made["account_id"], {"label": "script"}, ADMIN)
    assert rpc.token_account(issued["token"])["role"] == "ops"
    assert [t["token_id"] for t in rpc.list_tokens(made["account_id"])] == [issued["token_id"]]
    rpc.revoke_token(issued["token_id"], ADMIN)
    assert rpc.token_account(issued["token"]) is None
    with pytest.raises(NotFound):
        rpc.revoke_token("no-such-token", ADMIN)


def test_every_account_action_is_audited_with_its_actor(rpc):
    admin = rpc.create_account(account_payload(email="admin@steunpunt.example", name="Bea Admin", role="admin"),
                               ADMIN)
    actor = {"account_id": admin["account_id"], "name": admin["name"]}
    made = rpc.create_account(account_payload(), actor)
    rpc.update_account(made["account_id"], {"role": "ops", "name": "An P."}, actor)
    rpc.update_account(made["account_id"], {"active": False}, actor)
    issued = rpc.issue_token(made["account_id"], {}, actor)
    rpc.revoke_token(issued["token_id"], actor)
    rpc.revoke_sessions(made["account_id"], actor)
    rpc.sign_in(admin["email"], PASSWORD)
    log = rpc.list_audit({"account_id": admin["account_id"]})
    assert [(e["action"], e["subject_id"]) for e in reversed(log["entries"])] == [
        ("account.created", made["account_id"]), ("account.renamed", made["account_id"]),
        ("account.role_changed", made["account_id"]), ("account.deactivated", made["account_id"]),
        ("account.token_issued", made["account_id"]), ("account.token_revoked", made["account_id"]),
        ("account.sessions_revoked", made["account_id"]), ("account.signed_in", admin["account_id"]),
    ]
    assert {e["actor"] for e in log["entries"]} == {"Bea Admin"}
    first = rpc.list_audit({"limit": 1})
    assert first["total"] == 9 and first["entries"][0]["action"] == "account.signed_in"
    assert first["entries"][-1]["actor"] == "Bea Admin"
    assert rpc.list_audit({"action_kind": "activity"})["total"] == 0


def test_record_audit_keeps_a_line_from_another_part_of_the_platform(rpc):
    rpc.record_audit({"actor": {"account_id": None, "name": "machine:staff"}, "action": "activity.created",
                      "subject_type": "activity", "subject_id": "act-1", "details": {"kind": "vorming"}})
    (entry,) = rpc.list_audit()["entries"]
    assert (entry["actor"], entry["action"], entry["subject_id"], entry["details"]) == (
        "machine:staff", "activity.created", "act-1", {"kind": "vorming"})
    assert rpc.list_audit()["action_kinds"] == ["activity"]
    with pytest.raises((ValidationFailed, RemoteError)):
        rpc.record_audit({"actor": {"name": "x"}, "action": "NOT VALID", "subject_type": "a"})


def test_the_last_active_admin_stays_an_active_admin(rpc):
    admin = rpc.create_account(account_payload(email="bea@steunpunt.example", role="admin"), ADMIN)
    with pytest.raises(Conflict):
        rpc.update_account(admin["account_id"], {"role": "staff"}, ADMIN)
    with pytest.raises(Conflict):
        rpc.update_account(admin["account_id"], {"active": False}, ADMIN)
    rpc.create_account(account_payload(email="piet@steunpunt.example", role="admin"), ADMIN)
    assert rpc.update_account(admin["account_id"], {"role": "staff"}, ADMIN)["role"] == "staff"
