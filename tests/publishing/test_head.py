"""``HEAD`` answers like ``GET`` without a body, on every public page and API address (RFC 9110, 9.3.2).

Every page was decorated ``require_GET`` and django-ninja routes by method only, so ``HEAD`` was a 405
everywhere: link checkers, uptime monitors and caches that ask ``HEAD`` first saw a broken site.
"""

import pytest

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.publishing.test_evidence_pages import published  # noqa: F401  (fixture)
from voicescount.publishing.static_site import page_urls

pytestmark = pytest.mark.django_db


def test_head_answers_every_public_url_like_get(client, published):  # noqa: F811
    urls = list(page_urls())
    assert len(urls) > 500
    different = []
    for url in urls:
        got, head = client.get(url), client.head(url)
        if head.status_code != got.status_code or head.content:
            different.append((url, got.status_code, head.status_code, len(head.content)))
        elif head["Content-Type"] != got["Content-Type"]:
            different.append((url, got["Content-Type"], head["Content-Type"]))
    assert different == []


@pytest.mark.parametrize(
    "url",
    [
        "/en/indicators/99.9.9/",  # no such indicator
        "/en/goals/18/",  # no such goal
        "/en/map/?boundaries=12",  # a parameter the page cannot use
        "/en/indicators/1.3.1/runs/999999/",
        "/api/v1/indicators/99.9.9",
        "/api/v1/indicators?limit=-1",
        "/en/studies/unknown-study/",
        "/api/docs",
        "/api/openapi.json",
    ],
)
def test_head_gives_the_status_of_get_for_errors_too(client, published, url):  # noqa: F811
    got, head = client.get(url), client.head(url)
    assert (head.status_code, head.content) == (got.status_code, b"")


def test_head_on_a_signed_in_page(client, published, django_user_model):  # noqa: F811
    from voicescount.accounts.models import Membership

    user = django_user_model.objects.create_user("coordinator", password="x")
    Membership.objects.create(
        user=user, organisation=published.definition.study.organisation, role="coordinator"
    )
    client.force_login(user)
    slug = published.definition.study.slug
    url = f"/en/workspace/studies/{slug}/results/"  # where the former indicators page leads
    got, head = client.get(url), client.head(url)
    assert got.status_code == 200
    assert (head.status_code, head.content) == (200, b"")
    former = f"/en/studies/{slug}/indicators/"
    assert (client.head(former).status_code, client.head(former)["Location"]) == (302, url)


def test_other_methods_are_still_refused(client, published):  # noqa: F811
    assert client.post("/en/about/").status_code == 405
    assert client.delete("/api/v1/goals").status_code == 405
