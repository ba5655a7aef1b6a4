"""HTTP helpers for the gateway's entrypoints: JSON bodies in and out, and
turning errors (domain errors from RPC, bad input, broker trouble) into answers."""
from __future__ import annotations

import json
import logging
from functools import wraps

from werkzeug.wrappers import Response

from kernel.errors import DomainError

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"


class BadRequestBody(DomainError):
    """The request body is not a JSON object (raised and answered in the gateway; never crosses RPC)."""

    http_status = 400
    code = "bad_request"


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        headers=headers,
        content_type=f"{JSON_TYPE}; charset=utf-8",
    )


def error_body(error: str, message: str, details: dict | None = None) -> dict:
    body = {"error": error, "message": message}
    if details:
        body["details"] = details
    return body


def error_response(exc: Exception) -> Response:
    """The JSON answer for an exception raised while handling an API call."""
    if isinstance(exc, DomainError):
        return json_response(exc.to_dict(), exc.http_status)
    # A service that is not running, or a broker that does not answer.
    from nameko.exceptions import UnknownService

    if isinstance(exc, UnknownService):
        return json_response(
            error_body("service_unavailable", "A service needed for this request is not available."), 503
        )
    log.exception("unexpected error in the gateway")
    return json_response(error_body("internal_error", "Something went wrong on our side."), 500)


def read_json_object(request, required: bool = True) -> dict:
    """The request body as a dict; BadRequestBody when it is malformed or not an object."""
    raw = request.get_data(cache=True)
    if not raw or not raw.strip():
        if required:
            raise BadRequestBody("The request body must be a JSON object.", {"_body": ["A JSON object is required."]})
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequestBody(
            "The request body is not valid JSON.", {"_body": [f"Malformed JSON: {exc}"]}
        ) from None
    if not isinstance(body, dict):
        raise BadRequestBody(
            "The request body must be a JSON object.",
            {"_body": [f"Expected a JSON object, got {type(body).__name__ if body is not None else 'null'}."]},
        )
    return body


def api(handler):
    """Decorate an API entrypoint method: whatever it raises becomes a JSON error answer.

    A handler may return a Response, or a (status, body) / body tuple whose body is JSON-serialisable.
    """

    @wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        try:
            result = handler(self, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every error gets an answer
            return error_response(exc)
        if isinstance(result, Response):
            return result
        if isinstance(result, tuple):
            status, body = result
            return json_response(body, status)
        return json_response(result)

    return wrapper
