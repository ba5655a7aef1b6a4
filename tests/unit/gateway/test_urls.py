"""services.gateway.core.urls: links stay on the site; log lines carry no secret of the URL."""
from __future__ import annotations

import pytest

from services.gateway.core.server import limits_from_config
from services.gateway.core.urls import masked, masked_request_line, site_path


@pytest.mark.parametrize(("path", "expected"), [
    ("/\\evil.example", "/evil.example"),
    ("//evil.example", "/evil.example"),
    ("/\\/\\evil.example", "/evil.example"),
    ("/x/\\evil", "/x/%5Cevil"),
    ("/activities/12", "/activities/12"),
    ("/a b\"<", "/a%20b%22%3C"),
])
def test_site_path_keeps_one_leading_slash_and_escapes_the_rest(path, expected):
    assert site_path(path) == expected


def test_masked_hides_cancel_and_survey_tokens_codes_and_search_terms_but_not_the_language():
    assert masked("/registrations/s3cr3t/cancel?lang=en") == "/registrations/***/cancel?lang=en"
    assert masked("/api/registrations/s3cr3t") == "/api/registrations/***"
    assert masked("/evaluations/s3cr3t?lang=fr") == "/evaluations/***?lang=fr"
    assert masked("/activities/7?code=INVITE1&lang=nl") == "/activities/7?code=***&lang=nl"
    assert masked("/api/staff/requests?q=Zwaantje+Quirinsky") == "/api/staff/requests?q=***"
    assert masked_request_line("GET /registrations/s3cr3t/cancel HTTP/1.1") == \
        "GET /registrations/***/cancel HTTP/1.1"


def test_a_limit_that_is_not_a_positive_number_is_refused():
    assert limits_from_config({}).max_body == 1024 * 1024
    with pytest.raises(ValueError, match="KEEPALIVE_SECONDS"):
        limits_from_config({"GATEWAY": {"LIMITS": {"KEEPALIVE_SECONDS": "0"}}})


def test_ipv6_addresses_share_a_bucket_per_64_and_ipv4_keeps_its_address():
    from services.gateway.core.security import bucket_key

    assert bucket_key("2001:db8:1:2::1") == bucket_key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert bucket_key("2001:db8:1:3::1") != bucket_key("2001:db8:1:2::1")
    assert bucket_key("203.0.113.7") == "203.0.113.7" and bucket_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert bucket_key("unknown") == "unknown"
