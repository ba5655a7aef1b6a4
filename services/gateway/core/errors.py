"""How whatever an API entrypoint raises becomes an answer: a domain error (kernel.errors, intact
across RPC) keeps its HTTP status and body, a service that does not answer is 503, anything else
500; all as the JSON error body {error, message, details?}."""
from __future__ import annotations

import logging
from functools import wraps

from werkzeug.wrappers import Response

from kernel.errors import DomainError
from services.gateway.core.http import json_response

log = logging.getLogger(__name__)


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
