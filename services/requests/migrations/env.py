from kernel.migrate import run_migrations
from services.requests.models import metadata

run_migrations(metadata)
