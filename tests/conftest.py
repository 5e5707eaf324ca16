"""Shared fixtures: the test database is migrated once and gets the reference data (framework, code lists,
geography) once per session, as ``voicescount demo`` would load it."""

import os

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (tests are deterministic: a failure found once is
# found again, and CI does not turn red by chance); to explore further, load a profile without derandomize.
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")


def load_reference_data() -> None:
    from voicescount.framework.loaders import load_all as load_framework
    from voicescount.geography.loaders import load_all as load_geography

    load_framework()
    load_geography()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_reference_data()


def _transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    return bool(marker and marker.kwargs.get("transaction")) or any(
        name in fixtures for name in ("transactional_db", "live_server", "django_db_reset_sequences")
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """A transactional test ends by emptying the database (reference data included). Under pytest-xdist
    its file's other tests may come after it, so the reference data is loaded again straight away."""
    result = yield
    if _transactional(item) and nextitem is not None:
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            load_reference_data()
    return result


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


def _on_postgresql() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "own_sqlite: its processes use a SQLite database of their own whatever DATABASE_URL says (the demo, "
        "the browser tests' sites): run in the SQLite pass, skipped when DATABASE_URL is PostgreSQL",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, skip the tests that would only repeat the SQLite pass (``own_sqlite``, ``browser``)."""
    if not _on_postgresql():
        return
    skip = pytest.mark.skip(
        reason="uses its own SQLite database whatever DATABASE_URL says: the SQLite pass runs it"
    )
    for item in items:
        if item.get_closest_marker("own_sqlite") or item.get_closest_marker("browser"):
            item.add_marker(skip)
