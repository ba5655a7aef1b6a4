import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from services.gateway.core.errors import api, error_response
from services.gateway.core.http import BadRequestBody, read_json_object


def request_with(data, content_type="application/json"):
    return Request(EnvironBuilder(method="POST", data=data, content_type=content_type).get_environ())


@pytest.mark.parametrize(
    "exc, status, code",
    [
        (ValidationFailed("bad", {"email": ["Not a valid email address."]}), 400, "validation_failed"),
        (NotFound("no such activity"), 404, "not_found"),
        (Conflict("registration is closed"), 409, "conflict"),
        (Forbidden("invitation only"), 403, "forbidden"),
    ],
)
def test_domain_errors_keep_their_status_and_body(exc, status, code):
    response = error_response(exc)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data())
    assert body["error"] == code
    assert body["message"] == exc.message
    if exc.details:
        assert body["details"] == exc.details


def test_unknown_service_is_503():
    from nameko.exceptions import UnknownService

    response = error_response(UnknownService("registration"))
    assert response.status_code == 503
    assert json.loads(response.get_data())["error"] == "service_unavailable"


def test_unexpected_error_is_500_without_internals():
    response = error_response(RuntimeError("secret stack detail"))
    assert response.status_code == 500
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize("data", [b"{not json", b"[1, 2]", b'"text"', b"null", b"", b"\xff\xfe"])
def test_malformed_or_non_object_body_is_refused(data):
    with pytest.raises(BadRequestBody) as caught:
        read_json_object(request_with(data))
    assert caught.value.http_status == 400
    assert caught.value.message


def test_object_body_is_read_and_empty_allowed_when_optional():
    assert read_json_object(request_with(b'{"a": 1}')) == {"a": 1}
    assert read_json_object(request_with(b""), required=False) == {}


def test_api_decorator_turns_results_and_errors_into_json():
    class Handler:
        @api
        def ok(self, request):
            return 201, {"created": True}

        @api
        def plain(self, request):
            return [1, 2]

        @api
        def bad(self, request):
            raise NotFound("nope")

    handler = Handler()
    created = handler.ok(None)
    assert (created.status_code, json.loads(created.get_data())) == (201, {"created": True})
    assert json.loads(handler.plain(None).get_data()) == [1, 2]
    missing = handler.bad(None)
    assert missing.status_code == 404
    assert json.loads(missing.get_data())["error"] == "not_found"
