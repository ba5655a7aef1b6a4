"""The staff evaluation routes' part of the OpenAPI description: the components their operations
name and the `stage` query parameter (the routes declare their operations,
services.gateway.evaluations.routes). The public survey page (/evaluations/<token>) is HTML, not
part of the JSON API."""
from __future__ import annotations

from services.evaluation import api as evaluation_schemas
from services.evaluation.api import STAGES
from services.gateway.core.openapi import query_parameter

COMPONENTS = {
    "EvaluationActivitySummary": evaluation_schemas.ActivitySummarySchema,
    "EvaluationActivityReport": evaluation_schemas.ActivityReportSchema,
}
STAGE_PARAMETER = query_parameter(
    "stage", {"type": "string", "enum": list(STAGES)},
    "final (default) or midway (the optional midway survey of a multi-session track)")
