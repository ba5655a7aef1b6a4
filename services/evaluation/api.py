"""What clients of the evaluation service may import: the schemas of its RPC outputs, the stages
of a survey (final, or midway through a track) and what an answer may hold (scores, free texts)."""
from services.evaluation.domain import SCORES, STAGES, TEXT_FIELDS, TEXT_MAX_LENGTH
from services.evaluation.schemas import (
    ActivityReportSchema,
    ActivitySummarySchema,
    InvitationSchema,
    ReceiptSchema,
    SurveySchema,
)

__all__ = ["SCORES", "STAGES", "TEXT_FIELDS", "TEXT_MAX_LENGTH", "ActivityReportSchema", "ActivitySummarySchema",
           "InvitationSchema", "ReceiptSchema", "SurveySchema"]
