"""No personal data in events, logs or metrics: a full scenario through the gateway of the
real platform with distinctive personal strings (a participant, her begeleider, free-text needs, a
request whose question names her, a staff search for her name), then none of them may be found on
the bus, in any log record, in what the process wrote to stderr and stdout (the gateway's access
log among it), in any metrics text or in the reporting database. The same scanner must find them where they belong
(the registration and requests databases), so the scan is not vacuous."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import create_engine, inspect, text

from kernel.config import SERVICES
from tests.helpers import EventSpy, free_port, wait_for
from tests.integration.gateway.support import activity_payload, all_services, iso, registration_payload

NAME = "Zwaantje Quirinsky"
EMAIL = "zwaantje.q@example.org"
PHONE = "+32 470 98 76 54"
BEGELEIDER = {"name": "Hildegonde Vrouwkens", "email": "hildegonde.v@example.org"}
DIETARY = "Xylofoonallergie en geen selder"
OTHER_NEEDS = "Rolstoelbus van tante Ottokarina"
QUESTION = f"{NAME} vraagt advies over het Plumbodrama-project van haar vereniging."
# case-insensitive needles: every part of the name, the email (and its local part), the phone number
# (spaced and as digits), the begeleider, the free-text needs, the distinctive word of the question
NEEDLES = ("zwaantje", "quirinsky", "zwaantje.q", EMAIL, "470 98 76 54", "470987654", "hildegonde", "vrouwkens",
           "hildegonde.v", "xylofoonallergie", "ottokarina", "plumbodrama")
PRODUCERS = ("registration", "evaluation", "requests", "reporting", "notifications")


def found_in(haystack: str) -> set[str]:
    lowered = haystack.lower()
    return {needle for needle in NEEDLES if needle.lower() in lowered}


def database_text(url: str) -> str:
    """Every row of every table of a database, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return "\n".join(
                repr(tuple(row))
                for table in inspect(connection).get_table_names()
                for row in connection.execute(text(f'SELECT * FROM "{table}"'))
            )
    finally:
        engine.dispose()


def test_a_full_scenario_leaves_no_personal_data_in_events_logs_metrics_or_reporting(
        platform_config, runner_factory, gateway_url, staff_headers, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # every record of every logger reaches the root's capture handler
    caplog.set_level(logging.INFO, logger="urllib3")  # the test's own HTTP client logs the URLs it asks for
    ports = {service: free_port() for service in SERVICES}
    platform_config["METRICS"]["PORTS"] = dict(ports)
    spies = [EventSpy(platform_config["AMQP_URI"], producer) for producer in PRODUCERS]
    runner = runner_factory(platform_config, *all_services())
    runner.start()
    wait_for(lambda: requests.get(f"{gateway_url}/health", timeout=5).status_code == 200, timeout=20,
             message="platform up")
    staff = requests.Session()
    staff.headers.update(staff_headers)

    # an activity that has started and still takes registrations, so attendance and completion follow
    now = datetime.now(UTC)
    activity = staff.post(f"{gateway_url}/api/staff/activities", timeout=30, json=activity_payload(
        starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=6)),
        registration_opens_at=iso(now - timedelta(days=2)), registration_closes_at=iso(now + timedelta(hours=1)),
    ))
    assert activity.status_code == 201, activity.text
    activity_id = activity.json()["activity_id"]
    registered = requests.post(f"{gateway_url}/api/activities/{activity_id}/registrations", timeout=30,
                               json=registration_payload(
                                   name=NAME, email=EMAIL, begeleider=BEGELEIDER,
                                   needs={"accessibility": True, "sign_language_interpreter": False,
                                          "childcare": True, "dietary": DIETARY, "other": OTHER_NEEDS}))
    assert registered.status_code == 201, registered.text
    registration_id = registered.json()["registration_id"]
    attended = staff.put(f"{gateway_url}/api/staff/registrations/{registration_id}/attendance",
                         json={"days_attended": 1}, timeout=30)
    assert attended.status_code == 200, attended.text
    completed = staff.post(f"{gateway_url}/api/staff/activities/{activity_id}/complete", timeout=30)
    assert completed.status_code == 200, completed.text

    colleague = staff.post(f"{gateway_url}/api/staff/requests/staff", timeout=30,
                           json={"name": "Bram Claes", "themes": ["vrijwilligers"]})
    assert colleague.status_code == 201, colleague.text
    intake = {"name": NAME, "email": EMAIL, "phone": PHONE, "language": "nl", "org_type": "civiel_scw",
              "organisation_name": "Buurtinitiatief De Kaai", "question": QUESTION, "theme": "vrijwilligers",
              "preferred_timing": f"na overleg met {NAME}", "privacy_consent": True}
    decisions = []
    for decide, body in (("accept", {"assignee": colleague.json()["staff_id"]}),
                         ("decline", {"reason": "out_of_scope", "referred_to": "Financieringsloket"})):
        received = requests.post(f"{gateway_url}/api/requests", json=intake, timeout=30)
        assert received.status_code == 201, received.text
        base = f"{gateway_url}/api/staff/requests/{received.json()['request_id']}"
        explored = staff.post(f"{base}/explore", json={"notes": f"Gebeld met {NAME} op {PHONE}"}, timeout=30)
        assert explored.status_code == 200, explored.text
        decided = staff.post(f"{base}/{decide}", json=body, timeout=30)
        assert decided.status_code == 200, decided.text
        decisions.append(decide)

    # a staff search for her name: the term travels in the query string, which the access log shows
    found = staff.get(f"{gateway_url}/api/staff/requests", params={"q": NAME}, timeout=30)
    assert found.status_code == 200 and NAME in found.text, found.text[:300]

    registration_spy = spies[0]
    registration_spy.wait("activity.completed")
    spies[2].wait("request.declined")
    for spy in spies:
        spy.settle()
    events = [event for spy in spies for event in spy.events]
    types = {event["event_type"] for event in events}
    assert {"registration.created", "attendance.recorded", "activity.completed", "request.received",
            "request.accepted", "request.declined"} <= types, types

    # the scanner finds the strings where they belong: the scan below is not vacuous
    registration_db = database_text(platform_config["DATABASES"]["registration"])
    assert {"quirinsky", EMAIL, "hildegonde", "xylofoonallergie", "ottokarina"} <= found_in(registration_db)
    assert {"plumbodrama", "470 98 76 54"} <= found_in(database_text(platform_config["DATABASES"]["requests"]))

    leaks = {}
    for event in events:
        if found := found_in(repr(event)):
            leaks[f"event {event['event_type']}"] = found
    # reporting has consumed the scenario (its ledger of processed events holds the attendance)
    attendance_id = registration_spy.of_type("attendance.recorded")[0]["event_id"]
    wait_for(lambda: attendance_id in database_text(platform_config["DATABASES"]["reporting"]),
             timeout=15, message="reporting to process the attendance")
    if found := found_in(database_text(platform_config["DATABASES"]["reporting"])):
        leaks["reporting database"] = found
    metrics = {"gateway": requests.get(f"{gateway_url}/metrics", timeout=10).text}
    for service, port in ports.items():
        metrics[service] = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert all("platform_" in body for body in metrics.values())
    for where, body in metrics.items():
        if found := found_in(body):
            leaks[f"metrics of {where}"] = found
    records = caplog.records
    assert len(records) > 0
    formatter = logging.Formatter()
    for record in records:
        rendered = record.getMessage() + (formatter.formatException(record.exc_info) if record.exc_info else "") \
            + (record.exc_text or "") + (record.stack_info or "")
        if found := found_in(rendered):
            leaks[f"log {record.name}:{record.levelname}: {rendered[:200]}"] = found
    written = capfd.readouterr()
    access_log = [line for line in (written.err + written.out).splitlines() if "/api/staff/requests?q=" in line]
    assert access_log or any("/api/staff/requests?q=" in record.getMessage() for record in records)
    for stream, output in (("stderr", written.err), ("stdout", written.out)):
        for line in output.splitlines():
            if found := found_in(line):
                leaks[f"{stream}: {line[:200]}"] = found
    assert not leaks, "\n".join(f"{where}: {sorted(found)}" for where, found in leaks.items())
    assert decisions == ["accept", "decline"]
