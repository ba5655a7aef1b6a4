"""The admins' account management and the audit log (the accounts service keeps both; it writes
the audit line of every account action itself, naming the admin who did it).

- POST /api/admin/accounts: a new account (JSON {email, name, role, password}; admin);
- /staff/accounts: the list; /staff/accounts/new: the form for a new account;
- /staff/accounts/<id>: change name, role and whether it is active; a new password; sign it out
  everywhere; issue
  a personal API token (shown once) and revoke tokens;
- /staff/audit: the audit log, newest first, by page, filtered by account and by kind of action.
"""
from __future__ import annotations

from werkzeug.wrappers import Response

from kernel.errors import Conflict, NotFound, ValidationFailed
from services.accounts import api as accounts_api
from services.gateway.accounts.openapi import COMPONENTS
from services.gateway.core.audit import actor_of
from services.gateway.core.auth import require, viewer_of
from services.gateway.core.errors import api
from services.gateway.core.forms import FormErrors, checked, flatten_details, text
from services.gateway.core.http import read_json_object
from services.gateway.core.openapi import operation
from services.gateway.core.pages import StaffPage
from services.gateway.core.security import http

AUDIT_PAGE_SIZE = 50
# where the audit page links a line's subject (an account links to its own page)
SUBJECT_LINKS = {"activity": "/staff/activities/{id}", "request": "/staff/requests/{id}",
                 "organisation": "/staff/organisations/{id}/edit", "request_staff": "/staff/requests/colleagues/{id}"}
# what the account's page says after a change led back to it (?made=1 ...)
NOTICES = (("made", "accounts_made_notice"), ("saved", "accounts_saved_notice"),
           ("signed_out", "accounts_signed_out_notice"), ("password_set", "accounts_password_set_notice"))
# the message shown beside a field the accounts service refused (its own messages are English)
FIELD_ERRORS = {"email": "accounts_error_email", "name": "accounts_error_name", "role": "accounts_error_role",
                "password": "accounts_error_password", "active": "accounts_error_role"}
FIELD_LABELS = {"email": "accounts_email", "name": "accounts_name", "role": "accounts_role",
                "password": "accounts_password", "active": "accounts_active"}


class AccountFormErrors(FormErrors):
    FIELD_ORDER = ("email", "name", "role", "password", "active")


def form_errors(page: StaffPage, error: ValidationFailed | Conflict) -> AccountFormErrors:
    errors = AccountFormErrors()
    if isinstance(error, Conflict):
        errors.add("email", page.t("accounts_error_email_taken"))
        return errors
    for name in flatten_details(error.details):
        errors.add(name if name in FIELD_ERRORS else "email", page.t(FIELD_ERRORS.get(name, "accounts_error_email")))
    return errors


def redirect(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


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

    # ------------------------------------------------------------ the admins' pages

    def _account_page(self, request, account_id, status=200, errors=None, issued=None, notice_key=None):
        page = StaffPage(request)
        try:
            account = self.accounts.get_account(account_id)
        except NotFound:
            return page.not_found()
        return page.render("accounts/account.html", status=status, title=account["name"], account=account,
                           tokens=self.accounts.list_tokens(account_id), roles=accounts_api.ROLES, errors=errors,
                           general_errors=[], field_labels=FIELD_LABELS, issued=issued,
                           notice=page.t(notice_key) if notice_key else None,
                           v=request.form if errors and "name" in request.form else account)

    @http("GET", "/staff/accounts")
    @require("admin")
    def staff_accounts(self, request):
        page = StaffPage(request)
        return page.render("accounts/list.html", title=page.t("accounts_list_title"),
                           accounts=self.accounts.list_accounts())

    @http("GET,POST", "/staff/accounts/new")
    @require("admin")
    def staff_account_new(self, request):
        page = StaffPage(request)
        context = {"title": page.t("accounts_new_title"), "roles": accounts_api.ROLES, "field_labels": FIELD_LABELS,
                   "general_errors": [], "min_length": accounts_api.PASSWORD_MIN_LENGTH}
        if request.method != "POST":
            return page.render("accounts/new.html", errors=None, v={"role": "staff"}, **context)
        payload = {"email": text(request.form, "email"), "name": text(request.form, "name"),
                   "role": text(request.form, "role"), "password": request.form.get("password") or ""}
        try:
            made = self.accounts.create_account(payload, actor_of(viewer_of(request)))
        except (ValidationFailed, Conflict) as refused:
            return page.render("accounts/new.html", status=400, errors=form_errors(page, refused),
                               v=request.form, **context)
        return redirect(f"/staff/accounts/{made['account_id']}?made=1")

    @http("GET,POST", "/staff/accounts/<account_id>")
    @require("admin")
    def staff_account(self, request, account_id):
        if request.method != "POST":
            notice = next((key for arg, key in NOTICES if request.args.get(arg)), None)
            return self._account_page(request, account_id, notice_key=notice)
        changes = {"name": text(request.form, "name"), "role": text(request.form, "role"),
                   "active": checked(request.form, "active")}
        try:
            self.accounts.update_account(account_id, changes, actor_of(viewer_of(request)))
        except NotFound:
            return StaffPage(request).not_found()
        except ValidationFailed as refused:
            return self._account_page(request, account_id, 400, form_errors(StaffPage(request), refused))
        except Conflict:  # the last active admin
            errors = AccountFormErrors()
            errors.add("role", StaffPage(request).t("accounts_error_last_admin"))
            return self._account_page(request, account_id, 409, errors)
        return redirect(f"/staff/accounts/{account_id}?saved=1")

    @http("POST", "/staff/accounts/<account_id>/password")
    @require("admin")
    def staff_account_password(self, request, account_id):
        try:
            self.accounts.set_password(account_id, {"password": request.form.get("password") or ""},
                                       actor_of(viewer_of(request)))
        except NotFound:
            return StaffPage(request).not_found()
        except ValidationFailed as refused:
            return self._account_page(request, account_id, 400, form_errors(StaffPage(request), refused))
        return redirect(f"/staff/accounts/{account_id}?password_set=1")

    @http("POST", "/staff/accounts/<account_id>/sessions/revoke")
    @require("admin")
    def staff_account_revoke_sessions(self, request, account_id):
        try:
            self.accounts.revoke_sessions(account_id, actor_of(viewer_of(request)))
        except NotFound:
            return StaffPage(request).not_found()
        return redirect(f"/staff/accounts/{account_id}?signed_out=1")

    @http("POST", "/staff/accounts/<account_id>/tokens")
    @require("admin")
    def staff_account_issue_token(self, request, account_id):
        try:
            issued = self.accounts.issue_token(account_id, {"label": text(request.form, "label")[:100]},
                                               actor_of(viewer_of(request)))
        except NotFound:
            return StaffPage(request).not_found()
        # shown on this answer only: never kept, never redirected to
        return self._account_page(request, account_id, issued=issued)

    @http("POST", "/staff/accounts/<account_id>/tokens/<token_id>/revoke")
    @require("admin")
    def staff_account_revoke_token(self, request, account_id, token_id):
        try:
            self.accounts.revoke_token(token_id, actor_of(viewer_of(request)))
        except NotFound:
            return StaffPage(request).not_found()
        return redirect(f"/staff/accounts/{account_id}")

    @http("GET", "/staff/audit")
    @require("admin")
    def staff_audit(self, request):
        page = StaffPage(request)
        try:
            number = max(1, int(request.args.get("page") or 1))
        except ValueError:
            number = 1
        account_id = request.args.get("account") or None
        kind = request.args.get("kind") or None
        try:
            found = self.accounts.list_audit({"account_id": account_id, "action_kind": kind,
                                              "limit": AUDIT_PAGE_SIZE, "offset": (number - 1) * AUDIT_PAGE_SIZE})
        except ValidationFailed:
            return page.message("accounts_audit_title", [page.t("accounts_audit_bad_filter")], 400)
        pages = max(1, -(-found["total"] // AUDIT_PAGE_SIZE))
        accounts = self.accounts.list_accounts()
        return page.render("accounts/audit.html", title=page.t("accounts_audit_title"), entries=found["entries"],
                           total=found["total"], kinds=found["action_kinds"], accounts=accounts,
                           names={a["account_id"]: a["name"] for a in accounts},
                           account_id=account_id or "", kind=kind or "", page_number=number, pages=pages,
                           subject_links=SUBJECT_LINKS)
