"""The results page: a computation (a background job, run here at once by django-tasks' immediate backend)
makes drafts that change neither the public indicator page, the API nor the open data; a coordinator
previews, publishes (they change) and unpublishes (gone); analysts compute but may not publish. The
publication rule is decided in publishing/selectors.py only."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from voicescount.collection.models import AuditEntry
from voicescount.indicators.models import ComputeJob, EstimateRun, IndicatorDefinition
from voicescount.publishing import page_cache

pytestmark = pytest.mark.django_db

CODE = "youth-neet"  # indicator 8.6.1, a public definition of the demo study
INDICATOR = "8.6.1"
DRAFT_VALUE = 0.123456  # written into the draft's total: 12.3% appears nowhere else


@pytest.fixture
def jobs_at_once(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DATA_DIR = tmp_path


def results_url(study, lang="en") -> str:
    return f"/{lang}/workspace/studies/{study.slug}/results/"


def compute_through_the_page(client: Client, study, lang="en", everything=False) -> ComputeJob:
    """Press Compute (with "recompute everything"); ``everything`` False: only ``CODE``, which is quicker."""
    response = client.post(
        f"{results_url(study, lang)}compute/", {"force": "1", "code": [] if everything else [CODE]}
    )
    assert response.status_code == 302
    job = ComputeJob.objects.get()
    assert response["Location"] == f"{results_url(study, lang)}jobs/{job.pk}/"
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'data-status="done"' in page.content.decode()
    return job


def the_draft(study) -> EstimateRun:
    draft = EstimateRun.objects.get(definition__study=study, definition__code=CODE, published__isnull=True)
    draft.estimates.filter(key="_T").update(estimate=DRAFT_VALUE)
    return draft


def runs_on_page(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf"/indicators/{re.escape(INDICATOR)}/runs/(\d+)/", html)}


def what_the_public_sees(study) -> dict:
    """The indicator page, the API's estimates and the open-data package, asked for as a visitor."""
    visitor = Client()
    cache.clear()  # the API keeps answers for minutes (CACHE_SECONDS); the pages follow the stamp
    page = visitor.get(f"/en/indicators/{INDICATOR}/").content.decode()
    api = visitor.get(f"/api/v1/indicators/{INDICATOR}/estimates", {"definition": CODE, "key": "_T"}).json()
    package = visitor.get("/en/open-data/voicescount-open-data.zip")
    with zipfile.ZipFile(io.BytesIO(package.content)) as zf:
        names = zf.namelist()
        folder = next((n.split("/")[0] for n in names if n.endswith(f"_{CODE}/estimates.csv")), None)
        csv = zf.read(f"{folder}/estimates.csv").decode() if folder else None
    return {
        "runs": runs_on_page(page),
        "draft shown": "12.3%" in page,
        "api": [item["estimate"] for item in api["items"]],
        "csv": csv,
    }


def test_drafts_change_nothing_public_until_published_and_unpublish_takes_it_away(
    jobs_at_once, signed_in, demo_study_with_data
):
    study = demo_study_with_data
    before = what_the_public_sees(study)
    public = EstimateRun.objects.get(definition__code=CODE, published__isnull=False)
    assert before["runs"] == {public.pk} and before["api"] and before["csv"] and not before["draft shown"]
    coordinator = signed_in("coordinator")
    started = timezone.now()
    job = compute_through_the_page(coordinator, study, everything=True)
    assert job.runs.count() == IndicatorDefinition.objects.filter(study=study).count()
    assert not job.runs.filter(published__isnull=False).exists()
    draft = the_draft(study)
    assert what_the_public_sees(study) == before  # computed: nothing public changed
    assert Client().get(f"/en/indicators/{INDICATOR}/runs/{draft.pk}/download/csv/").status_code == 404
    page = coordinator.get(results_url(study)).content.decode()
    assert f'action="{results_url(study)}runs/{draft.pk}/publish/"' in page
    assert f'href="{results_url(study)}runs/{draft.pk}/preview/"' in page

    stamp = page_cache.current_stamp()
    published = coordinator.post(f"{results_url(study)}runs/{draft.pk}/publish/", follow=True)
    assert published.status_code == 200 and f"Published: {CODE}." in published.content.decode()
    assert page_cache.current_stamp() != stamp
    draft.refresh_from_db()
    assert draft.published is not None and draft.published_by.username == "coordinator"
    after = what_the_public_sees(study)
    assert after["runs"] == {draft.pk} and after["draft shown"]
    assert (
        after["api"] == [round(DRAFT_VALUE * 100, 10)]
        and after["csv"] != before["csv"]
        and "12.3456" in after["csv"]
    )
    assert Client().get(f"/en/indicators/{INDICATOR}/runs/{draft.pk}/download/csv/").status_code == 200
    # the run published before stays reachable by its number (a citation), but is no longer listed
    assert Client().get(f"/en/indicators/{INDICATOR}/runs/{public.pk}/download/csv/").status_code == 200

    gone = coordinator.post(f"{results_url(study)}{CODE}/unpublish/", follow=True)
    assert gone.status_code == 200 and f"Unpublished: {CODE}." in gone.content.decode()
    unpublished = what_the_public_sees(study)
    assert unpublished == {"runs": set(), "draft shown": False, "api": [], "csv": None}
    assert Client().get(f"/en/indicators/{INDICATOR}/runs/{draft.pk}/download/csv/").status_code == 404
    entries = AuditEntry.objects.filter(
        action__in=["compute_queued", "run_published", "run_unpublished"], at__gte=started
    )
    assert [(e.action, e.actor.username, e.organisation) for e in entries.order_by("at", "pk")] == [
        ("compute_queued", "coordinator", study.organisation),
        ("run_published", "coordinator", study.organisation),
        ("run_unpublished", "coordinator", study.organisation),
    ]
    # publishing again brings it back
    coordinator.post(f"{results_url(study)}runs/{draft.pk}/publish/")
    assert what_the_public_sees(study) == after


def test_an_analyst_computes_but_may_not_publish(jobs_at_once, signed_in, demo_study_with_data):
    study = demo_study_with_data
    analyst = signed_in("analyst")
    compute_through_the_page(analyst, study)
    draft = the_draft(study)
    page = analyst.get(results_url(study)).content.decode()
    assert f"runs/{draft.pk}/preview/" in page and "/publish/" not in page and "/unpublish/" not in page
    assert analyst.post(f"{results_url(study)}runs/{draft.pk}/publish/").status_code == 403
    assert analyst.post(f"{results_url(study)}{CODE}/unpublish/").status_code == 403
    draft.refresh_from_db()
    assert draft.published is None and IndicatorDefinition.objects.get(study=study, code=CODE).is_public
    assert not AuditEntry.objects.filter(action__startswith="run_", actor__isnull=False).exists()


def test_who_reaches_the_results_pages(jobs_at_once, signed_in, demo_study_with_data, client):
    study = demo_study_with_data
    run = EstimateRun.objects.filter(definition__study=study).first()
    urls = [results_url(study), f"{results_url(study)}runs/{run.pk}/preview/"]
    for url in urls:
        assert client.get(url).status_code == 302  # to the sign-in page
    reviewer = signed_in("nso-reviewer")
    assert all(reviewer.get(url).status_code == 200 for url in urls)  # may view, not compute
    assert reviewer.post(f"{results_url(study)}compute/").status_code == 403
    assert "results/compute/" not in reviewer.get(results_url(study)).content.decode()
    assert not ComputeJob.objects.exists()
    other = Client()
    from tests.workspace.conftest import sign_in

    sign_in(other, "youth-coordinator")
    assert all(other.get(url).status_code == 404 for url in urls)  # another organisation's study
    assert other.post(f"{results_url(study)}runs/{run.pk}/publish/").status_code == 404


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_the_preview_shows_the_draft_with_a_banner_and_is_never_indexed(
    jobs_at_once, signed_in, demo_study_with_data, lang
):
    study = demo_study_with_data
    coordinator = signed_in("coordinator", lang)
    compute_through_the_page(coordinator, study, lang)
    draft = the_draft(study)
    response = coordinator.get(f"{results_url(study, lang)}runs/{draft.pk}/preview/")
    html = response.content.decode()
    assert response.status_code == 200 and response["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in html
    banner = {"en": "Preview — not public", "vi": "Xem trước — chưa công khai"}[lang]
    assert f"<strong>{banner}</strong>" in html
    value = {"en": "12.3%", "vi": "12,3%"}[lang]
    assert value in html and draft.pk in runs_on_page(html) | {draft.pk}
    assert "Downloads: once the run is published." in html or lang == "vi"
    assert f'action="{results_url(study, lang)}runs/{draft.pk}/publish/"' in html
    # the picker asks the preview for other breakdowns of the draft (the public address would be a 404)
    picker = re.search(rf'hx-get="([^"]+)" hx-target="#breakdown-{draft.pk}"', html).group(1)
    assert picker == f"{results_url(study, lang)}runs/{draft.pk}/preview/"
    fragment = coordinator.get(picker, {"by": "SEX"}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and f'id="breakdown-{draft.pk}"' in fragment.content.decode()
    assert coordinator.get(picker, {"by": "NOPE"}).status_code == 404
    assert value not in Client().get(f"/{lang}/indicators/{INDICATOR}/").content.decode()


def test_the_job_page_polls_while_the_job_waits(settings, tmp_path, signed_in, demo_study_with_data):
    settings.DATA_DIR = tmp_path  # the database backend: the job waits for a worker
    study = demo_study_with_data
    coordinator = signed_in("coordinator")
    location = coordinator.post(f"{results_url(study)}compute/")["Location"]
    page = coordinator.get(location).content.decode()
    assert 'data-status="queued"' in page and f'hx-get="{location}"' in page and "htmx.min.js" in page
    fragment = coordinator.get(location, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="compute-job"') and 'hx-trigger="every 1s"' in fragment
    # a second click while it waits shows the same job
    assert coordinator.post(f"{results_url(study)}compute/")["Location"] == location


def test_the_former_indicators_page_leads_to_the_results(jobs_at_once, signed_in, demo_study_with_data):
    study = demo_study_with_data
    coordinator = signed_in("coordinator")
    old = f"/en/studies/{study.slug}/indicators/"
    assert coordinator.get(old)["Location"] == results_url(study)
    before = what_the_public_sees(study)
    job_page = coordinator.post(old, {"force": "1"})
    job = ComputeJob.objects.get()
    assert job_page["Location"] == f"{results_url(study)}jobs/{job.pk}/" and job.status == "done"
    the_draft(study)
    assert what_the_public_sees(study) == before  # no longer published at once


def test_the_selectors_are_the_only_place_deciding_what_is_public():
    """No module of the public site picks a definition's run or restates what is public itself."""
    root = Path(__file__).resolve().parents[2] / "src" / "voicescount"
    rule = re.compile(
        r"runs\.order_by\(|is_public=True|definition__is_public|study__is_public|published__isnull|latest_run\("
    )
    found = []
    for path in sorted([*(root / "publishing").rglob("*.py"), root / "api.py"]):
        if path.name == "selectors.py" or "migrations" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if rule.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert found == []
