"""The public registration form: its fields, the payload it becomes for
`registration.register`, and field-level errors (local checks and the
service's ValidationFailed details) mapped back onto the form's inputs.

The registration service stays the authority on validity; the checks here
only catch the obvious (empty required fields, an address without "@") so the
page can answer in the visitor's language without a round trip.
"""
from __future__ import annotations

from collections.abc import Mapping

from kernel.contract import ROLES
from kernel.rules import LANGUAGES
from services.gateway.core.forms import EMAIL_SHAPE, FormErrors, checked, flatten_details, text
from services.registration.api import NEEDS_FLAGS, ORGANISATION_KINDS, STAGED_ORG_TYPES

ORG_INDIVIDUAL = "individual"  # one of ORGANISATION_KINDS: no organisation chosen
ORG_NOT_LISTED = "not_listed"  # the organisation is not in the list: its name and type are given

# Form input names (also the HTML ids, prefixed with "f-").
F_NAME = "name"
F_EMAIL = "email"
F_ORGANISATION = "organisation"
F_NEW_ORG_NAME = "new_organisation_name"
F_NEW_ORG_TYPE = "new_organisation_type"
F_ROLE = "role"
F_LANGUAGE = "language"
F_NEEDS = "needs"
F_NEEDS_DIETARY = "needs_dietary"
F_NEEDS_OTHER = "needs_other"
F_BEGELEIDER = "registering_for_someone_else"
F_BEGELEIDER_NAME = "begeleider_name"
F_BEGELEIDER_EMAIL = "begeleider_email"
F_CONSENT = "privacy_consent"
F_CODE = "code"

# The order of fields on the page (and in the error summary).
FIELD_ORDER = (
    F_NAME, F_EMAIL, F_ORGANISATION, F_NEW_ORG_NAME, F_NEW_ORG_TYPE, F_ROLE, F_LANGUAGE, F_NEEDS, F_NEEDS_DIETARY,
    F_NEEDS_OTHER, F_BEGELEIDER, F_BEGELEIDER_NAME, F_BEGELEIDER_EMAIL, F_CONSENT, F_CODE,
)

# Where an error on a payload field (flattened with dots) shows up on the form.
PAYLOAD_TO_FORM = {
    "name": F_NAME,
    "email": F_EMAIL,
    "organisation_id": F_ORGANISATION,
    "organisation_kind": F_ORGANISATION,
    "organisation": F_ORGANISATION,
    "new_organisation": F_NEW_ORG_NAME,
    "new_organisation.name": F_NEW_ORG_NAME,
    "new_organisation.org_type": F_NEW_ORG_TYPE,
    "role": F_ROLE,
    "language": F_LANGUAGE,
    "needs": F_NEEDS,
    "needs.dietary": F_NEEDS_DIETARY,
    "needs.other": F_NEEDS_OTHER,
    "begeleider": F_BEGELEIDER,
    "begeleider.name": F_BEGELEIDER_NAME,
    "begeleider.email": F_BEGELEIDER_EMAIL,
    "privacy_consent": F_CONSENT,
    "invitation_code": F_CODE,
}
for _need in NEEDS_FLAGS:
    PAYLOAD_TO_FORM[f"needs.{_need}"] = F_NEEDS

# Field -> catalogue key of its label (for the error summary).
FIELD_LABELS = {
    F_NAME: "field_name",
    F_EMAIL: "field_email",
    F_ORGANISATION: "field_organisation",
    F_NEW_ORG_NAME: "field_new_organisation_name",
    F_NEW_ORG_TYPE: "field_new_organisation_type",
    F_ROLE: "field_role",
    F_LANGUAGE: "field_language",
    F_NEEDS: "legend_needs",
    F_NEEDS_DIETARY: "field_needs_dietary",
    F_NEEDS_OTHER: "field_needs_other",
    F_BEGELEIDER: "legend_begeleider",
    F_BEGELEIDER_NAME: "field_begeleider_name",
    F_BEGELEIDER_EMAIL: "field_begeleider_email",
    F_CONSENT: "legend_privacy",
    F_CODE: "field_invitation_code",
}



class RegistrationFormErrors(FormErrors):
    """The registration form's errors, in the order of its fields on the page."""

    FIELD_ORDER = FIELD_ORDER


def _list(form, name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return [v for v in getlist(name) if v]
    value = form.get(name)
    if isinstance(value, list | tuple):
        return list(value)
    return [value] if value else []


def form_values(form) -> dict:
    """What the visitor typed, normalised, to re-fill the form after an error. An organisation's name
    typed with the list left at its first choice means the organisation is not listed."""
    organisation = text(form, F_ORGANISATION)
    if text(form, F_NEW_ORG_NAME) and organisation in ("", ORG_INDIVIDUAL):
        organisation = ORG_NOT_LISTED
    return {
        F_NAME: text(form, F_NAME),
        F_EMAIL: text(form, F_EMAIL),
        F_ORGANISATION: organisation,
        F_NEW_ORG_NAME: text(form, F_NEW_ORG_NAME),
        F_NEW_ORG_TYPE: text(form, F_NEW_ORG_TYPE),
        F_ROLE: text(form, F_ROLE),
        F_LANGUAGE: text(form, F_LANGUAGE),
        F_NEEDS: [n for n in _list(form, F_NEEDS) if n in NEEDS_FLAGS],
        F_NEEDS_DIETARY: text(form, F_NEEDS_DIETARY),
        F_NEEDS_OTHER: text(form, F_NEEDS_OTHER),
        F_BEGELEIDER: checked(form, F_BEGELEIDER),
        F_BEGELEIDER_NAME: text(form, F_BEGELEIDER_NAME),
        F_BEGELEIDER_EMAIL: text(form, F_BEGELEIDER_EMAIL),
        F_CONSENT: checked(form, F_CONSENT),
        F_CODE: text(form, F_CODE),
    }


def to_payload(values: Mapping, default_language: str = "nl") -> dict:
    """The `register` payload for normalised form values (see form_values).

    With an organisation from the directory, `organisation_kind` is left out
    (the service then takes the organisation's own type).
    """
    organisation = values.get(F_ORGANISATION) or ORG_INDIVIDUAL
    needs = {need: need in (values.get(F_NEEDS) or ()) for need in NEEDS_FLAGS}
    needs["dietary"] = values.get(F_NEEDS_DIETARY) or None
    needs["other"] = values.get(F_NEEDS_OTHER) or None
    begeleider = None
    if values.get(F_BEGELEIDER) or values.get(F_BEGELEIDER_NAME) or values.get(F_BEGELEIDER_EMAIL):
        begeleider = {"name": values.get(F_BEGELEIDER_NAME) or "", "email": values.get(F_BEGELEIDER_EMAIL) or ""}
    payload = {
        "name": values.get(F_NAME) or "",
        "email": values.get(F_EMAIL) or None,
        "organisation_id": None,
        "role": values.get(F_ROLE) or None,
        "language": values.get(F_LANGUAGE) or default_language,
        "needs": needs,
        "privacy_consent": bool(values.get(F_CONSENT)),
        "invitation_code": values.get(F_CODE) or None,
        "begeleider": begeleider,
    }
    if organisation in ORGANISATION_KINDS:
        payload["organisation_kind"] = organisation
    elif organisation == ORG_NOT_LISTED:
        payload["new_organisation"] = {"name": values.get(F_NEW_ORG_NAME) or "",
                                       "org_type": values.get(F_NEW_ORG_TYPE) or ""}
    else:
        payload["organisation_id"] = organisation
    return payload


def check(values: Mapping, t, organisation_ids=None) -> RegistrationFormErrors:
    """The obvious mistakes, with messages in the visitor's language (`t` translates)."""
    errors = RegistrationFormErrors()
    if not values.get(F_NAME):
        errors.add(F_NAME, t("err_name_required"))
    email = values.get(F_EMAIL)
    if not email:
        if not values.get(F_BEGELEIDER):  # a begeleider may register someone without an email address
            errors.add(F_EMAIL, t("err_email_required"))
    elif not EMAIL_SHAPE.match(email):
        errors.add(F_EMAIL, t("err_email_invalid"))
    organisation = values.get(F_ORGANISATION)
    if organisation == ORG_NOT_LISTED:
        if not values.get(F_NEW_ORG_NAME):
            errors.add(F_NEW_ORG_NAME, t("err_new_organisation_name_required"))
        if values.get(F_NEW_ORG_TYPE) not in STAGED_ORG_TYPES:
            errors.add(F_NEW_ORG_TYPE, t("err_new_organisation_type_required"))
    elif organisation and organisation not in ORGANISATION_KINDS and organisation_ids is not None:
        if organisation not in organisation_ids:
            errors.add(F_ORGANISATION, t("err_choice_invalid"))
    if values.get(F_ROLE) and values[F_ROLE] not in ROLES:
        errors.add(F_ROLE, t("err_choice_invalid"))
    if values.get(F_LANGUAGE) and values[F_LANGUAGE] not in LANGUAGES:
        errors.add(F_LANGUAGE, t("err_choice_invalid"))
    if values.get(F_BEGELEIDER):
        if not values.get(F_BEGELEIDER_NAME):
            errors.add(F_BEGELEIDER_NAME, t("err_begeleider_name_required"))
        b_email = values.get(F_BEGELEIDER_EMAIL)
        if not b_email:
            errors.add(F_BEGELEIDER_EMAIL, t("err_begeleider_email_required"))
        elif not EMAIL_SHAPE.match(b_email):
            errors.add(F_BEGELEIDER_EMAIL, t("err_email_invalid"))
    if not values.get(F_CONSENT):
        errors.add(F_CONSENT, t("err_consent_required"))
    return errors


def form_field_for(payload_field: str) -> str | None:
    """The form input that shows an error on `payload_field` (None: a form-wide error)."""
    if payload_field in PAYLOAD_TO_FORM:
        return PAYLOAD_TO_FORM[payload_field]
    head = payload_field.split(".")[0]
    return PAYLOAD_TO_FORM.get(head)


def errors_from_details(details, t) -> tuple[RegistrationFormErrors, list[str]]:
    """The service's ValidationFailed details as form errors, plus messages that belong to no field.

    The service's messages are shown as they come (they may be in English),
    after a short line in the visitor's language.
    """
    errors = RegistrationFormErrors()
    general: list[str] = []
    for payload_field, messages in flatten_details(details).items():
        target = form_field_for(payload_field)
        if target is None:
            general.extend(messages)
            continue
        if target == F_CONSENT:
            errors.add(target, t("err_consent_required"))
            continue
        for message in messages:
            errors.add(target, f"{t('err_field_invalid')} ({message})" if message else t("err_field_invalid"))
    return errors, general
