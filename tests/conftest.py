"""Shared fixtures: the test database is migrated once and gets the reference data (framework, code lists,
geography) once per session, as ``voicescount demo`` would load it."""

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (tests are deterministic: a failure found once is
# found again, and CI does not turn red by chance); to explore further, load a profile without derandomize.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from voicescount.framework.loaders import load_all as load_framework
    from voicescount.geography.loaders import load_all as load_geography

    with django_db_blocker.unblock():
        load_framework()
        load_geography()


@pytest.fixture(autouse=True)
def _snapshot_dir(settings, tmp_path_factory):
    """Analysis snapshots (Parquet files) go to a directory of the test's own, never the user's data."""
    settings.VOICESCOUNT_SNAPSHOT_DIR = tmp_path_factory.mktemp("snapshots")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Public API responses are cached; every test starts with an empty cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
