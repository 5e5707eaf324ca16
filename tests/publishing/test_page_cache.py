"""Rendered public pages are cached under the publication stamp: answered from the cache while nothing is
published, rendered again after a new run or a change of what is public, never shared with signed-in users.
"""
# ruff: noqa: F811  (pytest fixtures imported from other test modules)

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.publishing.test_evidence_pages import published  # noqa: F401  (fixture)
from voicescount.accounts.models import Membership, Role
from voicescount.indicators import compute, publication
from voicescount.publishing import page_cache
from voicescount.publishing.models import PublicationStamp

pytestmark = pytest.mark.django_db
PAGE = "/en/indicators/1.3.1/"


def runs_linked(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r"/indicators/1\.3\.1/runs/(\d+)/", html)}


def coordinator(django_user_model, study):
    user = django_user_model.objects.create_user("coord", password="pw")
    Membership.objects.create(user=user, organisation=study.organisation, role=Role.COORDINATOR)
    return user


def test_a_page_asked_again_is_answered_from_the_cache_with_one_query(
    client, published, django_assert_num_queries
):
    first = client.get(PAGE)
    assert first.status_code == 200
    with django_assert_num_queries(1):  # the publication stamp
        again = client.get(PAGE)
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    with django_assert_num_queries(1):
        assert client.head(PAGE).status_code == 200


def test_a_new_run_shows_at_once_when_published(client, published, definition, study, django_user_model):
    assert runs_linked(client.get(PAGE).content.decode()) == {published.pk}
    newer = compute.compute_definition(definition, force=True)
    assert runs_linked(client.get(PAGE).content.decode()) == {published.pk}  # a draft
    by = coordinator(django_user_model, study)
    publication.publish(newer, by)
    assert runs_linked(client.get(PAGE).content.decode()) == {newer.pk}
    publication.unpublish(definition, by)
    assert runs_linked(client.get(PAGE).content.decode()) == set()


def test_a_run_computed_from_the_coordinators_page_shows_once_published(
    client, published, study, django_user_model, settings, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DATA_DIR = tmp_path
    visitor = Client()
    before = visitor.get(PAGE).content.decode()
    client.force_login(coordinator(django_user_model, study))
    done = client.post(f"/en/studies/{study.slug}/indicators/", {"force": "1"}, follow=True)
    assert done.status_code == 200
    newest = study.indicator_definitions.get().runs.order_by("-pk").first()
    assert newest.pk != published.pk
    assert runs_linked(before) == {published.pk}
    assert runs_linked(visitor.get(PAGE).content.decode()) == {published.pk}  # a draft: cached page stays
    client.post(f"/en/workspace/studies/{study.slug}/results/runs/{newest.pk}/publish/")
    assert runs_linked(visitor.get(PAGE).content.decode()) == {newest.pk}


def test_withdrawing_a_definition_or_study_shows_at_once(client, published, definition, study):
    assert "Covered by social protection" in client.get(PAGE).content.decode()
    definition.is_public = False
    definition.save()
    assert "Covered by social protection" not in client.get(PAGE).content.decode()
    definition.is_public = True
    definition.save()
    assert "Covered by social protection" in client.get(PAGE).content.decode()
    study.is_public = False
    study.save()
    assert "Covered by social protection" not in client.get(PAGE).content.decode()


def test_the_stamp_is_renewed_by_publication_changes_only(published, definition):
    stamp = page_cache.current_stamp()
    assert page_cache.current_stamp() == stamp  # reading does not renew it
    compute.compute_definition(definition, force=True)
    assert page_cache.current_stamp() != stamp


def test_a_missing_stamp_row_is_created_on_first_use(client, published):
    PublicationStamp.objects.all().delete()
    assert client.get(PAGE).status_code == 200
    assert PublicationStamp.objects.count() == 1


def test_a_signed_in_request_is_not_answered_from_the_public_cache(
    client, published, study, django_user_model
):
    anonymous = Client()
    assert "Sign in" in anonymous.get(PAGE).content.decode()  # now cached
    client.force_login(coordinator(django_user_model, study))
    signed_in = client.get(PAGE).content.decode()
    assert "coord" in signed_in and "Sign out" in signed_in
    # …and a signed-in user's page (name, CSRF token of the sign-out form) is never stored for others.
    again = anonymous.get(PAGE).content.decode()
    assert "Sign out" not in again and "csrfmiddlewaretoken" not in again


def test_pages_vary_by_language_address_and_htmx(client, published):
    en, vi = client.get(PAGE).content.decode(), client.get("/vi/indicators/1.3.1/").content.decode()
    assert '<html lang="en">' in en and '<html lang="vi">' in vi
    assert (
        client.get(PAGE).content.decode() == en and client.get("/vi/indicators/1.3.1/").content.decode() == vi
    )
    url = f"/en/indicators/1.3.1/runs/{published.pk}/?by=SEX"
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    page = client.get(url).content.decode()
    assert "<html" not in fragment and "<html" in page
    by_age = client.get(f"/en/indicators/1.3.1/runs/{published.pk}/?by=AGE").content.decode()
    assert by_age != page


def test_pending_messages_are_not_answered_from_the_cache(client, published):
    client.get(PAGE)  # cached
    client.cookies["messages"] = "pending"
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PAGE).status_code == 200
    assert len(queries) > 1  # rendered, not taken from the cache


@pytest.mark.parametrize(
    ("value", "backend"),
    [
        ("", "django.core.cache.backends.locmem.LocMemCache"),
        ("locmem:", "django.core.cache.backends.locmem.LocMemCache"),
        ("dummy:", "django.core.cache.backends.dummy.DummyCache"),
    ],
)
def test_the_cache_setting(monkeypatch, value, backend):
    from voicescount import config

    monkeypatch.setenv(config.ENV_CACHE_URL, value)
    assert config.cache()["BACKEND"] == backend


@pytest.mark.parametrize("value", ["memcached://127.0.0.1:11211", "127.0.0.1:6379", "redis:///0"])
def test_a_wrong_cache_setting_is_explained(monkeypatch, value):
    import importlib.util

    from voicescount import config

    monkeypatch.setenv(config.ENV_CACHE_URL, value)
    if value.startswith("redis") and importlib.util.find_spec("redis") is None:
        expected = "redis package is not installed"
    elif value.startswith("redis"):
        expected = "names no Redis server"
    else:
        expected = "must be redis://"
    with pytest.raises(config.ConfigurationError, match=expected):
        config.cache()
