"""The accounts' part of the OpenAPI description: the components their operations name (the
routes declare their operations, services.gateway.accounts.routes)."""
from __future__ import annotations

from services.accounts import api as accounts

COMPONENTS = {
    "AccountInput": accounts.AccountInputSchema,
    "Account": accounts.AccountViewSchema,
}
