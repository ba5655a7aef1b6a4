"""Root fixtures. eventlet must patch the standard library before anything
imports sockets or threads, or the integration tests hang."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # must run before anything imports sockets or threads

import collections  # noqa: E402
import copy  # noqa: E402
import hashlib  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from kernel.config import SERVICES, load_config  # noqa: E402
from tests.helpers import free_port  # noqa: E402

STAFF_TOKEN = "test-staff-token"
OPS_TOKEN = "test-ops-token"
ADMIN_TOKEN = "test-admin-token"
# PostgreSQL server for the tests that are about PostgreSQL (a fresh database per test).
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
# The database of every test that does not choose one: `make test` runs the suite once per backend.
DEFAULT_BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
if DEFAULT_BACKEND not in ("sqlite", "postgresql"):
    raise RuntimeError(f"TEST_DATABASE must be sqlite or postgresql, not {DEFAULT_BACKEND!r}")


@pytest.fixture(name="free_port")
def a_free_port():
    return free_port()


@pytest.fixture(scope="session")
def rabbit_manager(request):
    """nameko's client of the RabbitMQ management API (a vhost per test), retrying a request whose
    pooled keep-alive connection the server had closed: nameko's deletes the run's last vhosts with
    no retry on that (RemoteDisconnected at the end of a CI run)."""
    from nameko.testing import rabbit
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    client = rabbit.Client(request.config.getoption("RABBIT_API_URI"))
    client._session.mount("http://", HTTPAdapter(max_retries=Retry(total=3, allowed_methods=None,
                                                                     backoff_factor=0.2)))
    return client


@pytest.fixture
def staff_headers():
    return {"Authorization": f"Bearer {STAFF_TOKEN}"}


@pytest.fixture
def ops_headers():
    return {"Authorization": f"Bearer {OPS_TOKEN}"}


@pytest.fixture
def admin_headers():
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class MigratedTemplates:
    """Each service's database migrated once per test session; a test gets a copy of it (a file
    copy on SQLite; on PostgreSQL an emptied database of an earlier test, or a copy of the template)."""

    def __init__(self, directory):
        self.directory = directory
        self.sqlite: dict[str, str] = {}
        self.postgresql: dict[str, str] = {}  # service -> template database
        self.schemas: dict[str, tuple] = {}
        self.used: dict[str, list[str]] = collections.defaultdict(list)  # databases of finished tests

    def sqlite_copy(self, service: str, path) -> str:
        from sqlalchemy import create_engine, text

        from kernel.migrate import upgrade

        if service not in self.sqlite:
            template = f"{self.directory}/{service}.db"
            upgrade(service, f"sqlite:///{template}")
            engine = create_engine(f"sqlite:///{template}")
            with engine.connect() as connection:  # everything into the main file, nothing left in the WAL
                connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            engine.dispose()
            self.sqlite[service] = template
        shutil.copyfile(self.sqlite[service], path)
        return f"sqlite:///{path}"

    def postgresql_database(self, service: str, admin) -> str:
        """A database with `service`'s migrated, empty schema: a cleaned one from an earlier test,
        or a new copy of the template (CREATE DATABASE costs about half a second here)."""
        from sqlalchemy import text

        from kernel.migrate import upgrade

        if service not in self.postgresql:
            name = f"template_{service}_{uuid.uuid4().hex[:8]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            upgrade(service, _postgres_url(name))
            self.postgresql[service] = name
            self.schemas[service] = _schema_of(name)
        while self.used[service]:
            name = self.used[service].pop()
            if self._emptied(service, name, admin):
                return name
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        name = f"test_{service}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.postgresql[service]}"'))
        return name

    def give_back(self, service: str, name: str) -> None:
        """Keep a test's database for a later test. It is emptied only when taken again: by then
        every service of the test that used it has surely stopped writing to it."""
        self.used[service].append(name)

    def _emptied(self, service: str, name: str, admin) -> bool:
        """Empty a used database; False when that cannot be done or its schema was changed."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        try:
            with admin.connect() as connection:  # whatever is still connected goes
                connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ), {"name": name})
            if _schema_of(name) != self.schemas[service]:
                return False
            engine = create_engine(_postgres_url(name))
            try:
                with engine.begin() as connection:
                    tables = ", ".join(f'"{table}"' for table, _ in self.schemas[service] if table != "alembic_version")
                    connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            finally:
                engine.dispose()
        except SQLAlchemyError:
            return False
        return True


def _postgres_url(database: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def _schema_of(database: str) -> tuple:
    """Tables and migration revision of a database: what a pooled database must still have."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(_postgres_url(database))
    with engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar() \
            if "alembic_version" in tables else None
    engine.dispose()
    return tuple((table, revision) for table in tables)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory):
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated-templates"))
    yield templates
    leftovers = list(templates.postgresql.values()) + [n for names in templates.used.values() for n in names]
    if leftovers:
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in leftovers:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_database(migrated_templates):
    """Factory of PostgreSQL databases for one test; returns their URLs. `create()` makes an empty
    one (dropped afterwards), `create(service)` one holding that service's migrated, empty schema
    (kept afterwards, emptied when a later test takes it)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created, pooled = [], []

    def create(service: str | None = None) -> str:
        if service is not None:
            name = migrated_templates.postgresql_database(service, admin)
            pooled.append((service, name))
        else:
            name = f"test_{uuid.uuid4().hex[:16]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            created.append(name)
        return _postgres_url(name)

    yield create
    for service, name in pooled:
        migrated_templates.give_back(service, name)
    with admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_backend(request):
    """Parametrise a test over both supported databases: request it before platform_config."""
    return request.param


@pytest.fixture
def platform_config(request, rabbit_config, tmp_path, migrated_templates):
    """config.yml with this test's own RabbitMQ vhost, fresh migrated databases
    (SQLite files, or PostgreSQL under `database_backend`), fast retries and a known staff token."""
    backend = (request.getfixturevalue("database_backend") if "database_backend" in request.fixturenames
               else DEFAULT_BACKEND)
    config = copy.deepcopy(load_config())
    config["AMQP_URI"] = rabbit_config["AMQP_URI"]
    config["WEB_SERVER_ADDRESS"] = f"127.0.0.1:{free_port()}"
    config["PUBLIC_BASE_URL"] = f"http://{config['WEB_SERVER_ADDRESS']}"
    if backend == "postgresql":
        create = request.getfixturevalue("postgres_database")
        config["DATABASES"] = {name: create(name) for name in SERVICES}
    else:
        config["DATABASES"] = {name: migrated_templates.sqlite_copy(name, tmp_path / f"{name}.db") for name in SERVICES}
    config["EVENTS"].update(RETRY_DELAYS_MS=[50, 100], RELAY_POLL_SECONDS=0.1)
    config["METRICS"]["PORTS"] = {}  # tests that scrape metrics pick their own free port
    config["AUTH"]["STAFF_TOKEN_SHA256"] = hashlib.sha256(STAFF_TOKEN.encode()).hexdigest()
    config["AUTH"]["OPS_TOKEN_SHA256"] = hashlib.sha256(OPS_TOKEN.encode()).hexdigest()
    config["AUTH"]["ADMIN_TOKEN_SHA256"] = hashlib.sha256(ADMIN_TOKEN.encode()).hexdigest()
    # Tests post many forms from one address: no rate limits, but where a test turns them on
    # (tests/integration/gateway/test_security.py).
    config["GATEWAY"]["RATE_LIMIT"] = {"PER_MINUTE": 0, "BURST": 0, "LOGIN_PER_MINUTE": 0, "LOGIN_BURST": 0,
                                       "HEALTH_PER_MINUTE": 0, "HEALTH_BURST": 0}
    config["GATEWAY"]["HEALTH_CACHE_SECONDS"] = 0  # tests stop a service and ask /health at once
    config["GATEWAY"]["CSRF_SECRET"] = "test-csrf-secret"
    config["GC_FREEZE_AT_START"] = False  # this one process starts hundreds of containers
    return config


@pytest.fixture
def gateway_url(platform_config):
    return f"http://{platform_config['WEB_SERVER_ADDRESS']}"


def pytest_collection_modifyitems(config, items):
    """On the PostgreSQL pass (TEST_DATABASE=postgresql), tests that choose their databases
    themselves already ran on both in the first pass: leave them out."""
    if DEFAULT_BACKEND != "postgresql":
        return
    chosen = [item for item in items if "database_backend" in getattr(getattr(item, "callspec", None), "params", {})]
    if chosen:
        config.hook.pytest_deselected(items=chosen)
        items[:] = [item for item in items if item not in chosen]
