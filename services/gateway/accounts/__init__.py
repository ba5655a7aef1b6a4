"""Staff accounts: the admins' pages (accounts, their sessions and API tokens, the audit log) and
`POST /api/admin/accounts` (see routes)."""
