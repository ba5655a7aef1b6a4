"""What clients of the reporting service may import: how many previous years an annual report may
set beside its own (`annual_report(year, previous_years)`)."""
from services.reporting.report import MAX_PREVIOUS_YEARS

__all__ = ["MAX_PREVIOUS_YEARS"]
