"""The OpenAPI 3 description of the gateway's JSON API, generated with apispec
and its marshmallow plugin from the very schemas the registration service loads
and dumps with (services.registration.schemas), so it cannot drift from them.
"""
from __future__ import annotations

import re
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, validate

from services.gateway import (
    dashboard_routes,
    evaluation_openapi,
    notifications_routes,
    reporting_openapi,
    requests_openapi,
)
from services.registration import schemas as registration

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True)
    details = fields.Dict(
        keys=fields.String(), values=fields.Raw(),
        metadata={"description": "Field name -> list of messages (nested fields as `needs.childcare`)."},
    )


class HealthSchema(Schema):
    status = fields.String(validate=validate.OneOf(["ok", "unavailable"]))
    broker = fields.Dict()
    services = fields.Dict(keys=fields.String(), values=fields.Dict())
    failed = fields.List(fields.String())


COMPONENTS: dict[str, type[Schema]] = {
    "Error": ErrorSchema,
    "Health": HealthSchema,
    "RegistrationRequest": registration.RegistrationRequestSchema,
    "RegistrationResult": registration.RegistrationResultSchema,
    "Registration": registration.PublicRegistrationSchema,
    "StaffRegistration": registration.StaffRegistrationSchema,
    "OrganisationInput": registration.OrganisationInputSchema,
    "OrganisationUpdate": registration.OrganisationUpdateSchema,
    "Organisation": registration.OrganisationViewSchema,
    "ActivityInput": registration.ActivityInputSchema,
    "ActivityUpdate": registration.ActivityUpdateSchema,
    "Activity": registration.ActivityViewSchema,
    "PublicActivity": registration.PublicActivitySchema,
    "CancelActivity": registration.CancelActivitySchema,
    "Attendance": registration.AttendanceSchema,
}
PARTIAL = {"OrganisationUpdate", "ActivityUpdate"}
COMPONENTS.update(requests_openapi.COMPONENTS)
COMPONENTS.update(notifications_routes.COMPONENTS)
COMPONENTS.update(reporting_openapi.COMPONENTS)
COMPONENTS.update(dashboard_routes.COMPONENTS)
COMPONENTS.update(evaluation_openapi.COMPONENTS)


# ---------------------------------------------------------------- the paths

ERRORS = {
    400: "Invalid input: `details` maps field names to messages. Nothing was changed.",
    401: "Missing or invalid staff token.",
    404: "No such resource.",
    409: "The current state forbids this (closed registration, duplicate, wrong status).",
    415: "Not Content-Type: application/json (a form's type: what a cross-site form could send).",
    429: "Too many writes from this address (GATEWAY.RATE_LIMIT): try again after Retry-After seconds. "
         "Nothing was stored.",
}

# (path, method, operationId, summary, staff, request component, (status, response component or None, is list), errors)
OPERATIONS = [
    ("/api/activities", "get", "listPublicActivities", "Activities open to the public", False, None,
     (200, "PublicActivity", True), ()),
    ("/api/activities/{activity_id}", "get", "getPublicActivity",
     "One public activity (invitation-only ones need ?code=)", False, None, (200, "PublicActivity", False),
     (400, 403, 404)),
    ("/api/activities/{activity_id}/registrations", "post", "register",
     "Register for an activity: 201 with status confirmed, or waitlisted (with the position) when it is full",
     False, "RegistrationRequest", (201, "RegistrationResult", False), (400, 403, 404, 409)),
    ("/api/registrations/{token}", "get", "getRegistrationByToken",
     "A registration, by the secret token of its cancel link", False, None, (200, "Registration", False), (404,)),
    ("/api/registrations/{token}/cancel", "post", "cancelRegistrationByToken",
     "Cancel a registration by its secret token", False, None, (200, "Registration", False), (404, 409)),
    ("/api/staff/organisations", "get", "listOrganisations", "The organisations directory", True, None,
     (200, "Organisation", True), ()),
    ("/api/staff/organisations", "post", "createOrganisation", "Register an organisation", True,
     "OrganisationInput", (201, "Organisation", False), (400, 409)),
    ("/api/staff/organisations/{organisation_id}", "get", "getOrganisation", "One organisation", True, None,
     (200, "Organisation", False), (404,)),
    ("/api/staff/organisations/{organisation_id}", "patch", "updateOrganisation", "Change an organisation", True,
     "OrganisationUpdate", (200, "Organisation", False), (400, 404, 409)),
    ("/api/staff/activities", "get", "listActivities", "All activities", True, None, (200, "Activity", True), ()),
    ("/api/staff/activities", "post", "createActivity", "Schedule an activity", True, "ActivityInput",
     (201, "Activity", False), (400, 409)),
    ("/api/staff/activities/{activity_id}", "get", "getActivity", "One activity", True, None,
     (200, "Activity", False), (404,)),
    ("/api/staff/activities/{activity_id}", "patch", "updateActivity", "Change an activity", True,
     "ActivityUpdate", (200, "Activity", False), (400, 404, 409)),
    ("/api/staff/activities/{activity_id}/cancel", "post", "cancelActivity", "Cancel (afgelast) an activity",
     True, "CancelActivity", (200, "Activity", False), (400, 404, 409)),
    ("/api/staff/activities/{activity_id}/complete", "post", "completeActivity", "Mark an activity completed",
     True, None, (200, "Activity", False), (404, 409)),
    ("/api/staff/activities/{activity_id}/registrations", "get", "listRegistrations",
     "Registrations of an activity (confirmed, waitlisted in order, cancelled)", True, None,
     (200, "StaffRegistration", True), (404,)),
    ("/api/staff/registrations/{registration_id}/cancel", "post", "cancelRegistration",
     "Cancel a registration (staff); the first on the waitlist is promoted", True, None,
     (200, "StaffRegistration", False), (404, 409)),
    ("/api/staff/registrations/{registration_id}/attendance", "put", "recordAttendance",
     "Record the days a participant attended", True, "Attendance", (200, "StaffRegistration", False),
     (400, 404, 409)),
]

OPERATIONS += requests_openapi.OPERATIONS
OPERATIONS += notifications_routes.OPERATIONS
OPERATIONS += reporting_openapi.OPERATIONS
OPERATIONS += dashboard_routes.OPERATIONS
OPERATIONS += evaluation_openapi.OPERATIONS

_PARAM = re.compile(r"\{(\w+)\}")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_response(status: int) -> dict:
    return {"description": ERRORS.get(status, "Error"), "content": {"application/json": {"schema": _ref("Error")}}}


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


def build_spec(server_url: str | None = None) -> APISpec:
    spec = APISpec(
        title="Support-centre platform API",
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info={"description": "The gateway's JSON API: public registration and staff management. "
                             "Errors are JSON objects {error, message, details?}."},
        servers=[{"url": server_url}] if server_url else [],
    )
    spec.components.security_scheme(
        "staffToken",
        {"type": "http", "scheme": "bearer",
         "description": "A token of the staff, ops or admin role (admin may use every endpoint); its sha256 "
                        "digest is configured (docs/SECURITY.md)."},
    )
    spec.components.security_scheme("alertmanagerToken", notifications_routes.ALERTMANAGER_SECURITY_SCHEME)
    for component, schema in COMPONENTS.items():
        # PATCH bodies are partial: any subset of the fields (none required)
        spec.components.schema(component, schema=schema(partial=True) if component in PARTIAL else schema)
    _plain_numbers(spec.components.schemas)

    operations: dict[str, dict] = {}
    for path, method, op_id, summary, staff, request_component, (status, response, many), errors in OPERATIONS:
        body_schema = {"type": "array", "items": _ref(response)} if many else _ref(response)
        operation = {
            "operationId": op_id,
            "summary": summary,
            "tags": ["staff" if staff else "public"],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(path)
            ],
            "responses": {
                str(status): {"description": summary, "content": {"application/json": {"schema": body_schema}}},
                "500": _error_response(500) | {"description": "Unexpected error"},
                "503": _error_response(503) | {"description": "A service is not available"},
            },
        }
        if op_id == "getPublicActivity":
            operation["parameters"].append(
                {"name": "code", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Invitation code, for invitation-only activities."}
            )
        if request_component:
            operation["requestBody"] = {
                "required": True, "content": {"application/json": {"schema": _ref(request_component)}},
            }
            errors = tuple(sorted({400, *errors}))
        for code in errors:
            operation["responses"][str(code)] = _error_response(code)
        if staff:
            operation["security"] = [{"staffToken": []}]
            operation["responses"]["401"] = _error_response(401)
            operation["responses"]["403"] = _error_response(403) | {
                "description": "A valid token of a role that may not use this endpoint."}
        elif method != "get" and path != notifications_routes.ALERTMANAGER_PATH:  # a public write
            for code in (415, 429):
                operation["responses"][str(code)] = _error_response(code)
        operations.setdefault(path, {})[method] = operation

    operations["/api/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This description", "tags": ["meta"],
        "responses": {"200": {"description": "OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}
    operations["/health"] = {"get": {
        "operationId": "health", "summary": "200 only when the broker and every service answer in time",
        "tags": ["meta"],
        "responses": {
            "200": {"description": "All healthy", "content": {"application/json": {"schema": _ref("Health")}}},
            "503": {"description": "The broker or a service did not answer; `failed` lists which",
                    "content": {"application/json": {"schema": _ref("Health")}}},
        },
    }}
    requests_openapi.refine(operations)
    reporting_openapi.refine(operations)
    dashboard_routes.refine(operations)
    evaluation_openapi.refine(operations)
    notifications_routes.refine(operations)
    for path, ops in operations.items():
        spec.path(path=path, operations=ops)
    return spec


def spec_paths(spec_dict: dict) -> set[tuple[str, str]]:
    """(path, METHOD) pairs described in an OpenAPI document."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return {(path, m.upper()) for path, item in spec_dict.get("paths", {}).items() for m in item if m in methods}
