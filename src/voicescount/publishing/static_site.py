"""``voicescount publish OUT_DIR``: the whole public site as static files, in both languages.

Every public page is rendered by the same views as the live site (through Django's test client, so
nothing differs) and written where a static host finds it: ``/vi/goals/1/`` → ``vi/goals/1/index.html``.
The JSON API responses, the open-data downloads, the province GeoJSON and the static assets are written
beside them; ``index.html`` at the root sends visitors to the default language. Only public data is
rendered: the client is anonymous.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client

from voicescount.framework.models import GLOBAL, Goal, Indicator
from voicescount.indicators.models import EstimateRun
from voicescount.publishing import render_cache, selectors

Progress = Callable[[str, int, int], None]


class PublishError(Exception):
    """The site could not be written (names the page or file)."""


def _public_runs() -> list[EstimateRun]:
    from voicescount.publishing.exports import public_runs

    return public_runs()


def page_urls() -> Iterator[str]:
    """Every public URL of the site (pages, map data, downloads, API)."""
    languages = [code for code, _ in settings.LANGUAGES]
    runs = _public_runs()
    indicators = list(Indicator.objects.filter(framework__code=GLOBAL).order_by("sort_key"))
    for lang in languages:
        yield f"/{lang}/"
        yield f"/{lang}/about/"
        yield f"/{lang}/map/"
        yield f"/{lang}/studies/"
        for slug in selectors.public_studies().values_list("slug", flat=True):
            yield f"/{lang}/studies/{slug}/"
        for version in ("63", "34"):
            yield f"/{lang}/map/?boundaries={version}"
            yield f"/{lang}/map/provinces-{version}.geojson"
        for goal in Goal.objects.order_by("number"):
            yield f"/{lang}/goals/{goal.number}/"
        for indicator in indicators:
            yield f"/{lang}/indicators/{indicator.code}/"
        for run in runs:
            code = run.definition.indicator.code
            estimates = render_cache.run_estimates(run)
            combos = sorted({tuple(sorted(e.dimensions)) for e in estimates if e.dimensions})
            yield f"/{lang}/indicators/{code}/runs/{run.pk}/"
            for combo in combos:
                yield f"/{lang}/indicators/{code}/runs/{run.pk}/?by={','.join(combo)}"
            for fmt in ("csv", "sdmx-csv", "sdmx-ml", "open-sdg"):
                yield f"/{lang}/indicators/{code}/runs/{run.pk}/download/{fmt}/"
        yield f"/{lang}/open-data/voicescount-open-data.zip"
    yield "/api/v1/goals"
    yield "/api/v1/studies"
    for indicator in {run.definition.indicator.code for run in runs}:
        for part in ("", "/definitions", "/estimates?limit=100000", "/comparisons"):
            yield f"/api/v1/indicators/{indicator}{part}"


def target_path(out: Path, url: str) -> Path:
    """Where a URL's response is written so that a static host serves it at (almost) the same address.

    Query strings become part of the path (``?boundaries=63`` → ``boundaries-63/index.html``), since static
    hosts ignore them; pages link to the live-site form, which the export rewrites (see ``_rewrite``).
    """
    path, _, query = url.partition("?")
    parts = [p for p in path.split("/") if p]
    if query and not query.startswith("limit="):
        parts.append(query.replace("=", "-").replace(",", "_").replace("&", "-"))
    last = parts[-1] if parts else ""
    if path.startswith("/api/"):
        return out.joinpath(*parts[:-1], parts[-1] + ".json")
    if "." in last and not query and not path.endswith("/"):
        return out.joinpath(*parts)
    if path.rstrip("/").endswith(("csv", "sdmx-ml", "open-sdg")) and "/download/" in path:
        name = {
            "csv": "data.csv",
            "sdmx-csv": "data.sdmx.csv",
            "sdmx-ml": "data.sdmx.xml",
            "open-sdg": "open-sdg.csv",
        }
        return out.joinpath(*parts[:-1], name[parts[-1]])
    return out.joinpath(*parts, "index.html")


#: Responses that are the same in every language (SDMX files, the data package with both languages'
#: Open SDG files): the export renders them once and writes the bytes under each language's address.
#: The CSV and Open SDG downloads carry text in the page's language, so each language has its own.
_LANGUAGE_NEUTRAL = re.compile(
    r"^/[a-z]{2}(?P<rest>/indicators/[^/]+/runs/\d+/download/(?:sdmx-csv|sdmx-ml)/"
    r"|/open-data/voicescount-open-data\.zip)$"
)


def language_neutral_key(url: str) -> str | None:
    """The address without its language prefix when the response does not depend on the language."""
    match = _LANGUAGE_NEUTRAL.match(url)
    return match.group("rest") if match else None


def _rewrite(html: str) -> str:
    """Make links of the live site work on a static host (query strings and download endpoints)."""

    def by(match: re.Match) -> str:
        return f'{match.group(1)}by-{match.group(2).replace(",", "_")}/"'

    html = re.sub(r'(/runs/\d+/)\?by=([A-Z_,]+)"', by, html)
    # No server to answer the picker: it submits to the list of breakdowns instead of swapping in place.
    html = re.sub(r' hx-(?:get|target|swap|trigger)="[^"]*"', "", html)
    html = re.sub(r'(/map/)\?boundaries=(\d+)"', r'\1boundaries-\2/"', html)
    for fmt, name in (
        ("sdmx-csv", "data.sdmx.csv"),
        ("sdmx-ml", "data.sdmx.xml"),
        ("open-sdg", "open-sdg.csv"),
        ("csv", "data.csv"),
    ):
        html = html.replace(f"/download/{fmt}/", f"/download/{name}")
    return html


def publish(out_dir: str | Path, *, progress: Progress | None = None) -> int:
    """Write the public site to ``out_dir`` (created; existing files are replaced). Returns files written."""
    report = progress or (lambda *_: None)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(f"Cannot create {out}: {exc.strerror}") from None
    with render_cache.active():
        written = _write_pages(out, report)
    written += _copy_static(out / settings.STATIC_URL.strip("/"))
    default = settings.LANGUAGE_CODE
    (out / "index.html").write_text(
        f'<!DOCTYPE html><html lang="{default}"><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url=/{default}/"><title>VoicesCount</title>'
        f'<a href="/{default}/">VoicesCount</a></html>',
        encoding="utf-8",
    )
    return written + 1


def _write_pages(out: Path, report: Progress) -> int:
    """Render every URL of :func:`page_urls` (inside one :func:`render_cache.active` block)."""
    client = Client(HTTP_HOST="localhost")
    urls = list(page_urls())
    neutral: dict[str, bytes] = {}
    made_dirs: set[Path] = set()
    for i, url in enumerate(urls, 1):
        key = language_neutral_key(url)
        if key is not None and key in neutral:
            content = neutral[key]
        else:
            response = client.get(url)
            if response.status_code != 200:
                raise PublishError(f"{url} answered {response.status_code}; the site was not fully written.")
            content = b"".join(response) if response.streaming else response.content
            if key is not None:
                neutral[key] = content
        target = target_path(out, url)
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        if target.suffix == ".html":
            content = _rewrite(content.decode("utf-8")).encode("utf-8")
        target.write_bytes(content)
        if i % 25 == 0 or i == len(urls):
            report("Pages", i, len(urls))
    return len(urls)


#: Chart libraries, loaded after the page is usable (the table beside every chart has the same data).
CHART_LIBRARIES = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
_ASSET = re.compile(r'<(?:script[^>]*\ssrc|link[^>]*rel="stylesheet"[^>]*\shref|img[^>]*\ssrc)="([^"]+)"')
_CHART_DATA = re.compile(r'<script[^>]*type="application/json"[^>]*>.*?</script>', re.DOTALL)


def page_weight(out: Path, html_file: Path) -> dict[str, int]:
    """Bytes a published page needs before its charts: the HTML (without the charts' inline JSON data)
    and the local stylesheets, scripts and images it references, except the chart libraries.

    Returns ``{"html": …, "chart_data": …, "assets": …, "total": …}``; ``total`` is html + assets.
    Raises :class:`PublishError` when a referenced local asset is missing.
    """
    html = html_file.read_bytes()
    text = html.decode("utf-8")
    chart_data = sum(len(m.group(0).encode("utf-8")) for m in _CHART_DATA.finditer(text))
    assets = 0
    for src in sorted(set(_ASSET.findall(_CHART_DATA.sub("", text)))):
        if src.startswith("data:"):
            continue  # inline: already counted in the HTML
        if src.startswith(("http://", "https://", "//")):
            raise PublishError(f"{html_file} loads {src} from another site; the export is self-contained.")
        path = src.split("?")[0].split("#")[0]
        if path.rsplit("/", 1)[-1] in CHART_LIBRARIES:
            continue
        asset = out / path.lstrip("/") if path.startswith("/") else html_file.parent / path
        if not asset.is_file():
            raise PublishError(f"{html_file} references {src}, which was not written.")
        assets += asset.stat().st_size
    body = len(html) - chart_data
    return {"html": body, "chart_data": chart_data, "assets": assets, "total": body + assets}


def _copy_static(target: Path) -> int:
    count = 0
    for finder in finders.get_finders():
        for path, storage in finder.list([]):
            destination = target / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            with storage.open(path) as src, destination.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            count += 1
    return count
