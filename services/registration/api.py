"""What clients of the registration service may import: the schemas of its RPC inputs and outputs
(the gateway describes its JSON API with them)."""
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
    "ActivityInputSchema", "ActivityUpdateSchema", "ActivityViewSchema", "AttendanceSchema", "CancelActivitySchema",
    "OrganisationInputSchema", "OrganisationUpdateSchema", "OrganisationViewSchema", "PublicActivitySchema",
    "PublicRegistrationSchema", "RegistrationRequestSchema", "RegistrationResultSchema", "StaffRegistrationSchema",
]
