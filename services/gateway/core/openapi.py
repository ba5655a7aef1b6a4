"""The OpenAPI 3 description of the gateway's JSON API, generated with apispec and its marshmallow
plugin from the very schemas the services load and dump with, so it cannot drift from them.

Each JSON route says what it is on the route itself, with `@operation(...)` (or, for the few that
answer no JSON error, `@written_out({...})`) stacked on its `@http`: the builder walks the service
class's routes and takes the path and method from the `@http` entrypoint, whether a token is needed
from `@require`, and the named request and response schemas from the `openapi_components` of the
class that declares the route (each feature's routes class, in the order of the service's bases).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields
from nameko.web.handlers import HttpRequestHandler

from services.gateway.core.auth import required_roles

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"
STAFF_SCHEME = {
    "type": "http", "scheme": "bearer",
    "description": "A token of the staff, ops or admin role (admin may use every endpoint); its sha256 "
                   "digest is configured (docs/SECURITY.md).",
}


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    details = fields.Dict(
        keys=fields.String(), values=fields.Raw(),
        metadata={"description": "Field name -> list of messages (nested fields as `needs.childcare`)."},
    )


ERRORS = {
    400: "Invalid input: `details` maps field names to messages. Nothing was changed.",
    401: "Missing or invalid staff token.",
    404: "No such resource.",
    409: "The current state forbids this (closed registration, duplicate, wrong status).",
    415: "Not Content-Type: application/json (a form's type: what a cross-site form could send).",
    429: "Too many writes from this address (GATEWAY.RATE_LIMIT): try again after Retry-After seconds. "
         "Nothing was stored.",
}
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}

_RULE_PARAM = re.compile(r"<(?:[^:<>]+:)?(\w+)>")  # <activity_id>, <int:mail_id>
_PATH_PARAM = re.compile(r"\{(\w+)\}")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_response(status: int) -> dict:
    return {"description": ERRORS.get(status, "Error"), "content": {"application/json": {"schema": _ref("Error")}}}


def query_parameter(name: str, schema: dict, description: str) -> dict:
    """An optional query parameter, as an operation's `query` lists it."""
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


@dataclass(frozen=True)
class Operation:
    """A JSON operation: its success answer (a component, or CSV text), the request body's
    component, the errors it documents beyond the ones every operation has, its query parameters."""

    operation_id: str
    summary: str
    response: str | None = None
    status: int = 200
    many: bool = False
    csv: bool = False
    request: str | None = None
    errors: tuple[int, ...] = ()
    query: tuple[dict, ...] = ()
    description: str | None = None
    # a security scheme of its own (name, scheme) instead of the roles' staff token
    security: tuple[str, dict] | None = None
    error_descriptions: tuple[tuple[int, str], ...] = ()

    def document(self, path: str, method: str, roles: frozenset[str]) -> dict:
        if self.csv:
            content = copy.deepcopy(CSV_CONTENT)
        else:
            body_schema = {"type": "array", "items": _ref(self.response)} if self.many else _ref(self.response)
            content = {"application/json": {"schema": body_schema}}
        operation = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": ["staff" if roles else "public"],
            "parameters": [
                *({"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in _PATH_PARAM.findall(path)),
                *(copy.deepcopy(parameter) for parameter in self.query),
            ],
            "responses": {
                str(self.status): {"description": self.summary, "content": content},
                "500": _error_response(500) | {"description": "Unexpected error"},
                "503": _error_response(503) | {"description": "A service is not available"},
            },
        }
        if self.description:
            operation["description"] = self.description
        errors = self.errors
        if self.request:
            operation["requestBody"] = {
                "required": True, "content": {"application/json": {"schema": _ref(self.request)}}}
            errors = tuple(sorted({400, *errors}))
        for code in errors:
            operation["responses"][str(code)] = _error_response(code)
        if self.security:
            operation["security"] = [{self.security[0]: []}]
        elif roles:
            operation["security"] = [{"staffToken": []}]
            operation["responses"]["401"] = _error_response(401)
            operation["responses"]["403"] = _error_response(403) | {
                "description": "A valid token of a role that may not use this endpoint."}
        elif method != "get":  # a public write: screened for its content type and rate limited
            for code in (415, 429):
                operation["responses"][str(code)] = _error_response(code)
        for code, description in self.error_descriptions:
            operation["responses"][str(code)]["description"] = description
        return operation


@dataclass(frozen=True)
class WrittenOperation:
    """An operation given whole: a route that answers no JSON error (the description, /health)."""

    fields: dict
    security = None  # no scheme of its own: such a route is open

    def document(self, path: str, method: str, roles: frozenset[str]) -> dict:
        return copy.deepcopy(self.fields)


def _describe(described):
    def decorate(route):
        route.openapi_operation = described
        return route

    return decorate


def operation(operation_id: str, summary: str, **details):
    """Decorate a JSON route with its OpenAPI operation (see Operation for `details`)."""
    return _describe(Operation(operation_id, summary, **details))


def written_out(fields: dict):
    """Decorate a route with its OpenAPI operation written out in full."""
    return _describe(WrittenOperation(fields))


def http_routes(service_class) -> list[tuple[str, object, HttpRequestHandler]]:
    """(attribute name, route function, @http entrypoint) of every HTTP route of `service_class`,
    its bases' too, in the order they are declared (the service's own first, then each base's)."""
    routes, seen = [], set()
    for cls in service_class.__mro__:
        for name, attr in vars(cls).items():
            if name in seen:
                continue
            seen.add(name)
            for entrypoint in getattr(attr, "nameko_entrypoints", ()):
                if isinstance(entrypoint, HttpRequestHandler):
                    routes.append((name, attr, entrypoint))
    return routes


def openapi_path(url: str) -> str:
    """A werkzeug rule (`/api/staff/activities/<activity_id>`) as an OpenAPI path (`.../{activity_id}`)."""
    return _RULE_PARAM.sub(r"{\1}", url)


def _plain_numbers(node):
    """Decimal bounds and defaults (fields.Decimal with Range) as JSON numbers: serialised as the
    strings "0.00" they are not valid JSON Schema (`minimum` must be a number; found by fuzzing)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, Decimal):
                node[key] = int(value) if value == value.to_integral_value() else float(value)
            else:
                _plain_numbers(value)
    elif isinstance(node, list):
        for item in node:
            _plain_numbers(item)


def spec_of(service_class, server_url: str | None = None) -> APISpec:
    """The OpenAPI document of `service_class`'s described routes."""
    spec = APISpec(
        title="Support-centre platform API",
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": "The gateway's JSON API: public registration and staff management. "
                             "Errors are JSON objects {error, message, details?}."},
        servers=[{"url": server_url}] if server_url else [],
    )
    spec.components.security_scheme("staffToken", STAFF_SCHEME)
    spec.components.schema("Error", schema=ErrorSchema)
    for cls in service_class.__mro__:
        for component, schema in vars(cls).get("openapi_components", {}).items():
            spec.components.schema(component, schema=schema)
    _plain_numbers(spec.components.schemas)

    paths: dict[str, dict] = {}
    for _, route, entrypoint in http_routes(service_class):
        described = getattr(route, "openapi_operation", None)
        if described is None:
            continue
        if described.security and described.security[0] not in spec.components.security_schemes:
            spec.components.security_scheme(*described.security)
        path = openapi_path(entrypoint.url)
        for method in entrypoint.method.split(","):
            method = method.strip().lower()
            paths.setdefault(path, {})[method] = described.document(path, method, required_roles(route))
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec


def spec_paths(spec_dict: dict) -> set[tuple[str, str]]:
    """(path, METHOD) pairs described in an OpenAPI document."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {(path, m.upper()) for path, item in spec_dict.get("paths", {}).items() for m in item if m in methods}
