"""`make bench`: every performance measurement of the platform, with its target beside it."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402

from benchmarks import (  # noqa: E402
    kernel_bench,
    notifications_bench,
    registration_bench,
    reporting_bench,
    responsiveness_bench,
)
from benchmarks.harness import print_table, sandbox  # noqa: E402


def main() -> int:
    # --quick: reporting with a 20,000-event backlog and histories up to 100,000 events (not 1,000,000)
    quick = "--quick" in sys.argv[1:]
    rows = []
    failures = 0
    with sandbox() as config:
        result = kernel_bench.relay_throughput(config)
        rows.append(("outbox relay, publish with confirms (SQLite)", f"{result['per_second']:,.0f} events/s", "-"))
    with sandbox() as config:
        result = kernel_bench.batch_drain(config)
        rows.append(("batch consumer drain, idempotent no-op (SQLite)", f"{result['per_second']:,.0f} events/s",
                     "-"))
    with sandbox("postgresql") as config:
        result = kernel_bench.batch_drain(config)
        rows.append(("batch consumer drain, idempotent no-op (PostgreSQL)",
                     f"{result['per_second']:,.0f} events/s", "-"))
    trefdag_rows, missed = registration_bench.rows()
    rows += trefdag_rows
    failures += missed
    result = notifications_bench.run(count=1000, rate=0)
    rows.append(("1,000 evaluation invitations to a local SMTP server",
                 f"{result['seconds']:.1f} s ({result['delivered']:,} delivered, {result['logged_sent']:,} logged)",
                 "at most 10 s"))
    rows += reporting_bench.rows(quick)
    rows += responsiveness_bench.rows()
    print_table(rows)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
