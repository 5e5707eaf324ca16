"""Indicator pages with community evidence: headline with CI and n, disaggregation picker, suppressed cells
shown with their reason and never their number, comparison verdicts, furthest-behind groups."""

import pytest

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from voicescount.indicators import compute
from voicescount.indicators.models import OfficialObservation
from voicescount.indicators.publication import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(definition, study):  # noqa: F811
    study.is_public = True
    study.save()
    definition.is_public = True
    definition.title_vi = "Tỷ lệ được bảo trợ xã hội"
    definition.save()
    run = publish(compute.compute_definition(definition), None, check_permission=False)
    total = run.estimates.get(key="_T")
    OfficialObservation.objects.create(
        indicator=definition.indicator,
        area_code="VN",
        unit="PT",
        source="test",
        period="2022",
        key="_T",
        value=total.estimate * 100 + 15,
        se=0.5,
        illustrative=True,
    )
    return run


def test_indicator_page_shows_estimate_with_uncertainty_and_verdict(client, published):
    page = client.get("/en/indicators/1.3.1/").content.decode()
    total = published.estimates.get(key="_T")
    assert f"{total.estimate * 100:.1f}%" in page
    assert "95% confidence interval" in page and f"{total.n} respondents" in page
    assert "points lower than the official figure" in page and "Illustrative official figure" in page
    assert "Who is furthest behind" in page
    assert "vendor/vega-embed.min.js" in page and "vendor/htmx.min.js" in page
    vi = client.get("/vi/indicators/1.3.1/").content.decode()
    assert "Tỷ lệ được bảo trợ xã hội" in vi and "thấp hơn" in vi


def test_breakdown_picker_and_suppressed_cells(client, published):
    url = f"/en/indicators/1.3.1/runs/{published.pk}/?by=AGE,DISABILITY_STATUS,SEX"
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html  # an htmx fragment, not a page
    suppressed = [e for e in published.estimates.all() if e.suppressed and len(e.dimensions) == 3]
    assert suppressed
    assert "suppressed" in html and "Suppressed: too few respondents to publish safely" in html
    # A full page without htmx (works with JavaScript off).
    assert "<html" in client.get(url).content.decode()


def test_unknown_breakdown_is_a_400_and_private_runs_are_404(client, published, definition):  # noqa: F811
    assert client.get(f"/en/indicators/1.3.1/runs/{published.pk}/?by=NOPE").status_code == 400
    definition.is_public = False
    definition.save()
    assert client.get(f"/en/indicators/1.3.1/runs/{published.pk}/?by=SEX").status_code == 404
    assert "Community evidence" in client.get("/en/indicators/1.3.1/").content.decode()
    assert "points lower" not in client.get("/en/indicators/1.3.1/").content.decode()


@pytest.mark.parametrize("fmt", ["csv", "sdmx-csv", "sdmx-ml", "open-sdg"])
def test_downloads(client, published, fmt):
    page = client.get("/en/indicators/1.3.1/").content.decode()
    url = f"/en/indicators/1.3.1/runs/{published.pk}/download/{fmt}/"
    assert url in page
    response = client.get(url)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert len(response.content) > 100


def test_csv_download_has_flags_and_no_suppressed_numbers(client, published):
    text = client.get(f"/en/indicators/1.3.1/runs/{published.pk}/download/csv/").content.decode("utf-8-sig")
    assert "suppressed" in text.lower() and "ci_low" in text
    total = published.estimates.get(key="_T")
    assert f"{total.estimate * 100:.4f}"[:5] in text
    assert client.get("/en/open-data/voicescount-open-data.zip")["Content-Type"] == "application/zip"


def test_home_shows_community_counts_left_behind_and_studies(client, published):
    page = client.get("/en/").content.decode()
    assert "1 with community data" in page
    assert "Who is left behind" in page and "Latest community studies" in page
    vi = client.get("/vi/").content.decode()
    assert published.lnob["furthest_behind"]["description_vi"] in vi


def test_indicator_page_has_a_province_map(client, published):
    page = client.get("/en/indicators/1.3.1/").content.decode()
    assert f'id="map-{published.pk}"' in page and f'id="map-{published.pk}-spec"' in page
    assert "provinces-34.geojson" in page


def test_goal_page_marks_indicators_with_community_and_official_data(client, published):
    page = client.get("/en/goals/1/").content.decode()
    assert "community and official data" in page  # 1.3.1 has both in the fixture
