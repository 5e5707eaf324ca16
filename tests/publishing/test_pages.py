"""Public pages in both languages, the language fallback, helpful errors and the map data."""

import json

import pytest
from django.contrib.auth import get_user_model

from voicescount.accounts.models import Coalition, Membership, Organisation, Role
from voicescount.config import DisclosureConfig
from voicescount.framework.models import Framework, Indicator

pytestmark = pytest.mark.django_db


def test_root_redirects_to_vietnamese_by_default(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/vi/"


def test_home_lists_17_goals_in_both_languages(client):
    vi = client.get("/vi/")
    en = client.get("/en/")
    assert vi.status_code == en.status_code == 200
    assert vi.content.decode().count('class="goal-tile"') == 17
    assert "Xóa nghèo" in vi.content.decode() or "nghèo" in vi.content.decode()
    assert "No poverty" in en.content.decode() or "poverty" in en.content.decode().lower()
    assert '<html lang="vi">' in vi.content.decode()
    assert 'hreflang="en"' in vi.content.decode()


def test_goal_page_shows_targets_and_indicators(client):
    page = client.get("/en/goals/1/").content.decode()
    assert "1.1" in page and "1.1.1" in page and "1.a" in page
    assert 'href="/en/indicators/1.1.1/"' in page


def test_indicator_page(client):
    response = client.get("/vi/indicators/1.1.1/")
    assert response.status_code == 200
    assert "1.1.1" in response.content.decode()


def test_unknown_goal_and_indicator_are_helpful_404s_in_the_users_language(client):
    en = client.get("/en/goals/18/")
    assert en.status_code == 404
    assert "numbered 1 to 17" in en.content.decode()
    vi = client.get("/vi/indicators/99.9.9/")
    assert vi.status_code == 404
    assert "Không có chỉ tiêu nào mang mã 99.9.9" in vi.content.decode()
    assert client.get("/en/no-such-page/").status_code == 404


def test_unknown_language_code_falls_back_to_default(client):
    assert client.get("/fr/goals/1/")["Location"] == "/vi/goals/1/"
    assert client.get("/en-gb/goals/1/")["Location"] == "/en/goals/1/"
    # An unsupported Accept-Language header or cookie is ignored: the default language is used.
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert response["Location"] == "/vi/"


def test_english_accept_language_is_honoured(client):
    assert client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")["Location"] == "/en/"


@pytest.mark.parametrize(
    ("query", "count"),
    [("?boundaries=63", 63), ("?boundaries=34", 34), ("?date=2024-05-01", 63), ("?date=2025-07-01", 34)],
)
def test_map_page_shows_the_provinces_valid_at_the_date(client, query, count):
    response = client.get("/en/map/" + query)
    assert response.status_code == 200
    assert response.context["provinces"].count() == count
    assert "vendor/vega-embed.min.js" in response.content.decode()
    assert "cdn" not in response.content.decode().lower()


@pytest.mark.parametrize("query", ["?date=yesterday", "?boundaries=40"])
def test_map_bad_query_is_a_400_with_reason(client, query):
    response = client.get("/en/map/" + query)
    assert response.status_code == 400
    assert "must" in response.content.decode()


@pytest.mark.parametrize(("version", "provinces"), [("63", 63), ("34", 34)])
def test_province_geojson(client, version, provinces):
    response = client.get(f"/vi/map/provinces-{version}.geojson")
    assert response.status_code == 200
    data = json.loads(response.content)
    kinds = [f["properties"].get("kind") for f in data["features"]]
    assert kinds.count("province") == provinces
    archipelagos = [f for f in data["features"] if f["properties"].get("kind") == "archipelago"]
    names = " ".join(f["properties"]["name"] for f in archipelagos)
    assert "Hoàng Sa" in names and "Trường Sa" in names
    assert all("label_lon" in f["properties"] for f in archipelagos)


def test_security_headers(client):
    response = client.get("/en/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_non_public_complementary_indicator_only_visible_to_its_organisation(client):
    """A user of organisation A cannot see organisation B's non-public records."""
    coalition = Coalition.objects.create(slug="c", name="C", country_code="VN")
    org_a = Organisation.objects.create(slug="org-a", name="Org A", coalition=coalition)
    org_b = Organisation.objects.create(slug="org-b", name="Org B", coalition=coalition)
    framework = Framework.objects.create(
        code="b-complementary", kind="complementary", name_en="B's indicators", organisation=org_b
    )
    global_indicator = Indicator.objects.get(framework__code="global", code="1.3.1")
    Indicator.objects.create(
        framework=framework,
        code="1.3.1.b",
        title_en="Secret draft indicator of B",
        linked_global=global_indicator,
        organisation=org_b,
        is_public=False,
    )
    users = get_user_model().objects
    user_a = users.create_user("a", password="x")
    Membership.objects.create(user=user_a, organisation=org_a, role=Role.COORDINATOR)
    user_b = users.create_user("b", password="x")
    Membership.objects.create(user=user_b, organisation=org_b, role=Role.ANALYST)

    url = "/en/indicators/1.3.1/"
    assert "Secret draft" not in client.get(url).content.decode()
    client.force_login(user_a)
    assert "Secret draft" not in client.get(url).content.decode()
    client.force_login(user_b)
    assert "Secret draft" in client.get(url).content.decode()


def test_about_page_explains_the_methods_in_both_languages(client, settings):
    settings.VOICESCOUNT_DISCLOSURE = DisclosureConfig(min_cell_size=10, suppress_below=30, caution_below=60)
    en = client.get("/en/about/").content.decode()
    for text in ("Taylor linearisation", "logit scale", "Wilson", "Holm", "D-index", "CC BY 4.0"):
        assert text in en
    # The thresholds in force are stated, not a fixed text.
    assert "fewer than 30 respondents is not published" in en and "30 to 59 respondents" in en
    assert 'href="/en/open-data/voicescount-open-data.zip"' in en and 'href="/en/studies/"' in en
    vi = client.get("/vi/about/").content.decode()
    assert "tuyến tính hóa Taylor" in vi and "phương pháp Holm" in vi and "ít hơn 30 người trả lời" in vi
