from kernel.migrate import run_migrations
from services.evaluation.models import metadata

run_migrations(metadata)
