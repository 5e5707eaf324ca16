"""The static export: every public page in both languages, and every internal link resolves to a file."""

import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.publishing.test_evidence_pages import published  # noqa: F401  (fixture)
from voicescount.publishing.static_site import publish, target_path

pytestmark = pytest.mark.django_db
LIVE_ONLY = ("/admin/", "/api/docs", "/i18n/")


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
