#!/usr/bin/env bash
# Prepare this machine for `make run` (default) or `make test` (--test):
#   - the virtual environment .venv (Python 3.11) with requirements.txt installed (test mode:
#     requirements-dev.txt too: pytest, ruff, playwright, ...),
#   - a local RabbitMQ with its management plugin, when AMQP_URI points to this machine,
#   - test mode only: Chromium (headless page tests), promtool and amtool (alert rules and
#     monitoring configuration) and a local PostgreSQL (tests that run on it).
# Idempotent: a second run only checks, and takes a few seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MODE=run
for arg in "$@"; do
    case "$arg" in
        --test) MODE=test ;;
        --run) MODE=run ;;
        -h | --help)
            echo "usage: scripts/bootstrap.sh [--test]"
            exit 0
            ;;
        *)
            echo "bootstrap: unknown argument '$arg'" >&2
            exit 2
            ;;
    esac
done

VENV="$ROOT/.venv"
STAMP="$VENV/.requirements.sha256"
RABBITMQ_START_TIMEOUT="${RABBITMQ_START_TIMEOUT:-90}"
POSTGRES_START_TIMEOUT="${POSTGRES_START_TIMEOUT:-60}"
export DEBIAN_FRONTEND=noninteractive

say() { printf '==> %s\n' "$*"; }
fail() {
    printf 'bootstrap: ERROR: %s\n' "$*" >&2
    exit 1
}

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        if [ -t 0 ]; then
            sudo "$@"
        else
            # no terminal (CI): never wait for a password prompt
            sudo -n "$@" || fail "'sudo $*' failed (no terminal to ask for a password; run it by hand)"
        fi
    else
        fail "need root to run '$*' (not root and no sudo)"
    fi
}

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        fail "apt-get not found: install $* with your system's package manager, then run this again"
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt-get install -y $*"
    as_root apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# True when something accepts TCP connections on host:port (2 s timeout).
tcp_open() {
    timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1
}

# Wait up to $3 seconds for host:port to accept connections; $4 names it in messages.
wait_for_port() {
    local host="$1" port="$2" limit="$3" what="$4" waited=0
    until tcp_open "$host" "$port"; do
        if [ "$waited" -ge "$limit" ]; then
            return 1
        fi
        if [ $((waited % 10)) -eq 0 ]; then
            say "waiting for $what on $host:$port (${waited}s of ${limit}s)"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

is_local_host() {
    case "$1" in
        localhost | 127.0.0.1 | ::1 | "[::1]" | "") return 0 ;;
        *) return 1 ;;
    esac
}

have_systemd() {
    [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# 1. Python virtual environment
# ---------------------------------------------------------------------------
venv_ok() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1
}

find_python() {
    if command -v python3.11 >/dev/null 2>&1 && python3.11 -c 'import sys' >/dev/null 2>&1; then
        command -v python3.11
    elif command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; then
        command -v python3
    else
        return 1
    fi
}

if ! venv_ok; then
    PYTHON="$(find_python)" || fail "Python 3.11 not found (neither python3.11 nor a python3 that is 3.11)"
    if [ -e "$VENV" ]; then
        say "removing $VENV (not a working Python 3.11 environment)"
        rm -rf "$VENV"
    fi
    say "creating virtual environment .venv with $PYTHON"
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        # Debian ships venv/ensurepip separately.
        rm -rf "$VENV"
        apt_install python3-venv
        "$PYTHON" -m venv "$VENV" || fail "could not create a virtual environment with $PYTHON"
    fi
fi

# The stamp keeps a line per requirements file installed (runtime=<sha256>, dev=<sha256>): `make run`
# needs the runtime line current, test mode both; a run after a test install keeps the dev line.
RUNTIME_HASH="$(sha256sum requirements.txt | cut -d' ' -f1)"
DEV_HASH="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
stamped() { [ -f "$STAMP" ] && grep -qx "$1=$2" "$STAMP"; }
if ! stamped runtime "$RUNTIME_HASH" || { [ "$MODE" = test ] && ! stamped dev "$DEV_HASH"; }; then
    REQUIREMENTS=requirements.txt
    [ "$MODE" = test ] && REQUIREMENTS=requirements-dev.txt
    say "installing $REQUIREMENTS into .venv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    DEV_LINE=""
    if [ "$MODE" = test ] || stamped dev "$DEV_HASH"; then DEV_LINE="dev=$DEV_HASH"; fi
    printf 'runtime=%s\n%s\n' "$RUNTIME_HASH" "$DEV_LINE" >"$STAMP"
else
    say "Python environment up to date (.venv)"
fi

# ---------------------------------------------------------------------------
# 2. RabbitMQ (only when the platform's broker is this machine)
# ---------------------------------------------------------------------------
# host and port of AMQP_URI as config.yml resolves it (environment overrides included)
AMQP_ADDRESS="$("$VENV/bin/python" -W ignore -c '
from urllib.parse import urlsplit
from kernel.config import load_config
uri = urlsplit(str(load_config()["AMQP_URI"]))
print(uri.hostname or "localhost", uri.port or 5672)
')" || fail "could not read AMQP_URI from config.yml"
read -r AMQP_HOST AMQP_PORT <<<"$AMQP_ADDRESS"

if ! is_local_host "$AMQP_HOST"; then
    say "AMQP_URI points to $AMQP_HOST:$AMQP_PORT: not managing a local RabbitMQ"
else
    [ "$AMQP_HOST" = "localhost" ] && AMQP_HOST=127.0.0.1
    RABBITMQ_MGMT_PORT="${RABBITMQ_MGMT_PORT:-15672}"
    if ! command -v rabbitmq-server >/dev/null 2>&1 && [ ! -x /usr/sbin/rabbitmq-server ]; then
        say "RabbitMQ is not installed"
        apt_install rabbitmq-server
    fi
    export PATH="$PATH:/usr/sbin:/sbin"

    if tcp_open "$AMQP_HOST" "$AMQP_PORT"; then
        say "RabbitMQ is running on $AMQP_HOST:$AMQP_PORT"
    else
        say "starting RabbitMQ"
        if have_systemd; then
            as_root systemctl start rabbitmq-server
        elif command -v service >/dev/null 2>&1 && [ -x /etc/init.d/rabbitmq-server ]; then
            as_root service rabbitmq-server start || as_root rabbitmq-server -detached
        else
            as_root rabbitmq-server -detached
        fi
        wait_for_port "$AMQP_HOST" "$AMQP_PORT" "$RABBITMQ_START_TIMEOUT" "RabbitMQ" ||
            fail "RabbitMQ did not answer on $AMQP_HOST:$AMQP_PORT within ${RABBITMQ_START_TIMEOUT}s; see /var/log/rabbitmq/ and 'rabbitmq-diagnostics status'"
        say "RabbitMQ is up"
    fi

    # The management API (the tests make a vhost per test through it; ops look at queues with it).
    if tcp_open 127.0.0.1 "$RABBITMQ_MGMT_PORT"; then
        say "RabbitMQ management API is answering on 127.0.0.1:$RABBITMQ_MGMT_PORT"
    else
        say "enabling the RabbitMQ management plugin"
        as_root rabbitmq-plugins enable --quiet rabbitmq_management >/dev/null
        wait_for_port 127.0.0.1 "$RABBITMQ_MGMT_PORT" "$RABBITMQ_START_TIMEOUT" "RabbitMQ management API" ||
            fail "the RabbitMQ management API did not answer on 127.0.0.1:$RABBITMQ_MGMT_PORT within ${RABBITMQ_START_TIMEOUT}s"
        say "RabbitMQ management API is up"
    fi
fi

# ---------------------------------------------------------------------------
# 3. Test mode: Chromium and PostgreSQL
# ---------------------------------------------------------------------------
if [ "$MODE" = test ]; then
    # The page tests drive Debian's Chromium through the playwright package
    # (executable_path=/usr/bin/chromium); no browser download.
    if [ -x /usr/bin/chromium ]; then
        say "Chromium is installed (/usr/bin/chromium)"
    else
        say "Chromium is not installed"
        apt_install chromium
        [ -x /usr/bin/chromium ] || fail "chromium installed but /usr/bin/chromium is missing"
    fi

    # The alert rules, the Prometheus and the Alertmanager configuration are checked with the
    # real tools (tests/integration/test_deploy_config.py): promtool from Debian's `prometheus`,
    # amtool from `prometheus-alertmanager`. Only the tools are wanted: a server the package
    # just installed enabled and started (under systemd or its init script) is stopped and
    # disabled again, so nothing is left listening on 9090 or 9093.
    for tool_package in promtool:prometheus amtool:prometheus-alertmanager; do
        tool="${tool_package%%:*}"
        package="${tool_package#*:}"
        if command -v "$tool" >/dev/null 2>&1; then
            say "$tool is installed"
            continue
        fi
        say "$tool is not installed"
        apt_install "$package"
        command -v "$tool" >/dev/null 2>&1 || fail "$package installed but $tool is missing"
        if have_systemd; then
            as_root systemctl disable --now "$package" >/dev/null 2>&1 || true
        elif [ -x "/etc/init.d/$package" ]; then
            as_root "/etc/init.d/$package" stop >/dev/null 2>&1 || true
        fi
    done

    # Tests that run on PostgreSQL use TEST_POSTGRES_URL (see tests/conftest.py):
    # a server where user "postgres" may create databases.
    TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/postgres}"
    export TEST_POSTGRES_URL
    PG_ADDRESS="$("$VENV/bin/python" -c '
import os
from urllib.parse import urlsplit
url = urlsplit(os.environ["TEST_POSTGRES_URL"])
print(url.hostname or "127.0.0.1", url.port or 5432)
')" || fail "could not parse TEST_POSTGRES_URL"
    read -r PG_HOST PG_PORT <<<"$PG_ADDRESS"
    if ! is_local_host "$PG_HOST"; then
        say "TEST_POSTGRES_URL points to $PG_HOST:$PG_PORT: not managing a local PostgreSQL"
    elif tcp_open 127.0.0.1 "$PG_PORT"; then
        say "PostgreSQL is running on 127.0.0.1:$PG_PORT"
    else
        INSTALLED_PG=0
        if ! command -v pg_lsclusters >/dev/null 2>&1; then
            say "PostgreSQL is not installed"
            apt_install postgresql
            INSTALLED_PG=1
        fi
        # The first cluster (Debian creates <version>/main on installation).
        read -r PG_VERSION PG_CLUSTER _ < <(pg_lsclusters --no-header | head -n 1) ||
            fail "no PostgreSQL cluster found (pg_lsclusters is empty); create one with pg_createcluster"
        if [ "$INSTALLED_PG" -eq 1 ]; then
            # A server installed just for the tests: let "postgres" connect over
            # 127.0.0.1 without a password, as TEST_POSTGRES_URL's default expects.
            HBA="/etc/postgresql/$PG_VERSION/$PG_CLUSTER/pg_hba.conf"
            if ! as_root grep -q 'added by scripts/bootstrap.sh' "$HBA"; then
                say "allowing user postgres on 127.0.0.1 without password (test server, $HBA)"
                as_root sed -i '1i # added by scripts/bootstrap.sh for the test suite\nhost all postgres 127.0.0.1/32 trust' "$HBA"
            fi
        fi
        say "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
        if have_systemd; then
            as_root systemctl start "postgresql@$PG_VERSION-$PG_CLUSTER"
        else
            as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start || true
        fi
        wait_for_port 127.0.0.1 "$PG_PORT" "$POSTGRES_START_TIMEOUT" "PostgreSQL" ||
            fail "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${POSTGRES_START_TIMEOUT}s; see /var/log/postgresql/"
        say "PostgreSQL is up"
    fi
    # The tests create and drop a database per test: check that we may.
    if ! PG_ERROR="$("$VENV/bin/python" -c '
import os
from sqlalchemy import create_engine, text
engine = create_engine(os.environ["TEST_POSTGRES_URL"], connect_args={"connect_timeout": 5})
with engine.connect() as connection:
    query = "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
    if not connection.execute(text(query)).scalar():
        raise SystemExit("this role may not create databases")
' 2>&1)"; then
        fail "cannot use PostgreSQL at TEST_POSTGRES_URL (${TEST_POSTGRES_URL}): $(printf '%s' "$PG_ERROR" | tail -n 1)
  Set TEST_POSTGRES_URL to a server and role that may create databases, e.g.
  TEST_POSTGRES_URL=postgresql+psycopg2://user:password@127.0.0.1:5432/postgres make test"
    fi
    say "PostgreSQL accepts the test suite's connection"
fi

say "bootstrap done ($MODE)"
