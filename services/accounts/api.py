"""What clients of the accounts service may import: the schemas of its RPC inputs and outputs, the
roles and the password's minimum length."""
from services.accounts.domain import AUDIT_ACTIONS, AUDIT_SUBJECTS, PASSWORD_MIN_LENGTH, ROLES
from services.accounts.schemas import (
    MAX_AUDIT_PAGE,
    AccountInputSchema,
    AccountUpdateSchema,
    AccountViewSchema,
    ApiTokenViewSchema,
    AuditEntrySchema,
)

__all__ = [
    "AUDIT_ACTIONS", "AUDIT_SUBJECTS", "PASSWORD_MIN_LENGTH", "ROLES", "MAX_AUDIT_PAGE", "AccountInputSchema",
    "AccountUpdateSchema", "AccountViewSchema", "ApiTokenViewSchema", "AuditEntrySchema",
]
