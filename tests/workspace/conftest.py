"""Fixtures of the workspace tests: the demo's organisations and users, the demo study (as its package, or
with a few hundred imported submissions and their estimates), and a client signed in through the site's
own sign-in page as a person would (never ``force_login``)."""

from __future__ import annotations

import pytest
from django.test import Client

from voicescount.accounts.demo import DEMO_PASSWORD, create_demo_accounts
from voicescount.accounts.models import Organisation
from voicescount.collection.packages_load import load_study
from voicescount.demo import load as demo_load


@pytest.fixture
def demo_accounts(settings):
    # A fast hasher: these tests check the pages, not the hashing (the sign-in tests use the real one).
    settings.PASSWORD_HASHERS = FAST_HASHER
    return create_demo_accounts()


@pytest.fixture
def demo_study(demo_accounts):
    """The demo's study as its package loads it: methodology, XLSForm, roles, definitions; no data."""
    organisation = Organisation.objects.get(slug=demo_load.ORGANISATION)
    return load_study(demo_load.PACKAGE, organisation=organisation).study


FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def demo_data_for_module(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo study with 300 imported submissions and its estimates, loaded once per test module in a
    transaction rolled back at the module's end; each test runs in a savepoint of it, so what a test
    changes is undone for the next (as Django's ``TestCase.setUpTestData``). The module's snapshots
    (content-addressed Parquet files) have a directory of their own. Its path is the fixture's value."""
    from django.db import transaction
    from django.test.utils import override_settings

    snapshots = tmp_path_factory.mktemp("module-snapshots")
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER, VOICESCOUNT_SNAPSHOT_DIR=str(snapshots)),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            create_demo_accounts()
            demo_load.load_demo_study(respondents=300)
            yield snapshots
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def demo_study_with_data(demo_data_for_module, demo_accounts, settings):
    """The demo study with 300 imported submissions (some quarantined, some duplicates) and its estimates."""
    settings.VOICESCOUNT_SNAPSHOT_DIR = str(demo_data_for_module)
    organisation = Organisation.objects.get(slug=demo_load.ORGANISATION)
    return organisation.studies.get()


def sign_in(client: Client, username: str, lang: str = "en", password: str = DEMO_PASSWORD) -> Client:
    """Sign ``client`` in through the site's sign-in page, as a person would; fails the test if refused."""
    url = f"/{lang}/accounts/sign-in/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"username": username, "password": password})
    assert response.status_code == 302, f"{username} could not sign in: {response.content.decode()[:500]}"
    return client


@pytest.fixture
def signed_in(client):
    """``signed_in("coordinator", "vi")``: the test client, signed in through the site's page."""

    def _signed_in(username: str, lang: str = "en") -> Client:
        return sign_in(client, username, lang)

    return _signed_in
