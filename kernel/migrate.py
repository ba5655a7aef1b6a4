"""Alembic migrations, one history per service database.

`python -m kernel.migrate` brings every service's database to its newest
revision (SQLite files are created on the way). Each service keeps its history
in services/<name>/migrations; its env.py calls `run_migrations`.
"""
from __future__ import annotations

import argparse

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from kernel.config import ROOT, SERVICES, database_url, load_config
from kernel.db import make_engine
from kernel.tables import kernel_metadata, outbox, processed_events


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def run_migrations(service_metadata: MetaData) -> None:
    """Body of every service's migrations/env.py (online mode only: we always have the database)."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=[service_metadata, kernel_metadata],
            render_as_batch=True,  # SQLite cannot ALTER most things in place
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_kernel_tables(bind) -> None:
    """For a service's first revision: the outbox and processed-event tables as kernel.tables defines them."""
    kernel_metadata.create_all(bind=bind, tables=[outbox, processed_events])


def drop_kernel_tables(bind) -> None:
    kernel_metadata.drop_all(bind=bind, tables=[outbox, processed_events])


def main() -> None:
    parser = argparse.ArgumentParser(description="Apply database migrations.")
    parser.add_argument("services", nargs="*", default=list(SERVICES), help="default: all services")
    args = parser.parse_args()
    config = load_config()
    for service in args.services:
        upgrade(service, database_url(config, service))
        print(f"{service}: database at newest revision")


if __name__ == "__main__":
    main()
