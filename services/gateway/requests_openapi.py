"""The request desk's part of the OpenAPI description (services/gateway/openapi.py takes
OPERATIONS and COMPONENTS from here, and lets `refine` add what the generic builder cannot
say: query parameters and the CSV answer)."""
from __future__ import annotations

from services.requests import schemas as requests_schemas

COMPONENTS = {
    "RequestIntake": requests_schemas.PublicIntakeSchema,
    "RequestReceipt": requests_schemas.ReceiptSchema,
    "StaffRequestIntake": requests_schemas.StaffIntakeSchema,
    "Request": requests_schemas.RequestViewSchema,
    "RequestTags": requests_schemas.TagsSchema,
    "RequestExplore": requests_schemas.ExploreSchema,
    "RequestNote": requests_schemas.NoteSchema,
    "RequestAccept": requests_schemas.AcceptSchema,
    "RequestDecline": requests_schemas.DeclineSchema,
    "RequestDelivery": requests_schemas.DeliverySchema,
    "StaffMemberInput": requests_schemas.StaffInputSchema,
    "StaffMemberUpdate": requests_schemas.StaffUpdateSchema,
    "StaffMember": requests_schemas.StaffViewSchema,
    "StaffSuggestion": requests_schemas.SuggestionSchema,
}

_R = "/api/staff/requests/{request_id}"
# the tuple layout of openapi.OPERATIONS
OPERATIONS = [
    ("/api/requests", "post", "submitRequest",
     "Ask the centre for tailored support (no account, no ID document): 201 with a receipt",
     False, "RequestIntake", (201, "RequestReceipt", False), (400,)),
    ("/api/staff/requests", "get", "listRequests",
     "The request desk: queues (new, mine, overdue), filters and text search", True, None,
     (200, "Request", True), (400,)),
    ("/api/staff/requests", "post", "recordRequest", "Enter a request taken by phone (or mail)", True,
     "StaffRequestIntake", (201, "Request", False), (400,)),
    ("/api/staff/requests/export.csv", "get", "exportRequests",
     "The same selection as listRequests, as CSV (one row per request)", True, None, (200, None, False), (400,)),
    (_R, "get", "getRequest", "One request with its notes and deliveries", True, None, (200, "Request", False),
     (404,)),
    (_R, "patch", "updateRequestTags", "Change the theme and/or goal (SD1.OD4) of a request", True,
     "RequestTags", (200, "Request", False), (400, 404, 409)),
    (_R + "/suggestions", "get", "suggestStaff",
     "Colleagues for this request: most shared expertise themes first, then the lightest open load", True,
     None, (200, "StaffSuggestion", True), (404,)),
    (_R + "/explore", "post", "exploreRequest",
     "Start exploring (the conversation with the requester; counts as the requester's answer)", True,
     "RequestExplore", (200, "Request", False), (400, 404, 409)),
    (_R + "/notes", "post", "addRequestNote", "Add a conversation note (while exploring, accepted or delivered)",
     True, "RequestNote", (200, "Request", False), (400, 404, 409)),
    (_R + "/accept", "post", "acceptRequest", "Accept (weerhouden) with an assignee; emits request.accepted",
     True, "RequestAccept", (200, "Request", False), (400, 404, 409)),
    (_R + "/decline", "post", "declineRequest",
     "Decline with a reason, optionally referring to a named partner; emits request.declined", True,
     "RequestDecline", (200, "Request", False), (400, 404, 409)),
    (_R + "/deliveries", "post", "recordDelivery", "Record a delivery; emits request.delivered", True,
     "RequestDelivery", (200, "Request", False), (400, 404, 409)),
    (_R + "/close", "post", "closeRequest", "Close a delivered request", True, None, (200, "Request", False),
     (404, 409)),
    ("/api/staff/requests/staff", "get", "listStaffMembers", "Colleagues who take requests, with their open load",
     True, None, (200, "StaffMember", True), ()),
    ("/api/staff/requests/staff", "post", "createStaffMember", "Add a colleague with expertise themes", True,
     "StaffMemberInput", (201, "StaffMember", False), (400,)),
    ("/api/staff/requests/staff/{staff_id}", "get", "getStaffMember", "One colleague", True, None,
     (200, "StaffMember", False), (404,)),
    ("/api/staff/requests/staff/{staff_id}", "patch", "updateStaffMember",
     "Change a colleague (name, email, themes, active)", True, "StaffMemberUpdate", (200, "StaffMember", False),
     (400, 404)),
]

FILTERS = [
    ("queue", "new (received, most urgent first), mine (open requests of `assignee`), overdue", ["new", "mine",
                                                                                                   "overdue"]),
    ("status", "a lifecycle status", list(requests_schemas.STATUSES)),
    ("theme", "a theme (case-insensitive)", None),
    ("goal", "a goal code such as SD1.OD4", None),
    ("assignee", "a staff_id", None),
    ("target_group", "primary or secondary", ["primary", "secondary"]),
    ("q", "text in the question, contact, organisation name, theme or referral", None),
]
# the list's pages (the export takes the whole selection)
PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False, "description": "requests per page (default 50)",
     "schema": {"type": "integer", "minimum": 1, "maximum": requests_schemas.MAX_PAGE_SIZE}},
    {"name": "offset", "in": "query", "required": False, "description": "requests to skip",
     "schema": {"type": "integer", "minimum": 0}},
]


def _filter_parameters() -> list[dict]:
    parameters = []
    for name, description, choices in FILTERS:
        schema = {"type": "string"}
        if choices:
            schema["enum"] = choices
        parameters.append({"name": name, "in": "query", "required": False, "schema": schema,
                           "description": description})
    return parameters


def refine(operations: dict) -> None:
    """Query parameters of the desk's list and export, and the export's text/csv answer."""
    listing = operations.get("/api/staff/requests", {}).get("get")
    export = operations.get("/api/staff/requests/export.csv", {}).get("get")
    for operation in (listing, export):
        if operation is not None:
            operation["parameters"].extend(_filter_parameters())
    if listing is not None:
        listing["parameters"].extend(PAGE_PARAMETERS)
        listing["description"] = ("One page (limit, offset) of requests, without the requesters' e-mail, phone "
                                  "and notes: those are on the request's own page (getRequest).")
    if export is not None:
        export["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
        export["description"] = "Every requester's contact details at once: an admin token (docs/SECURITY.md)."
        export["responses"]["403"]["description"] = "A staff token: this bulk export of personal data needs admin."
