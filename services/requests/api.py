"""What clients of the requests service may import: the schemas of its RPC inputs and outputs, the
statuses a request goes through (and those in which notes may be added), each action's transition,
the forms a delivery takes, and the largest page of the staff desk's list."""
from services.requests.domain import DELIVERY_FORMS, NOTE_STATUSES, STATUSES, TRANSITIONS
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
    "STATUSES", "NOTE_STATUSES", "TRANSITIONS", "DELIVERY_FORMS", "MAX_PAGE_SIZE", "AcceptSchema", "ContactSchema",
    "DeclineSchema", "DeliverySchema",
    "ExploreSchema", "NoteSchema", "PublicIntakeSchema", "ReceiptSchema", "RequestFiltersSchema",
    "RequestViewSchema", "StaffInputSchema", "StaffIntakeSchema", "StaffUpdateSchema", "StaffViewSchema",
    "SuggestionSchema", "TagsSchema",
]
