"""Reporting service: rolling KPI aggregates from events alone (DESIGN.md).

One batch consumer takes every event reporting needs (event-carried state:
it never asks another service) and, per batch, in one transaction: claims the
fresh events, merges them into the facts, recomputes the touched units and
applies their deltas to the aggregates (store.ingest). Reads cost a handful of
primary-key lookups, whatever the number of events behind them.

RPC: annual_kpis(year), annual_report(year, previous_years=None), rolling_kpis(days, until=None),
activity_kpis(activity_id), dashboard(year, since=None).
"""
from __future__ import annotations

from datetime import date, datetime

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider

from kernel import health
from kernel.config import CENTRE_TIMEZONE
from kernel.consumer import batch_event_handler
from kernel.dependencies import Database
from kernel.errors import NotFound, ValidationFailed
from kernel.rpc import rpc
from services.reporting import dashboard, domain, prior, report, store

MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_WINDOW_DAYS = 366


def _year(value) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = None
    if year is None or isinstance(value, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed("invalid year", {"year": [f"A year between {MIN_YEAR} and {MAX_YEAR}."]})
    return year


def _days(value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = None
    if days is None or isinstance(value, bool) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValidationFailed("invalid window", {"days": [f"A number of days from 1 to {MAX_WINDOW_DAYS}."]})
    return days


def _previous_years(value) -> int | None:
    if value is None:
        return None
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = None
    if count is None or isinstance(value, bool) or not 0 <= count <= report.MAX_PREVIOUS_YEARS:
        raise ValidationFailed("invalid number of previous years", {
            "previous_years": [f"A number of previous years from 0 to {report.MAX_PREVIOUS_YEARS}."]})
    return count


def _until(value) -> date:
    if value is None:
        return datetime.now(CENTRE_TIMEZONE).date()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed("invalid date", {"until": ["An ISO date (YYYY-MM-DD)."]}) from None


class UnitCacheProvider(DependencyProvider):
    """One store.UnitCache per service container (worker process), shared by its batches."""

    def setup(self):
        self.cache = store.UnitCache()

    def get_dependency(self, worker_ctx):
        return self.cache


class ReportingService(health.HealthRpc):
    name = "reporting"
    db = Database()
    config = Config()
    units = UnitCacheProvider()

    # a backlog drains in batches of up to 2,000 (fixed costs per transaction); a trickle is
    # handled once the queue is quiet for 5 ms (a figure is readable ~30 ms after its event)
    @batch_event_handler(domain.CONSUMED, max_batch=2000, max_wait_ms=300, idle_ms=5)
    def on_events(self, events: list[dict]) -> None:
        thresholds = domain.Thresholds.from_config(self.config)
        with self.db.unit_of_work() as uow:
            fresh = uow.claim_many(events)  # duplicates and redeliveries change nothing
            if fresh:
                store.ingest(uow, fresh, thresholds, self.units)

    @rpc
    def annual_kpis(self, year) -> dict:
        """The key-figure document of a calendar year (DESIGN.md, exactly)."""
        year = _year(year)
        with self.db.read() as session:
            return store.annual(session, year)

    @rpc
    def annual_report(self, year, previous_years=None) -> dict:
        """The key-figure table of `year` with previous years beside it and the yearly targets
        marked met / missed / not_measured (report.py). previous_years None: those of the four
        years before with any figure; a number: exactly that many years before."""
        year, previous = _year(year), _previous_years(previous_years)
        thresholds = domain.Thresholds.from_config(self.config)
        with self.db.read() as session:
            with_data = set()
            if previous is None:
                with_data = store.years_with_data(session, range(year - report.DEFAULT_PREVIOUS_YEARS, year))
            years = [y for y in report.years_shown(year, previous, with_data) if y >= MIN_YEAR]
            documents = [store.annual(session, y) for y in years]
            imported = prior.documents_before(session, years[0], report.MAX_PREVIOUS_YEARS + 1 - len(years))
            primary_org_types = store.definition(session, year)
        return report.build(year, documents, thresholds, imported, primary_org_types)

    @rpc
    def dashboard(self, year, since=None) -> dict:
        """The live dashboard of `year` (dashboard.py): the annual document, its targets met or
        missed, twelve month rows, the year's activities with their alerts, and a `version`;
        only {"year", "version", "changed": false} while `since` is that version."""
        year = _year(year)
        since = since if isinstance(since, str) and since else None
        thresholds = domain.Thresholds.from_config(self.config)
        with self.db.read() as session:
            snapshot = dashboard.read(session, year)
        return dashboard.answer(snapshot, thresholds, since)

    @rpc
    def rolling_kpis(self, days, until=None) -> dict:
        """The same figures over the `days` days ending `until` (default: today in the centre's time zone)."""
        days, until = _days(days), _until(until)
        with self.db.read() as session:
            return store.rolling(session, days, until)

    @rpc
    def activity_kpis(self, activity_id) -> dict:
        """Registrations, fill rate, participants, response rate, satisfaction and NPS of one activity."""
        if not isinstance(activity_id, str) or not activity_id or len(activity_id) > 64:
            raise NotFound("activity not found")
        with self.db.read() as session:
            document = store.activity(session, activity_id)
        if document is None:
            raise NotFound("activity not found")
        return document
