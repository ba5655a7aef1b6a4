from kernel.migrate import run_migrations
from services.reporting.models import metadata

run_migrations(metadata)
