"""The staff evaluation routes' part of the OpenAPI description (services/gateway/openapi.py takes
OPERATIONS and COMPONENTS from here, and `refine` adds the `stage` query parameter and the CSV
answer). The public survey page (/evaluations/<token>) is HTML, not part of the JSON API."""
from __future__ import annotations

from services.evaluation import schemas as evaluation_schemas
from services.evaluation.domain import STAGES

COMPONENTS = {
    "EvaluationActivitySummary": evaluation_schemas.ActivitySummarySchema,
    "EvaluationActivityReport": evaluation_schemas.ActivityReportSchema,
}

_A = "/api/staff/evaluations/activities"
# the tuple layout of openapi.OPERATIONS
OPERATIONS = [
    (_A, "get", "listEvaluationReports",
     "Activities with surveys, latest first: response rate, satisfaction % and NPS", True, None,
     (200, "EvaluationActivitySummary", True), (400,)),
    (_A + "/{activity_id}", "get", "getEvaluationReport",
     "One activity's surveys: response rate, satisfaction %, NPS with the 0-10 distributions of both "
     "questions, and the comments (no names)", True, None, (200, "EvaluationActivityReport", False), (400, 404)),
    (_A + "/{activity_id}/export.csv", "get", "exportEvaluations",
     "One activity's answers as CSV (one row per answer; no names)", True, None, (200, None, False), (400, 404)),
]


def refine(operations: dict) -> None:
    stage = {"name": "stage", "in": "query", "required": False, "schema": {"type": "string", "enum": list(STAGES)},
             "description": "final (default) or midway (the optional midway survey of a multi-session track)"}
    for path in (_A, _A + "/{activity_id}", _A + "/{activity_id}/export.csv"):
        operation = operations.get(path, {}).get("get")
        if operation is not None:
            operation["parameters"].append(dict(stage))
    export = operations.get(_A + "/{activity_id}/export.csv", {}).get("get")
    if export is not None:
        export["responses"]["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
