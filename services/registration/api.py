"""What clients of the registration service may import: the schemas of its RPC inputs and outputs
(the gateway describes its JSON API with them), and the choices a registration or activity form offers."""
from services.registration.domain import KINDS, NEEDS_FLAGS, NEEDS_TEXTS, ORGANISATION_KINDS, STAGED_ORG_TYPES
from services.registration.schemas import (
    ActivityInputSchema,
    ActivityUpdateSchema,
    ActivityViewSchema,
    AttendanceSchema,
    CancelActivitySchema,
    OrganisationInputSchema,
    OrganisationUpdateSchema,
    OrganisationViewSchema,
    PostponeActivitySchema,
    PublicActivitySchema,
    PublicRegistrationSchema,
    RegistrationRequestSchema,
    RegistrationResultSchema,
    StaffRegistrationSchema,
)

__all__ = [
    "KINDS", "NEEDS_FLAGS", "NEEDS_TEXTS", "ORGANISATION_KINDS", "STAGED_ORG_TYPES",
    "ActivityInputSchema", "ActivityUpdateSchema", "ActivityViewSchema", "AttendanceSchema",
    "CancelActivitySchema", "OrganisationInputSchema", "OrganisationUpdateSchema", "OrganisationViewSchema",
    "PostponeActivitySchema", "PublicActivitySchema", "PublicRegistrationSchema", "RegistrationRequestSchema",
    "RegistrationResultSchema", "StaffRegistrationSchema",
]
