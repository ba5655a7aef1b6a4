from kernel.migrate import run_migrations
from services.accounts.models import metadata

run_migrations(metadata)
