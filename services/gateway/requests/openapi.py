"""The request desk's part of the OpenAPI description: the components its operations name and the
query parameters of the desk's list and export (the routes declare their operations,
services.gateway.requests.routes)."""
from __future__ import annotations

from services.gateway.core.openapi import query_parameter
from services.requests import api as requests_schemas

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
PAGE_PARAMETERS = (
    query_parameter("limit", {"type": "integer", "minimum": 1, "maximum": requests_schemas.MAX_PAGE_SIZE},
                    "requests per page (default 50)"),
    query_parameter("offset", {"type": "integer", "minimum": 0}, "requests to skip"),
)
FILTER_PARAMETERS = tuple(
    query_parameter(name, {"type": "string", **({"enum": choices} if choices else {})}, description)
    for name, description, choices in FILTERS
)
