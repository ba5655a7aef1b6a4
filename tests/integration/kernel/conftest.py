import pytest
from sqlalchemy import create_engine

from kernel.tables import kernel_metadata
from tests.integration.kernel.fixture_services import counter_metadata


@pytest.fixture
def kernel_config(request, platform_config, tmp_path):
    """platform_config plus a database for the test consumer ("counter"), on the same backend."""
    if platform_config["DATABASES"]["registration"].startswith("postgresql"):
        url = request.getfixturevalue("postgres_database")()
    else:
        url = f"sqlite:///{tmp_path}/counter.db"
    engine = create_engine(url)
    kernel_metadata.create_all(engine)
    counter_metadata.create_all(engine)
    engine.dispose()
    platform_config["DATABASES"]["counter"] = url
    return platform_config


@pytest.fixture
def counter_db(kernel_config):
    engine = create_engine(kernel_config["DATABASES"]["counter"])
    yield engine
    engine.dispose()
