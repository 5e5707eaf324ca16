"""The public JSON API: public data only, suppressed cells without numbers, paginated, documented."""

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
    assert 0 < total["estimate"] < 1 and total["ci_low"] < total["estimate"] < total["ci_high"]
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


def test_estimates_queries_and_the_latest_run(
    client,
    published,  # noqa: F811
    definition,  # noqa: F811
    django_assert_num_queries,
):
    from django.core.cache import cache

    from voicescount.indicators import compute
    from voicescount.publishing.api import run_rows

    run_rows.clear()
    url = "/api/v1/indicators/1.3.1/estimates?by=SEX&limit=100"
    with django_assert_num_queries(2):  # the latest public runs; the run's estimates (then kept)
        first = client.get(url).json()["items"]
    assert {i["key"] for i in first} == {"SEX=F", "SEX=M"}
    with django_assert_num_queries(0):  # another query string of the same indicator: nothing to read
        by_age = client.get("/api/v1/indicators/1.3.1/estimates?by=AGE").json()["items"]
    assert by_age and all(list(i["dimensions"]) == ["AGE"] for i in by_age)
    newer = compute.compute_definition(definition, force=True)
    newer.estimates.filter(key="SEX=F").update(estimate=0.5)
    cache.clear()  # as after LATEST_SECONDS (and CACHE_SECONDS for the URLs already asked)
    items = client.get(url).json()["items"]
    assert next(i["estimate"] for i in items if i["key"] == "SEX=F") == 0.5


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
