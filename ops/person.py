"""`python -m ops person ...`: export or erase everything the platform holds about one person
(GDPR; docs/PRIVACY.md).

    person export --email ADDRESS [--output FILE]
        one JSON document with a section per service (registration, requests, evaluation,
        notifications), gathered over RPC
    person erase --email ADDRESS [--yes] [--wait SECONDS]
        erases in registration (every person the address identifies, and the address as a
        begeleider) and requests (the address as a requester), then waits until the consumers
        (evaluation, notifications) have processed the erasure, and prints a summary

Exit codes: 0 done; 1 nothing is held about the address (unknown, or erased before), or the
erasure was not confirmed; 2 a service did not answer (nothing was erased when it happened
before the erasure began) or the consumers did not finish in time.

Nothing personal is logged or printed besides the export itself: progress and summaries name
person and request ids, never a name or an address.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from datetime import UTC, datetime

import kernel.errors  # the RPC errors services raise arrive as these classes
from ops.progress import show_progress

DEFAULT_RPC_TIMEOUT = 30.0
DEFAULT_WAIT_SECONDS = 60.0
POLL_SECONDS = 0.25
WAITING_LABEL = "waiting for the consumers"


class Unavailable(Exception):
    """A service (or the broker) did not answer."""

    def __init__(self, service: str, why: str):
        super().__init__(f"{service}: {why}")
        self.service, self.why = service, why


def add_arguments(parser: argparse.ArgumentParser) -> None:
    email_help = "the person's address (participant, begeleider or requester)"
    timeout_help = (f"seconds to wait for each service's answer "
                    f"(default RPC_TIMEOUT_SECONDS, {DEFAULT_RPC_TIMEOUT:g})")
    actions = parser.add_subparsers(dest="person_action", required=True)
    export = actions.add_parser("export", help="everything held about one person, as JSON")
    export.add_argument("--email", required=True, help=email_help)
    export.add_argument("--output", help="write the JSON here (readable by its owner only) instead of stdout")
    export.add_argument("--timeout", type=float, default=None, help=timeout_help)
    erase = actions.add_parser("erase", help="erase or anonymise everything held about one person")
    erase.add_argument("--email", required=True, help=email_help)
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument("--wait", type=float, default=DEFAULT_WAIT_SECONDS,
                       help="seconds to wait for the consumers to process the erasure "
                            f"(default {DEFAULT_WAIT_SECONDS:g})")
    erase.add_argument("--timeout", type=float, default=None, help=timeout_help)


def run(config: dict, args) -> int:
    address = (args.email or "").strip()
    if "@" not in address or len(address) > 254:
        print("--email: not an email address", file=sys.stderr)
        return 2
    timeout = args.timeout or float(config.get("RPC_TIMEOUT_SECONDS") or DEFAULT_RPC_TIMEOUT)
    try:
        with Services(config, timeout) as services:
            if args.person_action == "export":
                return export(services, address, args.output)
            return erase(services, address, args.yes, args.wait)
    except Unavailable as exc:
        print(f"\n{exc.service} did not answer ({exc.why})", file=sys.stderr)
        return 2
    except kernel.errors.DomainError as exc:  # e.g. a person erased by someone else meanwhile
        print(f"\nfailed: {exc.code}: {exc.message}", file=sys.stderr)
        return 1


class Services:
    """RPC to the platform's services through one ClusterRpcProxy, each call with a deadline."""

    def __init__(self, config: dict, timeout: float):
        self.config, self.timeout = config, timeout

    def __enter__(self):
        from nameko.standalone.rpc import ClusterRpcProxy

        self._proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
        try:
            self._cluster = self._proxy.start()
        except Exception as exc:  # noqa: BLE001 - the broker is down or refuses us
            raise Unavailable("RabbitMQ", _why(exc)) from None
        return self

    def __exit__(self, *exc):
        try:
            self._proxy.stop()
        except Exception:  # noqa: BLE001 - closing a connection that already broke
            pass

    def call(self, service: str, method: str, *args):
        from amqp.exceptions import AMQPError
        from kombu.exceptions import OperationalError
        from nameko.exceptions import RpcTimeout, UnknownService

        try:
            return getattr(self._cluster[service], method)(*args)
        except RpcTimeout:
            raise Unavailable(service, f"no answer within {self.timeout:g} s") from None
        except UnknownService:
            raise Unavailable(service, "not running (no RPC queue)") from None
        except (OSError, OperationalError, AMQPError) as exc:  # the broker went away
            raise Unavailable(service, _why(exc)) from None


def record(services: Services, action: str, document: dict) -> None:
    """A line in the audit log (the accounts service's): who ran the command on this machine and how
    many records it concerned; never the address. The export or erasure stands when the log is away."""
    persons = [p["person"]["person_id"] for p in document["registration"]["persons"]]
    entry = {"actor": {"account_id": None, "name": f"ops:{getpass.getuser()}"}, "action": action,
             "subject_type": "person", "subject_id": persons[0] if len(persons) == 1 else None,
             "details": {"persons": len(persons), "requests": len(document["requests"]["requests"])}}
    try:
        services.call("accounts", "record_audit", entry)
    except Unavailable as exc:
        print(f"not written to the audit log: {exc}", file=sys.stderr)


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}".rstrip(": ")


# --- export ----------------------------------------------------------------------------------------------


def gather(services: Services, address: str) -> dict:
    """The export: one section per service. Raises Unavailable when one does not answer."""
    person_ids = services.call("registration", "find_persons", address)
    registration = {
        "persons": [services.call("registration", "export_person", pid) for pid in person_ids],
        "begeleider_of": services.call("registration", "export_begeleider", address),
    }
    requests = services.call("requests", "export_requester", address)
    request_ids = [r["request_id"] for r in requests["requests"]]
    evaluation = {"persons": [services.call("evaluation", "export_person", pid) for pid in person_ids]}
    notifications = {
        "persons": [{"person_id": pid, **services.call("notifications", "export_person", pid)}
                    for pid in person_ids],
        "requests": [{"request_id": rid, **services.call("notifications", "export_requester", rid)}
                     for rid in request_ids],
    }
    return {
        "exported_at": datetime.now(UTC).isoformat(),
        "registration": registration,
        "requests": requests,
        "evaluation": evaluation,
        "notifications": notifications,
    }


def _held(document: dict) -> bool:
    return bool(document["registration"]["persons"] or document["registration"]["begeleider_of"]
                or document["requests"]["requests"])


def _counts(document: dict) -> str:
    persons = document["registration"]["persons"]
    notifications = document["notifications"]
    messages = sum(len(p["messages"]) for p in notifications["persons"] + notifications["requests"])
    return (
        f"registration: {len(persons)} person(s) {[p['person']['person_id'] for p in persons]}, "
        f"{sum(len(p['registrations']) for p in persons)} registration(s), "
        f"begeleider on {len(document['registration']['begeleider_of'])}; "
        f"requests: {len(document['requests']['requests'])} "
        f"{[r['request_id'] for r in document['requests']['requests']]}; "
        f"evaluation: {sum(len(p['surveys']) for p in document['evaluation']['persons'])} survey(s); "
        f"notifications: {messages} message(s)"
    )


NOTHING_HELD = "nothing is held about this address (it is unknown, or was erased before)"


def export(services: Services, address: str, output: str | None) -> int:
    document = gather(services, address)
    if not _held(document):
        print(NOTHING_HELD, file=sys.stderr)
        return 1
    record(services, "person.exported", document)
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True)
    if output:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner only
        os.fchmod(fd, 0o600)  # also when the file existed
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        print(f"exported to {output}: {_counts(document)}", file=sys.stderr)
    else:
        print(text)
        print(f"exported: {_counts(document)}", file=sys.stderr)
    return 0


# --- erase -----------------------------------------------------------------------------------------------


def _confirmed(document: dict) -> bool:
    print(f"about to erase: {_counts(document)}", file=sys.stderr)
    print("This cannot be undone. Type 'yes' to erase: ", end="", file=sys.stderr, flush=True)
    try:
        answer = input()
    except EOFError:
        answer = ""
    return answer.strip().lower() == "yes"


def erase(services: Services, address: str, yes: bool, wait_seconds: float) -> int:
    started = time.monotonic()
    # every service answers first (and says what it holds), so a service that is down stops us
    # before anything is erased
    document = gather(services, address)
    if not _held(document):
        print(NOTHING_HELD, file=sys.stderr)
        return 1
    if not yes and not _confirmed(document):
        print("not confirmed: nothing was erased", file=sys.stderr)
        return 1
    person_ids = [p["person"]["person_id"] for p in document["registration"]["persons"]]
    erased, before = [], []
    for person_id in person_ids:
        outcome = services.call("registration", "erase_person", person_id)
        (erased if outcome["erased"] else before).append(person_id)
        print(f"registration: person {person_id} {outcome['message']}", file=sys.stderr)
    accompanied = services.call("registration", "erase_begeleider", address)["registrations"]
    requests = services.call("requests", "erase_requester", address)
    print(f"requests: requester of {requests['erased']} request(s) erased", file=sys.stderr)
    record(services, "person.erased", document)

    pending = {("evaluation", "person", pid) for pid in person_ids}
    pending |= {("notifications", "person", pid) for pid in person_ids}
    pending |= {("notifications", "request", rid) for rid in requests["request_ids"]}
    total = len(pending)
    deadline = time.monotonic() + wait_seconds
    show_progress(total - len(pending), total, WAITING_LABEL)
    while pending:
        pending = {check for check in pending if not _processed(services, *check)}
        show_progress(total - len(pending), total, WAITING_LABEL)
        if pending and time.monotonic() > deadline:
            print(f"\nthe erasure is committed, but not yet processed within {wait_seconds:g} s by: "
                  + ", ".join(sorted(f"{service} ({kind} {ref})" for service, kind, ref in pending))
                  + "; they will once they run again (`python -m ops status` shows their queues)",
                  file=sys.stderr)
            return 2
        if pending:
            time.sleep(POLL_SECONDS)

    print(f"erased in {time.monotonic() - started:.1f} s")
    print(f"  registration:  {len(erased)} person(s) erased {erased}"
          + (f", {len(before)} erased before {before}" if before else "")
          + f"; begeleider data removed from {accompanied} other registration(s)")
    print(f"  requests:      requester anonymised on {requests['erased']} request(s) "
          f"{requests['request_ids']}")
    print(f"  evaluation:    answers and attendance of {len(person_ids)} person(s) anonymised")
    print(f"  notifications: messages to {len(person_ids)} person(s) and {len(requests['request_ids'])} "
          "requester(s) purged")
    print("  reporting:     holds nothing personal; no figure changes")
    return 0


def _processed(services: Services, service: str, kind: str, ref: str) -> bool:
    """Has `service` processed the erasure of this person (or requester)?"""
    if service == "evaluation":
        held = services.call("evaluation", "export_person", ref)
        return held["erased"] and not held["attendance"] and not held["surveys"]
    held = services.call("notifications", "export_person" if kind == "person" else "export_requester", ref)
    return not held["messages"] and not held["captured_mail"]
