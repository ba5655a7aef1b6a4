"""A person's export and erasure (GDPR) end to end, through the real services on the real RabbitMQ
(SQLite): a person registers with needs and a begeleider, attends, answers the survey, asks the
request desk for support with the same address, and gets their mail (captured).
`python -m ops person export` returns it all, service by service; `person erase --yes` leaves no trace of their
name, address or phone in any service's database, while every KPI document stays exactly the same;
erasing again is harmless, an unknown address exits 1 and a service that does not answer exits 2
before anything is erased."""
from __future__ import annotations

import getpass
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, select

from kernel.config import CENTRE_TIMEZONE, ROOT, SERVICES
from kernel.errors import NotFound
from kernel.tables import processed_events
from ops import main as ops_main
from services.accounts.service import AccountsService
from services.evaluation.service import EvaluationService
from services.notifications.service import NotificationsService
from services.registration.service import RegistrationService
from services.reporting.service import ReportingService
from services.requests.service import RequestsService
from tests.helpers import EventSpy, wait_for
from tests.integration.evaluation.support import MovableClock, with_clock
from tests.integration.gateway.support import activity_payload, iso, registration_payload
from tests.integration.privacy.support import personal_hits

ANN = {"name": "Ann Peeters", "email": "Ann.Peeters@Example.org"}
BERT = {"name": "Bert Begeleider", "email": "bert.begeleider@example.org"}
PHONE = "+32 470 12 34 56"
NEEDS = {"accessibility": True, "sign_language_interpreter": True, "childcare": False,
         "dietary": "zonder noten", "other": "rolstoeltoegang graag"}
COMMENT = "Ann Peeters vond de voorbeelden sterk"
# what must be gone everywhere after the erasure
PERSONAL = [ANN["name"], ANN["email"], BERT["name"], BERT["email"], "470 12 34 56", "zonder noten",
            "rolstoeltoegang", "voorbeelden sterk"]
TITLE = "Vorming: samen privacy"


def ops(config_path, *args):
    """The command line as on-call runs it: its own process (no eventlet monkey-patching there)."""
    done = subprocess.run([sys.executable, "-m", "ops", "--config", str(config_path), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def cli(capsys, monkeypatch):
    """The same command line in this process (a second start-up costs seconds): (exit code, stdout, stderr)."""

    def run(config_path, *args, stdin: str = ""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = ops_main(["--config", str(config_path), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_config(config, path):
    path.write_text(yaml.safe_dump(config))
    return path


def hits(config) -> dict[str, list[str]]:
    return {service: personal_hits(config["DATABASES"][service], PERSONAL) for service in SERVICES}


def kpis(rpc, years, activity_id) -> dict:
    return {"annual": {year: rpc.reporting.annual_kpis(year) for year in years},
            "activity": rpc.reporting.activity_kpis(activity_id),
            "rolling": rpc.reporting.rolling_kpis(365)}


def reporting_processed(config, event_id) -> bool:
    engine = create_engine(config["DATABASES"]["reporting"])
    try:
        with engine.connect() as connection:
            return connection.execute(select(processed_events.c.event_id).where(
                processed_events.c.consumer == "reporting.on_events",
                processed_events.c.event_id == event_id)).first() is not None
    finally:
        engine.dispose()


def test_a_person_is_exported_from_every_service_then_erased_everywhere_with_the_same_kpis(
        platform_config, container_factory, tmp_path, cli):
    config = platform_config
    config["NOTIFICATIONS"].update(MAIL_CAPTURE=True, SEND_RATE_PER_SECOND=0, REMINDER_CHECK_SECONDS=3600,
                                   ALERT_EMAILS=None, ALERT_WEBHOOK_URLS=None)
    config["EVALUATION"].update(LINK_SECRET="privacy-test-secret", INVITE_DELAY_HOURS=2, DUE_CHECK_SECONDS=3600)
    config["max_workers"] = 20
    config_path = write_config(config, tmp_path / "config.yml")
    registration_events = EventSpy(config["AMQP_URI"], "registration")
    evaluation_events = EventSpy(config["AMQP_URI"], "evaluation")
    clock = MovableClock()
    with_clock(container_factory(EvaluationService, config), clock).start()
    for cls in (RegistrationService, RequestsService, ReportingService, NotificationsService, AccountsService):
        container_factory(cls, config).start()

    now = datetime.now(UTC)
    ends = now + timedelta(hours=1)
    with ClusterRpcProxy(config, timeout=30) as rpc:
        organisation = rpc.registration.create_organisation(
            {"name": "Vereniging Samen", "org_type": "vereniging", "recognised": True})
        activity = rpc.registration.create_activity(activity_payload(
            title=TITLE, starts_at=iso(now - timedelta(hours=2)), ends_at=iso(ends), capacity=10,
            registration_opens_at=None, registration_closes_at=iso(ends)))
        activity_id = activity["activity_id"]
        ann = rpc.registration.register(activity_id, registration_payload(
            **ANN, organisation_id=organisation["organisation_id"], needs=NEEDS, begeleider=BERT))
        cas = rpc.registration.register(activity_id, registration_payload(
            name="Cas Janssens", email="cas@example.org", organisation_id=organisation["organisation_id"]))
        for registered in (ann, cas):
            rpc.registration.record_attendance(registered["registration_id"], 1)
        rpc.registration.complete_activity(activity_id)
        staff = rpc.requests.create_staff({"name": "Bram Claes", "email": "bram@steunpunt.example",
                                           "themes": ["vrijwilligers"]})
        request_id = rpc.requests.submit_request({
            "name": ANN["name"], "email": ANN["email"].upper(), "phone": PHONE, "language": "nl",
            "organisation_id": None, "org_type": "civiel_scw", "organisation_name": "Buurtwerk De Kaai",
            "question": f"Ik ben {ANN['name']}: hoe betrekken we nieuwe vrijwilligers?", "theme": "vrijwilligers",
            "preferred_timing": "liefst op zaterdag", "privacy_consent": True,
        })["request_id"]
        rpc.requests.explore(request_id, {"notes": f"Gebeld met {ANN['name']}", "staff_id": staff["staff_id"]})
        rpc.requests.accept(request_id, {"assignee": staff["staff_id"]})
        rpc.requests.record_delivery(request_id, {"date": now.date().isoformat(), "form": "advice_conversation",
                                                  "dagdelen": 1, "participants": 5, "participations": 5})

        # the survey: both attendees invited, Ann answers with a comment naming herself
        (ann_id,) = rpc.registration.find_persons(ANN["email"])
        (cas_id,) = rpc.registration.find_persons("cas@example.org")
        wait_for(lambda: _evaluation_knows(rpc, activity_id, ann_id, cas_id), timeout=15,
                 message="the completion and both attendances known to evaluation")
        clock.set(ends + timedelta(hours=2, minutes=1))
        assert rpc.evaluation.run_due()["invited"] == 2
        requested = evaluation_events.wait("evaluation.requested", 2)
        (to_ann,) = [e for e in requested if e["data"]["registration_id"] == ann["registration_id"]]
        wait_for(lambda: "evaluation_invitation" in {m["template"] for m in rpc.notifications.export_person(ann_id)[
            "messages"] if m["status"] == "sent"}, timeout=20, message="Ann's survey mail (captured)")
        survey_url = rpc.evaluation.invitation_for(to_ann["data"]["evaluation_id"])["survey_url"]
        rpc.evaluation.submit(survey_url.rsplit("/", 1)[1], {"satisfaction": 9, "recommend": 10, "comment": COMMENT})
        evaluation_events.wait("evaluation.submitted")

        # her mail (captured): confirmation, survey invitation, the request desk's acknowledgement
        wait_for(lambda: {m["template"] for m in rpc.notifications.export_person(ann_id)["messages"]
                          if m["status"] == "sent"} == {"registration_confirmed", "evaluation_invitation"}
                 and [m["status"] for m in rpc.notifications.export_requester(request_id)["messages"]] == ["sent"],
                 timeout=20, message="Ann's mail sent (captured)")

        # every figure in, then the KPI documents as they are
        years = sorted({(now - timedelta(hours=2)).astimezone(CENTRE_TIMEZONE).year,
                        now.astimezone(CENTRE_TIMEZONE).year})
        wait_for(lambda: _figures_in(rpc, years, activity_id), timeout=20, message="reporting up to date")
        before = kpis(rpc, years, activity_id)
        found = hits(config)
        assert found["reporting"] == []  # reporting never held anything personal
        for service in ("registration", "requests", "evaluation", "notifications"):
            assert found[service], f"the scan finds Ann in {service} before the erasure"

        # --- export ------------------------------------------------------------------------------------
        code, _, err = ops(config_path, "person", "export", "--email", ANN["email"].lower(),
                           "--output", str(tmp_path / "ann.json"))
        assert code == 0, err
        assert ANN["name"] not in err and ANN["email"].lower() not in err.lower()
        document = json.loads((tmp_path / "ann.json").read_text())
        assert set(document) >= {"registration", "requests", "evaluation", "notifications"}
        (person,) = document["registration"]["persons"]
        assert (person["person"]["name"], person["person"]["email"]) == (ANN["name"], ANN["email"].lower())
        (registration,) = person["registrations"]
        assert registration["activity"]["title"] == TITLE and registration["needs"] == NEEDS
        assert registration["begeleider"] == BERT and registration["attendance"]["days_attended"] == 1
        (request,) = document["requests"]["requests"]
        assert (request["request_id"], request["phone"]) == (request_id, PHONE)
        (answers,) = document["evaluation"]["persons"]
        assert [s["comment"] for s in answers["surveys"]] == [COMMENT]
        assert [a["registration_id"] for a in answers["attendance"]] == [ann["registration_id"]]
        (mails,) = document["notifications"]["persons"]
        assert {m["template"] for m in mails["messages"]} == {"registration_confirmed", "evaluation_invitation"}
        assert {m["recipient"] for m in mails["captured_mail"]} == {ANN["email"].lower()}
        (requester_mails,) = document["notifications"]["requests"]
        assert [m["template"] for m in requester_mails["messages"]] == ["request_acknowledgement"]
        assert "Cas" not in json.dumps(document)  # nothing about anybody else
        (exported,) = rpc.accounts.list_audit({"action_kind": "person"})["entries"]
        assert (exported["action"], exported["actor"], exported["subject_id"], exported["details"]) == (
            "person.exported", f"ops:{getpass.getuser()}", ann_id, {"persons": 1, "requests": 1})

        # --- erase: refused without confirmation, then with --yes ---------------------------------------
        code, _, err = cli(config_path, "person", "erase", "--email", ANN["email"], stdin="no\n")
        assert code == 1 and "nothing was erased" in err
        assert rpc.registration.find_persons(ANN["email"]) == [ann_id]

        code, out, err = ops(config_path, "person", "erase", "--email", ANN["email"], "--yes")
        assert code == 0, err
        assert ann_id in out and request_id in out and "waiting for the consumers" in err
        for text in (out, err):
            assert ANN["name"] not in text and ANN["email"].lower() not in text.lower()
        (erased,) = registration_events.wait("person.erased")
        assert erased["data"] == {"person_id": ann_id}
        audited = rpc.accounts.list_audit({"action_kind": "person"})["entries"]
        assert [line["action"] for line in audited] == ["person.erased", "person.exported"]  # newest first
        assert ANN["email"].lower() not in json.dumps(audited).lower() and ANN["name"] not in json.dumps(audited)

        # nothing personal anywhere; Cas (not erased) is still there, so the scan does look
        assert hits(config) == {service: [] for service in SERVICES}
        assert personal_hits(config["DATABASES"]["registration"], ["Cas Janssens"])
        assert rpc.notifications.export_person(ann_id) == {"messages": [], "captured_mail": []}
        assert rpc.notifications.export_requester(request_id) == {"messages": [], "captured_mail": []}
        held = rpc.evaluation.export_person(ann_id)
        assert (held["erased"], held["attendance"], held["surveys"]) == (True, [], [])
        gone = rpc.registration.export_person(ann_id)
        assert (gone["person"]["name"], gone["person"]["email"], gone["person"]["erased"]) == ("erased", None, True)
        assert gone["registrations"][0]["attendance"]["days_attended"] == 1
        assert gone["registrations"][0]["organisation"]["organisation_id"] == organisation["organisation_id"]
        code, _, err = cli(config_path, "person", "export", "--email", ANN["email"])
        assert code == 1 and "nothing is held" in err

        # every KPI document is the same, after reporting has seen the erasure
        wait_for(lambda: reporting_processed(config, erased["event_id"]), message="reporting saw person.erased")
        assert kpis(rpc, years, activity_id) == before

        # --- again: harmless ---------------------------------------------------------------------------
        code, _, err = cli(config_path, "person", "erase", "--email", ANN["email"], "--yes")
        assert code == 1 and "nothing is held" in err
        assert rpc.registration.erase_person(ann_id)["message"] == "already erased"
        registration_events.settle(0.5)
        assert len(registration_events.of_type("person.erased")) == 1
        assert kpis(rpc, years, activity_id) == before
        assert hits(config) == {service: [] for service in SERVICES}

        # --- an address nobody knows ---------------------------------------------------------------------
        code, out, err = cli(config_path, "person", "erase", "--email", "nobody@example.org", "--yes")
        assert code == 1 and "nothing is held" in err and "nobody" not in out + err


def _evaluation_knows(rpc, activity_id, *person_ids) -> bool:
    try:
        completed = rpc.evaluation.activity_report(activity_id)["status"] == "completed"
    except NotFound:
        return False
    return completed and all(rpc.evaluation.export_person(p)["attendance"] for p in person_ids)


def _figures_in(rpc, years, activity_id) -> bool:
    annual = [rpc.reporting.annual_kpis(year) for year in years]
    return (sum(a["open_offer"]["participants"] for a in annual) == 2
            and sum(a["open_offer"]["evaluations"] for a in annual) == 1
            and sum(a["demand_driven"]["requests_delivered"] for a in annual) == 1
            and rpc.reporting.activity_kpis(activity_id) is not None)


def test_a_service_that_does_not_answer_stops_the_erasure_before_it_begins(platform_config, container_factory,
                                                                           tmp_path, cli):
    config = platform_config
    config_path = write_config(config, tmp_path / "config.yml")
    for cls in (RegistrationService, RequestsService):  # evaluation and notifications are not running
        container_factory(cls, config).start()
    with ClusterRpcProxy(config, timeout=30) as rpc:
        activity = rpc.registration.create_activity(activity_payload(title=TITLE))
        rpc.registration.register(activity["activity_id"], registration_payload(**ANN))
        (ann_id,) = rpc.registration.find_persons(ANN["email"])

        code, _, err = cli(config_path, "person", "export", "--email", ANN["email"], "--timeout", "2")
        assert code == 2 and "evaluation did not answer" in err
        code, _, err = cli(config_path, "person", "erase", "--email", ANN["email"], "--yes", "--timeout", "2")
        assert code == 2 and "evaluation did not answer" in err
        assert rpc.registration.export_person(ann_id)["person"]["name"] == ANN["name"]  # nothing erased
        code, _, err = cli(config_path, "person", "export", "--email", "not-an-address")
        assert code == 2 and "not an email address" in err
