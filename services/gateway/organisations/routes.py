"""The organisations directory for staff (staff token; HTML, no JavaScript):

- GET /staff/organisations: the list, with a search on the name (?q=) and filters on the type
  (?type=), recognition (?recognised=yes|no) and those participants named and staff have not yet
  confirmed (?unconfirmed=1); saving such an organisation's form, or importing its name, confirms it;
- GET/POST /staff/organisations/new and /staff/organisations/<id>/edit: the form (name, type,
  recognised); errors beside the fields and in a summary, nothing written on bad input; a name the
  directory already holds (case-insensitive) is refused, so a double submit creates one organisation;
- GET/POST /staff/organisations/import, POST /staff/organisations/import/confirm: a CSV file
  (name, type, recognised) shown as a preview of what will be created, updated and skipped (the
  lines that could not be read); the preview's rows travel signed in a hidden field, and confirming
  writes them compared once more with the directory, so a second confirm changes nothing.

The registration service keeps the directory (`self.registration`).
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from kernel.contract import ORG_TYPES, ORG_TYPES_OTHER, ORG_TYPES_RECOGNISED
from kernel.errors import NotFound, ValidationFailed
from services.gateway.core.audit import record
from services.gateway.core.auth import require
from services.gateway.core.csrf import csrf_key
from services.gateway.core.forms import text
from services.gateway.core.pages import StaffPage
from services.gateway.core.security import http
from services.gateway.organisations import forms

log = logging.getLogger(__name__)

LIST_URL = "/staff/organisations"
FORM = "organisations/form.html"
TYPE_GROUPS = (("organisations_types_recognised", ORG_TYPES_RECOGNISED),
               ("organisations_types_other", ORG_TYPES_OTHER))
FORM_CONTEXT = {"type_groups": TYPE_GROUPS, "field_labels": forms.FIELD_LABELS}
UPLOAD_OVERHEAD = 64 * 1024  # the multipart envelope around the file, the form's other fields
IMPORT_CONTEXT = {"columns": forms.CSV_COLUMNS, "type_codes": ORG_TYPES}


def _redirect(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


class OrganisationRoutes:
    """The directory's pages; the service class provides `registration` and `config`."""

    # ------------------------------------------------------------ list

    @http("GET", "/staff/organisations")
    @require("staff")
    def staff_organisations(self, request):
        page = StaffPage(request)
        query, org_type = text(request.args, "q"), text(request.args, "type")
        org_type = org_type if org_type in ORG_TYPES else ""
        recognised = text(request.args, "recognised")
        unconfirmed_only = text(request.args, "unconfirmed") == "1"
        directory = self._organisations_directory()
        shown = [o for o in directory if forms.matches(o, query, org_type, recognised)
                 and (o.get("confirmed", True) is False or not unconfirmed_only)]
        saved = next((o for o in directory if o["organisation_id"] == request.args.get("saved")), None)
        return page.render("organisations/list.html", title=page.t("organisations_title"), organisations=shown,
                           total=len(directory), q=query, type=org_type,
                           recognised=recognised, saved=saved, type_groups=TYPE_GROUPS,
                           unconfirmed_only=unconfirmed_only,
                           unconfirmed=sum(1 for o in directory if o.get("confirmed", True) is False))

    # ------------------------------------------------------------ create, edit

    @http("GET,POST", "/staff/organisations/new")
    @require("staff")
    def staff_organisation_new(self, request):
        page = StaffPage(request)
        context = dict(title=page.t("organisations_new_title"), action="/staff/organisations/new", **FORM_CONTEXT)
        return self._organisation_form(request, page, context, {"name": "", "org_type": "", "recognised": False})

    @http("GET,POST", "/staff/organisations/<organisation_id>/edit")
    @require("staff")
    def staff_organisation_edit(self, request, organisation_id):
        page = StaffPage(request)
        try:
            organisation = self.registration.get_organisation(organisation_id)
        except NotFound:
            return page.not_found()
        context = dict(title=page.t("organisations_edit_title", name=organisation["name"]),
                       action=f"/staff/organisations/{organisation['organisation_id']}/edit", **FORM_CONTEXT)
        context["unconfirmed"] = organisation.get("confirmed", True) is False
        return self._organisation_form(request, page, context, {key: organisation[key] for key in forms.FIELD_ORDER},
                                       organisation["organisation_id"])

    def _organisation_form(self, request, page: StaffPage, context: dict, shown: dict,
                           organisation_id: str | None = None) -> Response:
        """GET: the form with `shown`; POST: checked, created (or `organisation_id` updated) by the
        registration service and recorded, then the list; bad input: the form again (400), nothing written."""
        if request.method != "POST":
            return page.render(FORM, v=shown, errors=None, general_errors=[], **context)
        values = forms.form_values(request.form)
        errors, general = self._checked(values, page.t, organisation_id), []
        if not errors:
            try:
                # a staff member saving an organisation a participant named has checked it: confirmed
                saved = (self.registration.update_organisation(
                    organisation_id, {**values, "confirmed": True} if context.get("unconfirmed") else values)
                    if organisation_id else self.registration.create_organisation(values))
            except ValidationFailed as exc:
                errors, general = forms.errors_from_details(exc.details, page.t)
                general = general or ([] if errors else [page.t("err_form_invalid")])
            else:
                action = "organisation.updated" if organisation_id else "organisation.created"
                record(self, request, action, "organisation", saved["organisation_id"])
                return _redirect(f"{LIST_URL}?{urlencode({'saved': saved['organisation_id']})}")
        return page.render(FORM, status=400, v=values, errors=errors, general_errors=general, **context)

    def _checked(self, values: dict, t, organisation_id: str | None = None) -> forms.OrganisationErrors:
        """The form's own checks, and a name another organisation of the directory already has."""
        errors = forms.check(values, t)
        if "name" not in errors.messages:
            wanted = values["name"].casefold()
            if any(o["name"].casefold() == wanted and o["organisation_id"] != organisation_id
                   for o in self._organisations_directory()):
                errors.add("name", t("organisations_err_name_taken"))
        return errors

    # ------------------------------------------------------------ import

    @http("GET,POST", "/staff/organisations/import", max_body=forms.MAX_IMPORT_BYTES + UPLOAD_OVERHEAD)
    @require("staff")
    def staff_organisations_import(self, request):
        page = StaffPage(request)
        title = page.t("organisations_import_title")
        if request.method != "POST":
            return page.render("organisations/import.html", title=title, error=None, **IMPORT_CONTEXT)
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else b""
        if not raw.strip():
            return page.render("organisations/import.html", status=400, title=title, **IMPORT_CONTEXT,
                               error=page.t("organisations_import_err_no_file"))
        rows, unreadable = forms.read_csv(raw, page.t)
        plan = forms.plan_import(rows, self._organisations_directory(), unreadable)
        return page.render("organisations/preview.html", title=page.t("organisations_preview_title"), plan=plan,
                           filename=upload.filename or "", signed=forms.sign_rows(self._import_key(), rows))

    @http("POST", "/staff/organisations/import/confirm", max_body=forms.MAX_PLAN_BYTES + UPLOAD_OVERHEAD)
    @require("staff")
    def staff_organisations_import_confirm(self, request):
        page = StaffPage(request)
        rows = forms.signed_rows(self._import_key(), request.form.get("plan") or "")
        if rows is None:
            return page.render("organisations/import.html", status=400, title=page.t("organisations_import_title"),
                               **IMPORT_CONTEXT, error=page.t("organisations_import_err_altered"))
        # compared once more: what another confirm (or a colleague) already wrote is not written again
        plan = forms.plan_import(rows, self._organisations_directory())
        for row in plan.create:
            self.registration.create_organisation(
                {"name": row["name"], "org_type": row["org_type"], "recognised": row["recognised"]})
        for row in plan.update:
            self.registration.update_organisation(  # in the centre's own list: confirmed
                row["organisation_id"], {"org_type": row["org_type"], "recognised": row["recognised"],
                                         "confirmed": True})
        if plan.changes:
            record(self, request, "organisation.imported", "organisation", None,
                   created=len(plan.create), updated=len(plan.update))
        return page.render("organisations/imported.html", title=page.t("organisations_imported_title"), plan=plan)

    def _organisations_directory(self) -> list[dict]:
        """Every organisation, those participants named and staff have not yet confirmed included."""
        return self.registration.list_organisations(include_staged=True)

    def _import_key(self) -> bytes:
        return csrf_key(self.config)
