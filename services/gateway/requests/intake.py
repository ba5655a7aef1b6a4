"""What the two request forms (the public one and the desk's phone intake) share: the kinds of
requester offered besides the directory's organisations, and how the form's one "organisation"
choice becomes the requests service's `organisation_id` or `org_type`."""
from __future__ import annotations

ORG_TYPE_CHOICES = ("civiel_scw", "overheid", "onderwijs_onderzoek", "andere_sector")
ORG_TYPE_PREFIX = "type:"  # an option "type:<org_type>" is a kind of requester, any other a directory id


def organisation_fields(choice: str) -> dict:
    """{"organisation_id", "org_type"} of the form's choice (both None: no organisation)."""
    if choice.startswith(ORG_TYPE_PREFIX):
        return {"organisation_id": None, "org_type": choice.removeprefix(ORG_TYPE_PREFIX)}
    return {"organisation_id": choice or None, "org_type": None}
