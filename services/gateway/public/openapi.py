"""The public registration routes' part of the OpenAPI description: the components their
operations name (the routes declare their operations, services.gateway.public.routes), from the
schemas the registration service loads and dumps with."""
from __future__ import annotations

from services.registration import api as registration

COMPONENTS = {
    "RegistrationRequest": registration.RegistrationRequestSchema,
    "RegistrationResult": registration.RegistrationResultSchema,
    "Registration": registration.PublicRegistrationSchema,
    "PublicActivity": registration.PublicActivitySchema,
}
