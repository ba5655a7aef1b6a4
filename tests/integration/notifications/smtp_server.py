"""A real SMTP server for the tests (aiosmtpd), in its own process so that asyncio never meets
the tests' eventlet. Every accepted message is written to --dir as <n>.eml.

  python smtp_server.py --port P --dir D [--fail-first N] [--refuse ADDRESS ...]

--fail-first N answers the first N messages with 451 (try again later);
--refuse ADDRESS answers RCPT TO that address with 550 (no such user), for good.
"""
import argparse
import itertools
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, directory: Path, fail_first: int, refuse: set[str]):
        self.directory = directory
        self.fail_left = fail_first
        self.refuse = {a.lower() for a in refuse}
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                return "451 4.3.0 Try again later"
            n = next(self.counter)
        (self.directory / f"{n:06d}.tmp").write_bytes(envelope.content)
        (self.directory / f"{n:06d}.tmp").rename(self.directory / f"{n:06d}.eml")
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--refuse", nargs="*", default=[])
    args = parser.parse_args()
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(Handler(directory, args.fail_first, set(args.refuse)), hostname="127.0.0.1",
                            port=args.port)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
