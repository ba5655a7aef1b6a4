"""Evaluation service: satisfaction surveys after an activity.

Thin nameko layer around services/evaluation/domain.py (the rules) and repository.py (the SQL):

- event handlers keep registration's facts (activity kind and dates, completion, cancellation,
  attendance, erased persons) in this service's own tables, idempotently (`uow.claim`) and in
  whatever order they arrive;
- `run_due` (an RPC, and every EVALUATION.DUE_CHECK_SECONDS a timer) sends the surveys that
  are due (`evaluation.requested`, or `evaluation.midway_requested` halfway through a track),
  the one reminder (`evaluation.reminded`) and closes surveys whose term passed; each change
  and its event commit together (outbox);
- the public survey page (gateway) reads and answers a survey through `get_survey` and
  `submit` with the personal signed link; `evaluation.submitted` carries the scores and
  `has_comment`, the free texts stay here;
- the notifications service asks `invitation_for` for the survey link it mails;
- staff: `activity_report`, `list_activity_reports`, `export_csv`.

Every rule reads the time from `self.clock` (tests replace it to move time forward).
"""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from kernel import health
from kernel.config import ROOT, secret_key
from kernel.consumer import event_handler
from kernel.dependencies import Database
from kernel.errors import Conflict, Gone, NotFound, ValidationFailed
from kernel.rpc import rpc
from kernel.rules import InvalidInput
from kernel.tables import utcnow
from services.evaluation import domain, repository, schemas
from services.evaluation.domain import Activity, Attendance, ErasedPerson, Evaluation

log = logging.getLogger(__name__)

DEFAULT_DUE_CHECK_SECONDS = 300

_report = schemas.ActivityReportSchema()
_summary = schemas.ActivitySummarySchema()
_invitation = schemas.InvitationSchema()
_survey = schemas.SurveySchema()
_receipt = schemas.ReceiptSchema()

CSV_COLUMNS = ("evaluation_id", "activity_id", "stage", "requested_at", "submitted_at", "satisfaction", "recommend",
               "most_useful", "could_be_better", "comment")


# --- the clock -----------------------------------------------------------------------------------------------


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class Clock(DependencyProvider):
    """`self.clock.now()`: the moment every rule is applied at (replaced in tests to move time on)."""

    def get_dependency(self, worker_ctx):
        return SystemClock()


class DueTimer(Timer):
    """nameko's timer with its interval from EVALUATION.DUE_CHECK_SECONDS."""

    def setup(self):
        section = self.container.config.get("EVALUATION") or {}
        self.interval = float(section.get("DUE_CHECK_SECONDS") or DEFAULT_DUE_CHECK_SECONDS)
        super().setup()


# --- the key of the survey links -----------------------------------------------------------------------------

LINK_KEY_FILE = ROOT / "var" / "evaluation-link.key"


def link_key(config: dict) -> bytes:
    """EVALUATION.LINK_SECRET, or (not configured: the embedded default) a random key kept in
    var/evaluation-link.key, made on first use. Every evaluation instance must share it."""
    return secret_key(config, "EVALUATION", "LINK_SECRET", LINK_KEY_FILE)


# --- helpers -------------------------------------------------------------------------------------------------


def _aware(value) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}")
    return moment


def _valid_id(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 64


def _stage(stage) -> str:
    stage = stage or domain.FINAL
    if stage not in domain.STAGES:
        raise ValidationFailed("unknown stage", {"stage": [f"Must be one of: {', '.join(domain.STAGES)}."]})
    return stage


def _csv_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


@contextmanager
def _link_errors() -> Iterator[None]:
    """The domain's verdicts on a survey link and its answers as the kernel's RPC errors."""
    try:
        yield
    except domain.InvalidLink:
        raise NotFound("survey not found") from None
    except domain.LinkExpired as exc:
        raise Gone(exc.message, {"reason": "closed"}) from None
    except domain.AlreadyAnswered as exc:
        raise Conflict(exc.message, {"reason": "answered"}) from None
    except InvalidInput as exc:
        raise ValidationFailed(exc.message, exc.details) from None


class EvaluationService(health.HealthRpc):
    name = "evaluation"
    db = Database()
    config = Config()
    clock = Clock()

    # --- settings ------------------------------------------------------------------------------------------

    def _settings(self) -> domain.Settings:
        return domain.Settings.from_config(self.config)

    def _survey_url(self, evaluation: Evaluation) -> str:
        base = str(self.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
        token = domain.make_token(link_key(self.config), evaluation.evaluation_id, evaluation.closes_at)
        return f"{base}/evaluations/{token}"

    # --- registration's facts ------------------------------------------------------------------------------

    def _on_schedule(self, event):
        data, now = event["data"], self.clock.now()
        with self.db.unit_of_work() as uow:
            if uow.claim(event):
                repository.activity_facts(uow.session, data["activity_id"], now).schedule(
                    data["kind"], _aware(data["starts_at"]), _aware(data["ends_at"]), _aware(event["occurred_at"]),
                    now,
                )

    @event_handler("registration", "activity.scheduled")
    def on_activity_scheduled(self, event):
        self._on_schedule(event)

    @event_handler("registration", "activity.updated")
    def on_activity_updated(self, event):
        self._on_schedule(event)

    @event_handler("registration", "activity.completed")
    def on_activity_completed(self, event):
        now = self.clock.now()
        with self.db.unit_of_work() as uow:
            if uow.claim(event):
                repository.activity_facts(uow.session, event["data"]["activity_id"], now).complete(
                    _aware(event["occurred_at"]), now)

    @event_handler("registration", "activity.cancelled")
    def on_activity_cancelled(self, event):
        """No survey for a cancelled activity; a running track's open midway surveys close."""
        activity_id, now = event["data"]["activity_id"], self.clock.now()
        with self.db.unit_of_work() as uow:
            if uow.claim(event):
                repository.activity_facts(uow.session, activity_id, now).cancel(_aware(event["occurred_at"]), now)
                for evaluation in repository.evaluations_of_activity(uow.session, activity_id):
                    evaluation.close(now)

    @event_handler("registration", "attendance.recorded")
    def on_attendance_recorded(self, event):
        data, now = event["data"], self.clock.now()
        with self.db.unit_of_work() as uow:
            if not uow.claim(event):
                return
            session = uow.session
            erased = repository.is_erased(session, data["person_id"])
            row = repository.find_attendance(session, data["registration_id"])
            if row is None:
                row = Attendance(data["registration_id"], data["activity_id"], data["person_id"],
                                 _aware(event["occurred_at"]))
                session.add(row)
            elif row.erased_at is None:  # a correction (days attended): the same registration
                row.activity_id, row.person_id = data["activity_id"], data["person_id"]
            if erased:
                row.erase(now)

    @event_handler("registration", "person.erased")
    def on_person_erased(self, event):
        """Anonymise the person's answers (free text and the link to the person go; scores stay) and
        send them nothing more."""
        person_id, now = event["data"]["person_id"], self.clock.now()
        with self.db.unit_of_work() as uow:
            if not uow.claim(event):
                return
            session = uow.session
            if not repository.is_erased(session, person_id):
                session.add(ErasedPerson(person_id, now))
            for row in repository.attendance_of_person(session, person_id):
                row.erase(now)
            for evaluation in repository.evaluations_of_person(session, person_id):
                evaluation.anonymise(now)

    @rpc
    def export_person(self, person_id):
        """What this service holds about a person (GDPR export): their attendance as told by
        registration and their surveys with the answers (scores and free texts). `erased`: a
        `person.erased` for them was processed (after which nothing links anything here to them)."""
        if not _valid_id(person_id):
            return {"person_id": person_id, "erased": False, "attendance": [], "surveys": []}
        now = self.clock.now()
        with self.db.read() as session:
            erased = repository.is_erased(session, person_id)
            attended, surveys = repository.person_records(session, person_id)
            return {
                "person_id": person_id,
                "erased": erased,
                "attendance": [
                    {"registration_id": a.registration_id, "activity_id": a.activity_id,
                     "recorded_at": a.recorded_at.isoformat()}
                    for a in attended
                ],
                "surveys": [
                    {"evaluation_id": e.evaluation_id, "registration_id": e.registration_id,
                     "activity_id": e.activity_id, "stage": e.stage, "status": e.status(now),
                     "requested_at": e.requested_at.isoformat(), "closes_at": e.closes_at.isoformat(),
                     "submitted_at": e.submitted_at.isoformat() if e.submitted_at else None,
                     "satisfaction": e.satisfaction, "recommend": e.recommend,
                     **{name: getattr(e, name) for name in domain.TEXT_FIELDS}}
                    for e in surveys
                ],
            }

    # --- due work: invitations, the reminder, closing --------------------------------------------------------

    @DueTimer.decorator(interval=DEFAULT_DUE_CHECK_SECONDS)
    def due_work(self):
        try:
            done = self.run_due()
        except Exception:  # noqa: BLE001 - the next round tries again
            log.exception("evaluation due work failed; the next round tries again")
            return
        if any(done.values()):
            log.info("evaluation: %(invited)d invited, %(reminded)d reminded, %(closed)d closed", done)

    @rpc
    def run_due(self) -> dict:
        """Send the surveys that are due, the reminders, and close surveys past their term, at
        `self.clock.now()`. Idempotent: what was done is not done again. Returns the counts."""
        now, settings = self.clock.now(), self._settings()
        invited = 0
        for activity_id in self._invitation_candidates(now, settings):
            try:
                invited += self._invite(activity_id, now, settings)
            except Exception:  # noqa: BLE001 - one activity must not stop the others
                log.exception("invitations for activity %s failed; the next round tries again", activity_id)
        return {"invited": invited, "reminded": self._remind(now, settings), "closed": self._close(now)}

    def _invitation_candidates(self, now: datetime, settings: domain.Settings) -> list[str]:
        """Activities with an attendee not yet invited for a stage that may be due (the domain decides)."""
        with self.db.read() as session:
            return repository.invitation_candidates(session, now, settings)

    def _invite(self, activity_id: str, now: datetime, settings: domain.Settings) -> int:
        with self.db.unit_of_work() as uow:
            activity, attendees, already = repository.invitation_state(uow.session, activity_id)
            planned = domain.plan_invitations(activity, attendees, already, settings, now)
            for evaluation in planned:
                uow.session.add(evaluation)
                uow.emit(evaluation.requested_event, evaluation.event_data())
            return len(planned)

    def _remind(self, now: datetime, settings: domain.Settings) -> int:
        total = 0
        while True:
            with self.db.unit_of_work() as uow:
                due = repository.due_for_reminder(uow.session, now, settings.reminder_after)
                for evaluation in domain.due_reminders(due, settings, now):
                    uow.emit(domain.REMINDED_EVENT, evaluation.remind(settings, now))
                    total += 1
            if len(due) < repository.BATCH:
                return total

    def _close(self, now: datetime) -> int:
        total = 0
        while True:
            with self.db.unit_of_work() as uow:
                due = repository.due_for_closing(uow.session, now)
                total += sum(1 for evaluation in domain.due_closings(due, now) if evaluation.close(now))
            if len(due) < repository.BATCH:
                return total

    # --- for the notifications service ---------------------------------------------------------------------

    @rpc
    def invitation_for(self, evaluation_id):
        """The survey `evaluation_id` with its personal link (`survey_url`) and its `status` (open,
        answered, closed), for the invitation and reminder mails; None when there is no such survey."""
        if not _valid_id(evaluation_id):
            return None
        now = self.clock.now()
        with self.db.read() as session:
            evaluation = repository.get_evaluation(session, evaluation_id)
            if evaluation is None:
                return None
            return _invitation.dump({
                "evaluation_id": evaluation.evaluation_id, "registration_id": evaluation.registration_id,
                "activity_id": evaluation.activity_id, "stage": evaluation.stage,
                "status": evaluation.status(now), "closes_at": evaluation.closes_at,
                "survey_url": self._survey_url(evaluation),
            })

    @rpc
    def invitations_for(self, evaluation_ids):
        """`invitation_for` for many surveys at once (a batch of mails): a dict evaluation id ->
        invitation (None when there is no such survey), read in one snapshot."""
        if not isinstance(evaluation_ids, (list, tuple)):
            return {}
        ids = list(dict.fromkeys(e for e in evaluation_ids if _valid_id(e)))
        now = self.clock.now()
        with self.db.read() as session:
            found = repository.evaluations_by_id(session, ids)
            return {evaluation_id: None if evaluation_id not in found else _invitation.dump({
                "evaluation_id": e.evaluation_id, "registration_id": e.registration_id,
                "activity_id": e.activity_id, "stage": e.stage, "status": e.status(now), "closes_at": e.closes_at,
                "survey_url": self._survey_url(e),
            }) for evaluation_id, e in ((i, found.get(i)) for i in ids)}

    # --- the public survey (gateway) ------------------------------------------------------------------------

    def _by_link(self, session, token, now: datetime, lock: bool = False) -> Evaluation:
        evaluation_id, expires_at = domain.read_token(link_key(self.config), token)
        return domain.check_link(repository.find_evaluation(session, evaluation_id, lock), expires_at, now)

    @rpc
    def get_survey(self, token):
        """The open survey a link leads to. NotFound (forged, altered, unknown), Conflict (answered),
        Gone (expired or closed); reads only."""
        now = self.clock.now()
        with _link_errors(), self.db.read() as session:
            evaluation = self._by_link(session, token, now)
            return _survey.dump({"evaluation_id": evaluation.evaluation_id, "activity_id": evaluation.activity_id,
                                 "stage": evaluation.stage, "closes_at": evaluation.closes_at})

    @rpc
    def submit(self, token, answers):
        """Answer the survey of a link, once: `satisfaction` and `recommend` (0-10, required),
        `most_useful`, `could_be_better`, `comment` (optional text). Emits evaluation.submitted (or
        evaluation.midway_submitted) in the same transaction; a refused link or answer stores nothing."""
        now = self.clock.now()
        with _link_errors(), self.db.unit_of_work() as uow:
            evaluation = self._by_link(uow.session, token, now, lock=True)
            uow.emit(evaluation.submitted_event, evaluation.submit(answers, now))
            return _receipt.dump({"evaluation_id": evaluation.evaluation_id, "activity_id": evaluation.activity_id,
                                  "stage": evaluation.stage, "submitted_at": evaluation.submitted_at})

    # --- staff ---------------------------------------------------------------------------------------------

    @staticmethod
    def _facts(activity: Activity, stage: str) -> dict:
        return {"activity_id": activity.activity_id, "stage": stage, "kind": activity.kind,
                "status": activity.status, "starts_at": activity.starts_at, "ends_at": activity.ends_at}

    @rpc
    def activity_report(self, activity_id, stage=None):
        """Per activity (and stage, default final): response rate, satisfaction %, NPS with the 0-10
        distributions of both questions, and the free-text answers."""
        stage = _stage(stage)
        now = self.clock.now()
        with self.db.read() as session:
            activity = repository.find_activity(session, activity_id) if _valid_id(activity_id) else None
            if activity is None:
                raise NotFound("activity not found")
            found = repository.evaluations_of_activity(session, activity.activity_id, stage)
            return _report.dump({**self._facts(activity, stage), **domain.stage_report(found, now)})

    @rpc
    def list_activity_reports(self, stage=None):
        """Every activity with surveys of `stage` (default final), latest first, with its figures."""
        stage = _stage(stage)
        now = self.clock.now()
        with self.db.read() as session:
            found: dict[str, list[Evaluation]] = {}
            for evaluation in repository.evaluations_of_stage(session, stage):
                found.setdefault(evaluation.activity_id, []).append(evaluation)
            known = repository.activities_by_id(session, list(found))
            rows = []
            for activity_id, its in found.items():
                activity = known.get(activity_id) or Activity(activity_id)
                report = domain.stage_report(its, now)
                rows.append({**self._facts(activity, stage), **report, "nps_score": report["nps"]["score"]})
            rows.sort(key=lambda r: (r["ends_at"] is None, r["ends_at"] and -r["ends_at"].timestamp(),
                                     r["activity_id"]))
            return [_summary.dump(row) for row in rows]

    @rpc
    def export_csv(self, activity_id, stage=None):
        """The answers of an activity's surveys (stage default final) as CSV text, one row per answer."""
        stage = _stage(stage)
        with self.db.read() as session:
            if not _valid_id(activity_id) or repository.find_activity(session, activity_id) is None:
                raise NotFound("activity not found")
            answered = repository.answered(session, activity_id, stage)
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(CSV_COLUMNS)
            for evaluation in answered:
                writer.writerow([_csv_cell(getattr(evaluation, column)) for column in CSV_COLUMNS])
            return out.getvalue()
