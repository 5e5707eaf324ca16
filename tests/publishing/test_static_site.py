"""The static export: every public page in both languages, and every internal link resolves to a file."""

import re
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import pytest

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.publishing.test_evidence_pages import published  # noqa: F401  (fixture)
from voicescount.indicators.models import EstimateRun
from voicescount.publishing import exports, render_cache
from voicescount.publishing.static_site import language_neutral_key, page_urls, publish, target_path

pytestmark = pytest.mark.django_db
LIVE_ONLY = ("/admin/", "/accounts/", "/api/docs", "/i18n/")  # served by the live site only


def resolve(out, page_url, href):
    url = urljoin(page_url, href)
    path = urlsplit(url).path
    candidate = out / path.lstrip("/")
    return candidate if candidate.is_file() else candidate / "index.html"


def test_publish_writes_a_site_whose_links_all_work(tmp_path, published):  # noqa: F811
    written = publish(tmp_path)
    assert written > 17 * 2 + 251 * 2
    assert (tmp_path / "index.html").is_file()
    for page in ("vi/index.html", "en/goals/1/index.html", "vi/indicators/1.3.1/index.html"):
        assert (tmp_path / page).is_file(), page
    assert (tmp_path / "vi/map/provinces-34.geojson").is_file()
    assert (tmp_path / "api/v1/goals.json").is_file()
    assert (tmp_path / "api/v1/indicators/1.3.1/estimates.json").is_file()
    assert (tmp_path / "static/vendor/vega-embed.min.js").is_file()
    broken = []
    pages = list(tmp_path.rglob("*.html"))
    for html_file in pages:
        page_url = "/" + str(html_file.relative_to(tmp_path)).removesuffix("index.html")
        html = html_file.read_text(encoding="utf-8")
        for href in re.findall(r'(?:href|src|action|hx-get)="([^"#]+)"', html):
            if href.startswith(("http://", "https://", "mailto:")) or any(p in href for p in LIVE_ONLY):
                continue
            if not resolve(tmp_path, page_url, href).is_file():
                broken.append((page_url, href))
    assert not broken, sorted({h for _, h in broken})[:20]


def test_published_csv_has_no_suppressed_numbers(tmp_path, published):  # noqa: F811
    publish(tmp_path)
    csv = next(tmp_path.rglob("download/data.csv")).read_text(encoding="utf-8-sig")
    assert "suppressed" in csv.lower()


def test_target_paths():
    from pathlib import Path

    out = Path("/out")
    assert target_path(out, "/vi/goals/1/") == out / "vi/goals/1/index.html"
    assert target_path(out, "/vi/map/?boundaries=63") == out / "vi/map/boundaries-63/index.html"
    assert target_path(out, "/api/v1/indicators/1.3.1") == out / "api/v1/indicators/1.3.1.json"
    assert target_path(out, "/en/indicators/1.3.1/runs/3/download/sdmx-csv/") == (
        out / "en/indicators/1.3.1/runs/3/download/data.sdmx.csv"
    )


def test_language_neutral_addresses():
    assert language_neutral_key("/vi/indicators/1.3.1/runs/3/download/sdmx-ml/") == (
        "/indicators/1.3.1/runs/3/download/sdmx-ml/"
    )
    assert language_neutral_key("/en/open-data/voicescount-open-data.zip") == (
        "/open-data/voicescount-open-data.zip"
    )
    # The plain CSV carries the study title and flag reasons in the page's language, the Open SDG file
    # its column names and labels.
    assert language_neutral_key("/vi/indicators/1.3.1/runs/3/download/csv/") is None
    assert language_neutral_key("/vi/indicators/1.3.1/runs/3/download/open-sdg/") is None
    assert language_neutral_key("/vi/indicators/1.3.1/") is None


def test_language_neutral_downloads_are_the_same_bytes_in_every_language(client, published):  # noqa: F811
    """The export renders these once and writes them under both languages: check that the live site
    really answers both languages with the same bytes."""
    urls = [u for u in page_urls() if language_neutral_key(u) is not None]
    assert len(urls) == 2 * (2 + 1)  # the two SDMX formats of the one run, the data package; both languages
    for url in urls:
        if not url.startswith("/vi/"):
            continue
        vi = client.get(url).content
        en = client.get("/en/" + url.removeprefix("/vi/")).content
        assert vi == en, url


def test_published_open_sdg_files_are_in_the_page_language(tmp_path, published):  # noqa: F811
    publish(tmp_path)
    (vi,) = (tmp_path / "vi").rglob("download/open-sdg.csv")
    (en,) = (tmp_path / "en").rglob("download/open-sdg.csv")
    assert "Giới tính" in vi.read_text(encoding="utf-8") and "Nữ" in vi.read_text(encoding="utf-8")
    assert "Sex" in en.read_text(encoding="utf-8") and "Female" in en.read_text(encoding="utf-8")


def test_render_cache_shares_reads_only_inside_a_publish(published):  # noqa: F811
    run = EstimateRun.objects.get(pk=published.pk)
    first = render_cache.run_estimates(run)
    assert render_cache.run_estimates(run) is not first  # live site: every call reads the database
    with render_cache.active():
        shared = render_cache.run_estimates(run)
        with render_cache.active():  # nested blocks share the outer cache
            assert render_cache.run_estimates(run) is shared
        assert exports.estimates_sdmx_ml(run) is exports.estimates_sdmx_ml(run)
        assert exports.estimates_csv(run) is exports.estimates_csv(run, language="en")
        assert exports.estimates_csv(run, "vi") is not exports.estimates_csv(run, "en")
    assert not render_cache.is_active()
    assert render_cache.run_estimates(run) is not shared


def test_publish_output_does_not_depend_on_the_render_cache(tmp_path, published, monkeypatch):  # noqa: F811
    """The cache is an optimisation only: a site written with every read going to the database is the same."""
    survey = published.definition.study
    survey.title_vi = "Nghiên cứu"  # the CSV downloads differ by language
    survey.save()
    publish(tmp_path / "cached")
    csv = next((tmp_path / "cached/vi").rglob("data.csv")).read_text(encoding="utf-8-sig")
    assert "Nghiên cứu" in csv

    @contextmanager
    def inactive():
        yield

    monkeypatch.setattr(render_cache, "active", inactive)
    publish(tmp_path / "plain")

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    cached, plain = files(tmp_path / "cached"), files(tmp_path / "plain")
    assert len(cached) > 500
    assert cached.keys() == plain.keys()
    assert [k for k in cached if cached[k] != plain[k]] == []


def test_publish_reads_shared_data_once(tmp_path, published):  # noqa: F811
    """No N+1: the export reads the run's estimates a few times in all (pages, API, comparisons), not once
    for every page, download and language that shows them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    showing = [u for u in page_urls() if f"/runs/{published.pk}/" in u or "/indicators/1.3.1" in u]
    assert len(showing) > 20
    with CaptureQueriesContext(connection) as queries:
        publish(tmp_path)
    read_all = 'SELECT "indicators_estimate"."id"'
    assert 1 <= len([q for q in queries.captured_queries if q["sql"].startswith(read_all)]) <= 6
