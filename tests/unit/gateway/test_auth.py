import hashlib

import pytest

from services.gateway.core.auth import (
    InvalidTokenConfig,
    bearer_token,
    digests_from_config,
    hash_token,
    is_staff,
    parse_digests,
)

TOKEN = "s3cret-token"
DIGEST = hashlib.sha256(TOKEN.encode()).hexdigest()
OTHER = hashlib.sha256(b"other").hexdigest()


def test_hash_token_is_sha256_hex():
    assert hash_token(TOKEN) == DIGEST


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ()),
        ("", ()),
        ("  ", ()),
        (DIGEST, (DIGEST,)),
        (f"{DIGEST}, {OTHER}", (DIGEST, OTHER)),
        (f"{DIGEST.upper()},", (DIGEST,)),
        ([DIGEST, OTHER], (DIGEST, OTHER)),
        ([], ()),
    ],
)
def test_parse_digests(value, expected):
    assert parse_digests(value) == expected


@pytest.mark.parametrize("value", ["not-a-digest", TOKEN, DIGEST[:-1], [DIGEST, "xyz"]])
def test_parse_digests_rejects_what_is_not_a_digest(value):
    with pytest.raises(InvalidTokenConfig):
        parse_digests(value)


def test_digests_from_config():
    assert digests_from_config({"AUTH": {"STAFF_TOKEN_SHA256": DIGEST}}) == (DIGEST,)
    assert digests_from_config({"AUTH": {}}) == ()
    assert digests_from_config({}) == ()


@pytest.mark.parametrize(
    "header, token",
    [
        (f"Bearer {TOKEN}", TOKEN),
        (f"bearer   {TOKEN} ", TOKEN),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer ", None),
        (f"Basic {TOKEN}", None),
        (TOKEN, None),
    ],
)
def test_bearer_token(header, token):
    assert bearer_token(header) == token


def test_right_token_is_staff_with_any_configured_digest():
    assert is_staff(f"Bearer {TOKEN}", (DIGEST,))
    assert is_staff(f"Bearer {TOKEN}", (OTHER, DIGEST))


@pytest.mark.parametrize("header", [None, "", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {DIGEST}", TOKEN])
def test_wrong_or_missing_token_is_refused(header):
    assert not is_staff(header, (DIGEST,))


def test_no_configured_token_refuses_everyone():
    assert not is_staff(f"Bearer {TOKEN}", ())
    assert not is_staff("Bearer ", ())
