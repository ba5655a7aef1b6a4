"""What clients of the registration service may import: the schemas of its RPC inputs and outputs
(the gateway describes its JSON API with them), and the choices a registration or activity form offers."""
from services.registration.domain import KINDS, NEEDS_FLAGS, NEEDS_TEXTS, ORGANISATION_KINDS
from services.registration.schemas import (
    ActivityInputSchema,
    ActivityUpdateSchema,
    ActivityViewSchema,
    AttendanceSchema,
    CancelActivitySchema,
    OrganisationInputSchema,
    OrganisationUpdateSchema,
    OrganisationViewSchema,
    PublicActivitySchema,
    PublicRegistrationSchema,
    RegistrationRequestSchema,
    RegistrationResultSchema,
    StaffRegistrationSchema,
)

__all__ = [
    "KINDS", "NEEDS_FLAGS", "NEEDS_TEXTS", "ORGANISATION_KINDS",
    "ActivityInputSchema", "ActivityUpdateSchema", "ActivityViewSchema", "AttendanceSchema",
    "CancelActivitySchema", "OrganisationInputSchema", "OrganisationUpdateSchema", "OrganisationViewSchema",
    "PublicActivitySchema", "PublicRegistrationSchema", "RegistrationRequestSchema",
    "RegistrationResultSchema", "StaffRegistrationSchema",
]
