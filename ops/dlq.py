"""The dead-letter queue: list, show, replay and purge what the consumers gave up on.

Replaying publishes each message with publisher confirms before removing it from the
dead-letter queue, so a crash halfway leaves a duplicate at worst (consumers are idempotent),
never a loss.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone

from kombu import Connection
from nameko.amqp.publish import Publisher

from kernel.consumer import ATTEMPT_HEADER
from kernel.topology import DEAD_LETTER_QUEUE, RETRY_EXCHANGE
from ops.progress import show_progress

# headers the dead-lettering added; a replayed message starts afresh without them
DEAD_LETTER_HEADERS = (
    "x-original-queue", "x-original-exchange", "x-original-routing-key", "x-error-type", "x-error",
    "x-attempts", "x-dead-lettered-at", ATTEMPT_HEADER,
)


@dataclass
class DeadLetter:
    delivery_tag: int
    body: bytes
    headers: dict

    @property
    def payload(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def event_id(self) -> str:
        payload = self.payload
        return str(payload.get("event_id")) if isinstance(payload, dict) else "?"

    def summary(self) -> str:
        payload = self.payload if isinstance(self.payload, dict) else {}
        h = self.headers
        return (
            f"{self.event_id}  {payload.get('event_type', '?'):<24} {h.get('x-original-queue', '?')}\n"
            f"    {h.get('x-error-type', '?')}: {str(h.get('x-error', ''))[:160]}"
            f"  (attempts {h.get('x-attempts', '?')}, dead-lettered {h.get('x-dead-lettered-at', '?')})"
        )


class DeadLetterQueue:
    """Reads the dead-letter queue on one channel; whatever is not acked returns to it on close."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri

    def __enter__(self):
        self.connection = Connection(self.amqp_uri)
        self.channel = self.connection.channel()
        return self

    def __exit__(self, *exc):
        self.connection.close()  # unacked messages go back, in order

    def take(self, limit: int | None = None) -> list[DeadLetter]:
        letters = []
        while limit is None or len(letters) < limit:
            message = self.channel.basic_get(DEAD_LETTER_QUEUE.name, no_ack=False)
            if message is None:
                break
            headers = dict(message.properties.get("application_headers") or {})
            letters.append(DeadLetter(message.delivery_tag, message.body, headers))
        return letters

    def remove(self, letter: DeadLetter) -> None:
        self.channel.basic_ack(letter.delivery_tag)


def _select(letters: list[DeadLetter], event_ids: list[str], everything: bool) -> list[DeadLetter]:
    if everything:
        return letters
    wanted = set(event_ids)
    return [letter for letter in letters if letter.event_id in wanted]


def dlq_list(config, limit: int) -> int:
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        letters = dlq.take(limit)
    if not letters:
        print("the dead-letter queue is empty")
        return 0
    for letter in letters:
        print(letter.summary())
    print(f"{len(letters)} dead letter(s) shown")
    return 0


def dlq_show(config, event_id: str) -> int:
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        matches = _select(dlq.take(), [event_id], False)
    if not matches:
        print(f"no dead letter with event_id {event_id}", file=sys.stderr)
        return 2
    letter = matches[0]
    body = letter.payload or letter.body.decode("utf-8", "replace")
    print(json.dumps({"headers": letter.headers, "body": body}, indent=2, default=str))
    return 0


def dlq_replay(config, event_ids: list[str], everything: bool) -> int:
    publisher = Publisher(config["AMQP_URI"], use_confirms=True, mandatory=True)
    failures = 0
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        chosen = _select(dlq.take(), event_ids, everything)
        if not chosen:
            print("nothing to replay", file=sys.stderr)
            return 2
        for done, letter in enumerate(chosen, 1):
            queue = letter.headers.get("x-original-queue")
            if not queue or letter.payload is None:
                print(f"\n{letter.event_id}: cannot replay (no original queue or not JSON); left in place",
                      file=sys.stderr)
                failures += 1
                continue
            headers = {k: v for k, v in letter.headers.items() if k not in DEAD_LETTER_HEADERS}
            headers["x-replayed-at"] = datetime.now(timezone.utc).isoformat()
            try:
                publisher.publish(letter.payload, exchange=RETRY_EXCHANGE, routing_key=queue, headers=headers)
            except Exception as exc:  # keep it in the dead-letter queue
                print(f"\n{letter.event_id}: replay failed ({exc}); left in place", file=sys.stderr)
                failures += 1
                continue
            dlq.remove(letter)
            show_progress(done, len(chosen), "replaying")
    print(f"replayed {len(chosen) - failures} of {len(chosen)}")
    return 1 if failures else 0


def dlq_purge(config, event_ids: list[str], everything: bool, confirmed: bool) -> int:
    if not confirmed:
        print("purging deletes messages for good: add --yes", file=sys.stderr)
        return 2
    with DeadLetterQueue(config["AMQP_URI"]) as dlq:
        chosen = _select(dlq.take(), event_ids, everything)
        for letter in chosen:
            dlq.remove(letter)
    print(f"purged {len(chosen)}")
    return 0 if chosen else 2
