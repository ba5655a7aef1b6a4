"""A steady stream of domain operations through the real RPC API of registration and requests,
the way staff and participants use it: organisations, activities, registrations (past the
capacity: a waitlist), a cancellation and its promotion, attendance, completion or
cancellation of the activity; requests taken, explored, accepted and delivered or declined.

A call in flight when its service is killed is redelivered to the restarted service by
RabbitMQ (nameko acks an RPC request only after its reply), so it may run twice or answer
with an error: the driver takes whatever answer comes and carries on. What counts is what the
producers' databases hold in the end, not what the driver believes it did.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import eventlet
from nameko.standalone.rpc import ServiceRpcProxy

from tests.helpers import wait_for

ORGANISATIONS = (
    ("Vereniging De Kring", "vereniging", True),
    ("Beweging Samen", "beweging", True),
    ("Volkshogeschool Oost", "volkshogeschool", True),
    ("Landelijke Vorming", "landelijke_vormingsinstelling", True),
    ("Stad Gent", "overheid", False),
    ("Hogeschool Noord", "onderwijs_onderzoek", False),
)
REGISTRANTS = 8
CAPACITY = 6
RPC_TIMEOUT = 120


class Driver:
    def __init__(self, config: dict, activities: int, requests_: int, lanes: int = 2, held_back: int = 0):
        self.config = config
        self.activities = activities
        # the last rounds wait for release(): a test's restarts, however slow, come before the end
        self.held_back = held_back
        self.released = False
        self.requests = requests_
        self.lanes = lanes
        self.in_flight: Counter = Counter()
        self.calls: Counter = Counter()
        self.failures: list[tuple[str, str, str]] = []
        self.rounds_done = 0
        self.requests_done = 0
        self.organisations: list[str] = []
        self.staff_id: str | None = None
        self._threads = []

    # --- progress -------------------------------------------------------------------------------------

    def progress(self) -> float:
        return self.rounds_done / self.activities

    @property
    def finished(self) -> bool:
        return all(thread.dead for thread in self._threads)

    # --- calls ------------------------------------------------------------------------------------------

    def call(self, service: str, method, *args):
        self.in_flight[service] += 1
        try:
            return method(*args)
        except Exception as exc:  # noqa: BLE001 - a redelivered call may answer with an error
            self.failures.append((service, getattr(method, "method_name", "?"), f"{type(exc).__name__}: {exc}"))
            return None
        finally:
            self.in_flight[service] -= 1
            self.calls[service] += 1

    def set_up(self) -> None:
        with ServiceRpcProxy("registration", self.config, timeout=RPC_TIMEOUT) as registration:
            for name, org_type, recognised in ORGANISATIONS:
                made = registration.create_organisation({"name": name, "org_type": org_type, "recognised": recognised})
                self.organisations.append(made["organisation_id"])
        with ServiceRpcProxy("requests", self.config, timeout=RPC_TIMEOUT) as desk:
            self.staff_id = desk.create_staff({"name": "Medewerker", "email": "staff@example.org",
                                               "themes": ["bestuur"]})["staff_id"]

    def start(self) -> None:
        numbers = list(range(self.activities))
        for lane in range(self.lanes):
            self._threads.append(eventlet.spawn(self._registration_lane, numbers[lane::self.lanes]))
        self._threads.append(eventlet.spawn(self._requests_lane))

    def call_in_background(self, service: str) -> None:
        """One more operation on `service` from its own thread, whatever the lanes are doing: a
        test that froze the service gets a caller waiting on it even if the lanes are between calls."""
        self._threads.append(eventlet.spawn(self._one_more_call, service, len(self._threads)))

    def release(self) -> None:
        self.released = True

    def wait(self, timeout: float) -> None:
        wait_for(lambda: self.finished, timeout=timeout, interval=0.2, message="the stream to finish")
        for thread in self._threads:
            thread.wait()  # re-raises a lane's own bug

    # --- lanes ------------------------------------------------------------------------------------------

    def _registration_lane(self, numbers: list[int]) -> None:
        with ServiceRpcProxy("registration", self.config, timeout=RPC_TIMEOUT) as registration:
            for number in numbers:
                if number >= self.activities - self.held_back:
                    wait_for(lambda: self.released, timeout=600, interval=0.1, message="release of the last rounds")
                self._activity_round(registration, number)
                self.rounds_done += 1

    def _activity_round(self, registration, number: int) -> None:
        now = datetime.now(timezone.utc)
        call = lambda method, *args: self.call("registration", method, *args)  # noqa: E731
        activity = call(registration.create_activity, {
            "title": f"Vorming {number}", "kind": ("vorming", "workshop", "leertraject")[number % 3],
            "theme": "vrijwilligers", "goal": "SD1.OD4", "format": ("offline", "blended")[number % 2],
            # started yesterday and runs for a month: open for registration, attendance and completion
            "starts_at": (now - timedelta(days=1, minutes=number)).isoformat(),
            "ends_at": (now + timedelta(days=30)).isoformat(),
            "registration_closes_at": (now + timedelta(days=29)).isoformat(),
            "days": 2, "dagdelen": 1 + number % 4, "capacity": CAPACITY, "location": "Gent",
        })
        if activity is None:
            return
        activity_id = activity["activity_id"]
        registered = []
        for index in range(REGISTRANTS):
            slot = (number + index) % (len(self.organisations) + 1)  # one in seven without organisation
            organisation = self.organisations[slot] if slot < len(self.organisations) else None
            answer = call(registration.register, activity_id, {
                "name": f"Deelnemer {number}-{index}", "email": f"p{number}-{index}@example.org",
                "privacy_consent": True, "organisation_id": organisation, "role": "vrijwilliger",
                "language": ("nl", "en", "fr")[index % 3],
            })
            if answer is not None:
                registered.append(answer)
        confirmed = [r for r in registered if r["status"] == "confirmed"]
        if confirmed:  # staff cancels one: the first on the waitlist is promoted
            call(registration.cancel_registration, confirmed[0]["registration_id"])
        if number % 6 == 5:
            call(registration.cancel_activity, activity_id, "te weinig inschrijvingen")
            return
        for index, row in enumerate(call(registration.list_registrations, activity_id) or []):
            if row["status"] == "confirmed":
                call(registration.record_attendance, row["registration_id"], 1 + index % 2)
        call(registration.complete_activity, activity_id)

    def _one_more_call(self, service: str, number: int) -> None:
        with ServiceRpcProxy(service, self.config, timeout=RPC_TIMEOUT) as proxy:
            if service == "registration":
                self.call(service, proxy.create_organisation,
                          {"name": f"Extra organisatie {number}", "org_type": "vereniging", "recognised": True})
            else:
                self.call(service, proxy.record_request, {
                    "name": f"Extra aanvrager {number}", "email": f"extra{number}@example.org",
                    "question": "Kunnen jullie ons helpen met een vrijwilligersbeleid?", "theme": "bestuur",
                    "organisation_id": None, "org_type": "civiel_scw", "channel": "phone"})

    def _requests_lane(self) -> None:
        today = datetime.now(timezone.utc).date().isoformat()
        with ServiceRpcProxy("requests", self.config, timeout=RPC_TIMEOUT) as desk:
            call = lambda method, *args: self.call("requests", method, *args)  # noqa: E731
            for number in range(self.requests):
                # spread over the whole stream: keep pace with the activities
                wait_for(lambda number=number: self.rounds_done >= number * self.activities / self.requests
                         or all(t.dead for t in self._threads[: self.lanes]),
                         timeout=600, interval=0.05, message="pace")
                organisation = self.organisations[number % len(self.organisations)] if number % 3 else None
                received = call(desk.record_request, {
                    "name": f"Aanvrager {number}", "email": f"q{number}@example.org",
                    "question": "Hoe betrekken we jongere vrijwilligers bij ons bestuur?", "theme": "bestuur",
                    "organisation_id": organisation, "org_type": None if organisation else "civiel_scw",
                    "channel": "phone",
                })
                if received is not None:
                    request_id = received["request_id"]
                    call(desk.explore, request_id, {"staff_id": self.staff_id})
                    if number % 3 == 2:
                        call(desk.decline, request_id, {
                            "reason": "long_term_coaching", "referred_to": "Coachingspunt" if number % 2 else None})
                    else:
                        call(desk.accept, request_id, {"assignee": self.staff_id})
                        call(desk.record_delivery, request_id, {
                            "date": today, "form": "advice_conversation", "dagdelen": 1 + number % 2,
                            "participants": 4 + number % 5, "participations": 10})
                self.requests_done += 1
