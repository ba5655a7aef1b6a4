from kernel.migrate import run_migrations
from services.registration.models import metadata

run_migrations(metadata)
