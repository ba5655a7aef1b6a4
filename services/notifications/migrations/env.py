from kernel.migrate import run_migrations
from services.notifications.models import metadata

run_migrations(metadata)
