"""JSON in and out of the gateway's entrypoints: the answer with a JSON body, and the request's
body read as a JSON object (services.gateway.core.errors turns what goes wrong into answers)."""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

from kernel.errors import DomainError

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
