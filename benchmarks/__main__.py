"""`make bench`: every performance measurement of the platform, with its target beside it."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402
import tempfile  # noqa: E402

from benchmarks import (  # noqa: E402
    kernel_bench,
    notifications_bench,
    registration_bench,
    reporting_bench,
    responsiveness_bench,
)
from benchmarks.harness import sandbox  # noqa: E402


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
    with sandbox() as config, tempfile.TemporaryDirectory() as tmp:
        result = registration_bench.trefdag(config, tmp)
        exact = result["seats"]["confirmed"] == 300 and result["seats"]["waitlisted"] == 700 and not result["errors"]
        failures += not exact
        rows.append(("Trefdag: 1,000 registrations for 300 seats",
                     f"{result['seats']['confirmed']} confirmed, {result['seats']['waitlisted']} waitlisted, "
                     f"{result['errors']} errors", "300 / 700 / 0"))
        rows.append(("  registration API throughput", f"{result['per_second']:,.0f} registrations/s",
                     "1,000 within a minute"))
        rows.append(("  registration API latency", f"p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms",
                     "-"))
    result = notifications_bench.run(count=1000, rate=0)
    rows.append(("1,000 evaluation invitations to a local SMTP server",
                 f"{result['seconds']:.1f} s ({result['delivered']:,} delivered, {result['logged_sent']:,} logged)",
                 "at most 10 s"))
    rows += reporting_bench.rows(quick)
    rows += responsiveness_bench.rows()
    width = max(len(name) for name, _, _ in rows)
    print(f"\n{'measurement':<{width}}  {'figure':<50} target")
    for name, figure, target in rows:
        print(f"{name:<{width}}  {figure:<50} {target}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
