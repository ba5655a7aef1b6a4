"""What clients of the requests service may import: the schemas of its RPC inputs and outputs, the
statuses a request goes through and the largest page of the staff desk's list."""
from services.requests.domain import STATUSES
from services.requests.schemas import (
    MAX_PAGE_SIZE,
    AcceptSchema,
    ContactSchema,
    DeclineSchema,
    DeliverySchema,
    ExploreSchema,
    NoteSchema,
    PublicIntakeSchema,
    ReceiptSchema,
    RequestFiltersSchema,
    RequestViewSchema,
    StaffInputSchema,
    StaffIntakeSchema,
    StaffUpdateSchema,
    StaffViewSchema,
    SuggestionSchema,
    TagsSchema,
)

__all__ = [
    "STATUSES", "MAX_PAGE_SIZE", "AcceptSchema", "ContactSchema", "DeclineSchema", "DeliverySchema",
    "ExploreSchema", "NoteSchema", "PublicIntakeSchema", "ReceiptSchema", "RequestFiltersSchema",
    "RequestViewSchema", "StaffInputSchema", "StaffIntakeSchema", "StaffUpdateSchema", "StaffViewSchema",
    "SuggestionSchema", "TagsSchema",
]
