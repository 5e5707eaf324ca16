"""The workspace's home and a study's hub, reached from the header after signing in through the site."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_coordinator_finds_the_study_from_the_header(signed_in, demo_study, lang):
    client = signed_in("coordinator", lang)
    home = client.get(f"/{lang}/about/").content.decode()
    assert f'href="/{lang}/workspace/"' in home
    page = client.get(f"/{lang}/workspace/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/{lang}/workspace/studies/{demo_study.slug}/"' in html
    hub = client.get(f"/{lang}/workspace/studies/{demo_study.slug}/")
    assert hub.status_code == 200
    with translation.override(lang):
        assert (demo_study.title_vi if lang == "vi" else demo_study.title_en) in hub.content.decode()


def test_the_workspace_asks_to_sign_in(client: Client):
    response = client.get("/en/workspace/")
    assert response.status_code == 302 and response["Location"].startswith("/en/accounts/sign-in/")


def test_another_organisations_study_is_not_found(signed_in, demo_study):
    # The youth network's coordinator holds no role in the demo study's organisation.
    client = signed_in("youth-coordinator")
    assert client.get(f"/en/workspace/studies/{demo_study.slug}/").status_code == 404
    assert f"/en/workspace/studies/{demo_study.slug}/" not in client.get("/en/workspace/").content.decode()


def test_an_enumerator_sees_the_study_but_not_the_data(signed_in, demo_study):
    client = signed_in("enumerator")
    html = client.get(f"/en/workspace/studies/{demo_study.slug}/").content.decode()
    assert "Accepted submissions" not in html
    assert f"/en/studies/{demo_study.slug}/import/" not in html
