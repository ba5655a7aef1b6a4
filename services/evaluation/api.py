"""What clients of the evaluation service may import: the schemas of its RPC outputs and the stages
of a survey (final, or midway through a track)."""
from services.evaluation.domain import STAGES
from services.evaluation.schemas import (
    ActivityReportSchema,
    ActivitySummarySchema,
    InvitationSchema,
    ReceiptSchema,
    SurveySchema,
)

__all__ = ["STAGES", "ActivityReportSchema", "ActivitySummarySchema", "InvitationSchema", "ReceiptSchema",
           "SurveySchema"]
