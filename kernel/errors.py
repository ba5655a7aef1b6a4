"""Errors that cross service boundaries (RPC) intact, so the gateway can turn
them into the right HTTP status with the original field-level details."""
from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


class DomainError(Exception):
    """Base of the errors a caller is expected to handle; `http_status` tells the gateway."""

    http_status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message, details or {})
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


@deserialize_to_instance
class ValidationFailed(DomainError):
    """Input is invalid; `details` maps field names to lists of messages."""

    http_status = 400
    code = "validation_failed"


@deserialize_to_instance
class NotFound(DomainError):
    http_status = 404
    code = "not_found"


@deserialize_to_instance
class Conflict(DomainError):
    """The request is valid but the current state forbids it (closed, duplicate, wrong status)."""

    http_status = 409
    code = "conflict"


@deserialize_to_instance
class Forbidden(DomainError):
    http_status = 403
    code = "forbidden"


@deserialize_to_instance
class Gone(DomainError):
    """It existed but is no longer available (an expired or closed survey link)."""

    http_status = 410
    code = "gone"


EXPECTED_ERRORS = (ValidationFailed, NotFound, Conflict, Forbidden, Gone)


@deserialize_to_instance
class ServiceUnavailable(DomainError):
    """A service needed for the answer did not answer in time."""

    http_status = 503
    code = "service_unavailable"
