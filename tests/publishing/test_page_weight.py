"""Slow connections: no published page needs more than 500 KB before its charts (issue 6).

"Before charts" is the HTML itself (without the charts' inline JSON data) plus the stylesheets, scripts and
images it loads, except the chart libraries (vega, vega-lite, vega-embed) that draw the charts afterwards;
the data table beside each chart is in the HTML and counts.
"""

import pytest

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.publishing.test_evidence_pages import published  # noqa: F401  (fixture)
from voicescount.publishing.static_site import PublishError, page_weight, publish

pytestmark = pytest.mark.django_db
LIMIT = 500 * 1024


def test_no_published_page_is_over_500_kb_before_charts(tmp_path, published):  # noqa: F811
    publish(tmp_path)
    pages = sorted(tmp_path.rglob("*.html"))
    assert len(pages) > 500
    weights = {str(p.relative_to(tmp_path)): page_weight(tmp_path, p) for p in pages}
    heavy = {page: w for page, w in weights.items() if w["total"] > LIMIT}
    assert not heavy, heavy
    # The measure sees what matters: pages with charts carry their data, every page loads its stylesheet.
    indicator = weights["en/indicators/1.3.1/index.html"]
    assert indicator["chart_data"] > 0 and indicator["html"] > 0
    stylesheet = (tmp_path / "static/publishing/site.css").stat().st_size
    assert all(w["assets"] >= stylesheet for page, w in weights.items() if page != "index.html")


def test_page_weight_counts_assets_but_not_chart_libraries_or_chart_data(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static/site.css").write_bytes(b"x" * 1000)
    (tmp_path / "static/app.js").write_bytes(b"y" * 300)
    (tmp_path / "static/vega.min.js").write_bytes(b"z" * 900_000)
    (tmp_path / "en/goals").mkdir(parents=True)
    page = tmp_path / "en/goals/index.html"
    spec = '<script id="c-spec" type="application/json">{"data": [1, 2, 3]}</script>'
    page.write_text(
        '<link rel="stylesheet" href="/static/site.css"><script src="/static/vega.min.js"></script>'
        f'<script src="/static/app.js"></script><script src="../../static/app.js?v=2"></script>{spec}'
        + "<p>"
        + "a" * LIMIT
        + "</p>",
        encoding="utf-8",
    )
    weight = page_weight(tmp_path, page)
    assert weight["chart_data"] == len(spec)
    assert weight["assets"] == 1000 + 300 + 300  # the chart library not counted
    assert weight["total"] == page.stat().st_size - len(spec) + 1600 > LIMIT
    (tmp_path / "static/app.js").unlink()
    with pytest.raises(PublishError, match="app.js"):
        page_weight(tmp_path, page)
    page.write_text('<script src="https://cdn.example/x.js"></script>', encoding="utf-8")
    with pytest.raises(PublishError, match="another site"):
        page_weight(tmp_path, page)
