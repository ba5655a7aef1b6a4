#!/usr/bin/env bash
# `make test`: bootstrap in test mode, lint, then the whole test suite (unit, integration, e2e)
# on SQLite and, alongside, the database tests again on PostgreSQL.
# Exits with pytest's exit code; "no tests collected" (5) counts as a failure like any other.
# PYTEST_ARGS runs only those arguments, once (e.g. PYTEST_ARGS="tests/unit -x").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh --test

printf '==> ruff check .\n'
.venv/bin/ruff check .

# No single test, nor the whole run, may hang (CI allows 30 minutes in all).
PYTEST_TIMEOUT="${PYTEST_TIMEOUT:-300}"
PYTEST_TOTAL_TIMEOUT="${PYTEST_TOTAL_TIMEOUT:-1650}"
DEADLINE=$((SECONDS + PYTEST_TOTAL_TIMEOUT))

# run_pytest <label> <args...>: pytest within what is left of the total time; returns its status.
run_pytest() {
    local label="$1" left status
    shift
    left=$((DEADLINE - SECONDS))
    if [ "$left" -le 0 ]; then
        printf 'make test: FAILED: no time left for %s (%ss in all)\n' "$label" "$PYTEST_TOTAL_TIMEOUT" >&2
        return 124
    fi
    printf '==> pytest %s (at most %ss per test, %ss left)\n' "$label" "$PYTEST_TIMEOUT" "$left"
    set +e
    timeout --foreground --kill-after=30 "$left" .venv/bin/python -m pytest --timeout="$PYTEST_TIMEOUT" -ra \
        --durations=10 "$@"
    status=$?
    set -e
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        printf 'make test: FAILED: pytest (%s) did not finish within %ss in all\n' "$label" "$PYTEST_TOTAL_TIMEOUT" >&2
    elif [ "$status" -eq 5 ]; then
        printf 'make test: FAILED: pytest (%s) collected no tests (exit code 5)\n' "$label" >&2
    elif [ "$status" -ne 0 ]; then
        printf 'make test: FAILED: pytest (%s) exit code %s\n' "$label" "$status" >&2
    fi
    return "$status"
}

if [ -n "${PYTEST_ARGS:-}" ]; then
    # shellcheck disable=SC2086
    run_pytest "$PYTEST_ARGS" $PYTEST_ARGS
    exit $?
fi
# The whole suite on SQLite (tests about PostgreSQL run there too) and, side by side with it,
# every test that touches a database once more with PostgreSQL as every service's database.
# Side by side because most of a test's time is waiting (for the broker, a timer, a browser):
# one after the other the two passes took ~23 of CI's 30 minutes. Every test has its own
# RabbitMQ vhost, databases and ports, so the passes do not meet.
pg_log="$(mktemp)"
trap 'kill 0' INT TERM  # background jobs of a script ignore Ctrl-C: take the PostgreSQL pass along
TEST_DATABASE=postgresql run_pytest "tests/integration tests/e2e on PostgreSQL" tests/integration tests/e2e \
    >"$pg_log" 2>&1 &
pg_pass=$!
printf '==> the PostgreSQL pass runs alongside; its output follows the SQLite pass\n'
sqlite_status=0
run_pytest "tests/ on SQLite" tests/ || sqlite_status=$?
pg_status=0
wait "$pg_pass" || pg_status=$?
printf '\n==> output of the PostgreSQL pass\n'
cat "$pg_log"
rm -f "$pg_log"
[ "$sqlite_status" -eq 0 ] || exit "$sqlite_status"
exit "$pg_status"
