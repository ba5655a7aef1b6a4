"""The admins' account management and the audit log (the accounts service keeps both).

- POST /api/admin/accounts: a new account (JSON {email, name, role, password}; admin);
"""
from __future__ import annotations

from services.gateway.accounts.openapi import COMPONENTS
from services.gateway.core.audit import actor_of
from services.gateway.core.auth import require, viewer_of
from services.gateway.core.errors import api
from services.gateway.core.http import read_json_object
from services.gateway.core.openapi import operation
from services.gateway.core.security import http


class AccountRoutes:
    """The service class provides `accounts`."""

    openapi_components = COMPONENTS

    @operation("createAccount", "Create a staff account (the password is stored only as an argon2id hash)",
               request="AccountInput", response="Account", status=201, errors=(400, 409))
    @http("POST", "/api/admin/accounts")
    @api
    @require("admin")
    def admin_create_account(self, request):
        return 201, self.accounts.create_account(read_json_object(request), actor_of(viewer_of(request)))
