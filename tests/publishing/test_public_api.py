"""The public JSON API: public data only, suppressed cells without numbers, paginated, documented."""

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.publishing.test_evidence_pages import published  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_goals_and_indicators(client):
    goals = client.get("/api/v1/goals").json()
    assert len(goals) == 17 and goals[0]["number"] == 1 and goals[0]["target_count"] == 7
    page = client.get("/api/v1/indicators?goal=1&limit=5").json()
    assert page["count"] == 13 and len(page["items"]) == 5 and page["items"][0]["code"] == "1.1.1"
    assert client.get("/api/v1/indicators/1.3.1").json()["unsd_codes"] == "C010301"
    assert client.get("/api/v1/indicators/99.9.9").status_code == 404


def test_estimates_and_comparisons(client, published):  # noqa: F811
    items = client.get("/api/v1/indicators/1.3.1/estimates?limit=1000").json()["items"]
    total = next(i for i in items if i["key"] == "_T")
    assert total["unit"] == "PT"  # in percent, as in the files
    assert 1 < total["estimate"] < 100 and total["ci_low"] < total["estimate"] < total["ci_high"]
    assert total["n"] > 0 and total["se"] > 0
    suppressed = [i for i in items if i["flag"].startswith("suppressed")]
    assert suppressed and all(i["estimate"] is None and i["se"] is None for i in suppressed)
    assert all(i["n"] is None and i["weighted_n"] is None for i in suppressed)  # not even their counts
    assert all(i["n"] > 0 and i["weighted_n"] > 0 for i in items if not i["flag"].startswith("suppressed"))
    assert all(i["flag_reason"] for i in suppressed)
    by_sex = client.get("/api/v1/indicators/1.3.1/estimates?by=SEX").json()["items"]
    assert {i["key"] for i in by_sex} == {"SEX=F", "SEX=M"}
    (comparison,) = client.get("/api/v1/indicators/1.3.1/comparisons").json()
    assert comparison["direction"] == "lower" and comparison["official_illustrative"] is True
    studies = client.get("/api/v1/studies").json()["items"]
    assert [s["slug"] for s in studies] == ["s"]


def test_private_definitions_are_not_served(client, published, definition):  # noqa: F811
    definition.is_public = False
    definition.save()
    assert client.get("/api/v1/indicators/1.3.1/estimates").json()["items"] == []


def test_openapi_docs(client):
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/indicators/{code}/estimates" in schema["paths"]


def test_the_documentation_page_uses_only_assets_served_here(client):
    """/api/docs loaded Swagger UI from a CDN (blank offline); every asset it names is served by the site."""
    page = client.get("/api/docs").content.decode()
    parser = _AssetLinks()
    parser.feed(page)
    assert parser.external == []
    assert {"/static/vendor/swagger-ui-bundle.js", "/static/vendor/swagger-ui.css"} <= set(parser.local)
    for url in parser.local:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content if response.streaming else [response.content])
    settings = json.loads(
        page.split('id="swagger-settings" type="application/json">')[1].split("</script>")[0]
    )
    assert settings["url"] == "/api/openapi.json" and settings["validatorUrl"] is None


class _AssetLinks(HTMLParser):
    """The scripts and stylesheets a page loads: served here (a path) or from another host (a URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.local: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        url = dict(attrs).get("src" if tag == "script" else "href" if tag == "link" else "")
        if not url or url.startswith("data:"):
            return
        (self.external if urlsplit(url).netloc else self.local).append(url)


def test_the_description_documents_every_error_an_operation_answers(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    statuses = {
        path: set(operations["get"]["responses"]) for path, operations in paths.items() if "get" in operations
    }
    assert statuses == {
        "/api/v1/goals": {"200"},
        "/api/v1/indicators": {"200", "422"},
        "/api/v1/indicators/{code}": {"200", "404"},
        "/api/v1/indicators/{code}/definitions": {"200", "404"},
        "/api/v1/indicators/{code}/estimates": {"200", "404", "422"},
        "/api/v1/indicators/{code}/comparisons": {"200", "404"},
        "/api/v1/studies": {"200", "422"},
    }
    estimates = paths["/api/v1/indicators/{code}/estimates"]["get"]["responses"]
    assert estimates["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    invalid = estimates["422"]["content"]["application/json"]["schema"]
    assert invalid == {"$ref": "#/components/schemas/ValidationErrors"}


def test_errors_are_answered_as_documented(client):
    unknown = client.get("/api/v1/indicators/99.9.9/estimates")
    assert unknown.status_code == 404 and unknown["Content-Type"] == "application/json; charset=utf-8"
    assert unknown.json() == {"detail": "No indicator has the code 99.9.9."}
    invalid = client.get("/api/v1/indicators?limit=0&goal=one")
    assert invalid.status_code == 422
    assert {tuple(issue["loc"]): issue["type"] for issue in invalid.json()["detail"]} == {
        ("query", "goal"): "int_parsing",
        ("query", "limit"): "greater_than_equal",
    }


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/indicators/1.3.1%00",
        "/api/v1/indicators/%00/definitions",
        "/api/v1/indicators/%00/comparisons",
        "/api/v1/indicators/1.3.1%00/estimates",
    ],
)
def test_a_code_with_a_nul_character_names_nothing(client, url):
    """PostgreSQL refuses text with NUL characters: such a code was a 500 instead of a 404."""
    response = client.get(url)
    assert response.status_code == 404 and "No indicator has the code" in response.json()["detail"]


def test_a_definition_with_a_nul_character_names_nothing(client, published):  # noqa: F811
    for operation in ("estimates", "comparisons"):
        response = client.get(f"/api/v1/indicators/1.3.1/{operation}", {"definition": "sp\x00"})
        assert response.status_code == 200, response.content
        items = response.json()
        assert (items["items"] if operation == "estimates" else items) == []


@pytest.mark.parametrize("url", ["/api/v1/nothing", "/api/v1/indicators/a%2Fb/definitions", "/api/v2/goals"])
def test_an_unknown_api_path_is_a_json_404(client, url):
    """Not the site's HTML page: an API client reads the reason as from any other error."""
    response = client.get(url)
    assert response.status_code == 404 and response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["detail"].startswith("No API operation at /api/")


def test_estimates_queries_and_the_latest_run(
    client,
    published,  # noqa: F811
    definition,  # noqa: F811
    django_assert_num_queries,
):
    from django.core.cache import cache

    from voicescount.indicators import compute
    from voicescount.indicators.publication import publish
    from voicescount.publishing.api import run_rows

    run_rows.clear()
    url = "/api/v1/indicators/1.3.1/estimates?by=SEX&limit=100"
    # the latest public runs, their studies' areas, the estimates and the places' codes (then kept)
    with django_assert_num_queries(4):
        first = client.get(url).json()["items"]
    assert {i["key"] for i in first} == {"SEX=F", "SEX=M"}
    with django_assert_num_queries(0):  # another query string of the same indicator: nothing to read
        by_age = client.get("/api/v1/indicators/1.3.1/estimates?by=AGE").json()["items"]
    assert by_age and all(list(i["dimensions"]) == ["AGE"] for i in by_age)
    newer = compute.compute_definition(definition, force=True)
    newer.estimates.filter(key="SEX=F").update(estimate=0.5)
    cache.clear()  # as after LATEST_SECONDS (and CACHE_SECONDS for the URLs already asked)
    items = client.get(url).json()["items"]
    assert items == first  # the new run is a draft
    publish(newer, None, check_permission=False)
    cache.clear()
    items = client.get(url).json()["items"]
    assert next(i["estimate"] for i in items if i["key"] == "SEX=F") == 50.0  # 0.5 stored: 50 %


def test_estimates_flag_reasons_and_unknown_codes(client, published):  # noqa: F811
    from voicescount.indicators.models import Estimate

    items = client.get("/api/v1/indicators/1.3.1/estimates?limit=1000").json()["items"]
    reasons = {i["flag"]: i["flag_reason"] for i in items}
    assert len(reasons) > 2
    assert reasons == {flag: str(Estimate.Flag(flag).label) if flag else "" for flag in reasons}
    assert client.get("/api/v1/indicators/9.9.9/estimates").status_code == 404
    assert client.get("/api/v1/indicators/2.1.1/estimates").json()["items"] == []


@pytest.mark.filterwarnings("error::django.core.cache.backends.base.CacheKeyWarning")
def test_any_query_value_makes_a_valid_cache_key(client, published):  # noqa: F811
    odd = client.get("/api/v1/indicators/1.3.1/estimates", {"definition": "a b\tc" + "x" * 300})
    assert odd.status_code == 200 and odd.json()["items"] == []


def test_the_api_and_the_files_publish_a_proportion_on_one_scale(client, published):  # noqa: F811
    """A proportion is a percentage in the API as in the CSV (and SDMX, Open SDG), and the schema says so."""
    import csv
    import io

    from voicescount.indicators.models import EstimateRun
    from voicescount.publishing import exports

    items = client.get("/api/v1/indicators/1.3.1/estimates?limit=1000").json()["items"]
    total = next(i for i in items if i["key"] == "_T")
    run = EstimateRun.objects.filter(definition__indicator__code="1.3.1", published__isnull=False).latest(
        "started"
    )
    stored = run.estimates.get(key="_T")
    assert total["estimate"] == round(stored.estimate * 100, 10) and total["se"] == round(stored.se * 100, 10)
    rows = list(csv.DictReader(io.StringIO(exports.estimates_csv(run).decode("utf-8-sig"))))
    csv_total = next(r for r in rows if all(r[k] in ("_T", "") for k in ("sex", "age") if k in r))
    assert abs(float(csv_total["estimate"]) - total["estimate"]) < 1e-6
    schema = client.get("/api/openapi.json").json()["components"]["schemas"]["EstimateOut"]["properties"]
    assert "percent, 0 to 100" in schema["estimate"]["description"]
