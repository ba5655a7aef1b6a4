import pytest
from sqlalchemy import create_engine

from tests.integration.kernel.fixture_services import counter_database


@pytest.fixture
def kernel_config(request, platform_config, tmp_path):
    """platform_config plus a database for the test consumer ("counter"), on the same backend."""
    platform_config["DATABASES"]["counter"] = counter_database(request, platform_config, tmp_path)
    return platform_config


@pytest.fixture
def counter_db(kernel_config):
    engine = create_engine(kernel_config["DATABASES"]["counter"])
    yield engine
    engine.dispose()
