"""The public indicator page says which confidence interval a proportion was published with: the
definition's interval method (issue 13, item 3), whose interval is the one stored."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils.html import escape

from voicescount.collection.models import Study
from voicescount.indicators.compute import compute_definition
from voicescount.indicators.models import Estimate, IndicatorDefinition
from voicescount.indicators.publication import publish
from voicescount.stats.intervals import arcsine

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def demo() -> Study:
    from voicescount.accounts.demo import create_demo_accounts
    from voicescount.demo.load import load_demo_study

    create_demo_accounts()
    load_demo_study(respondents=600)
    return Study.objects.get(slug="vn-cgd-2022")


def test_the_indicator_page_names_the_interval_method_of_the_published_run(client, demo):
    page = "/{}/indicators/1.2.2/"
    logit = client.get(page.format("en")).content.decode()
    # the label is escaped, the sentence around it is the template's
    label = escape("Logit (R's default)")
    assert f"{label} method, as R's svyciprop computes it" in logit
    definition = IndicatorDefinition.objects.get(study=demo, code="poor-household-list")
    definition.interval_method = "asin"
    definition.save()
    run = compute_definition(definition)  # the method is one of the run's inputs: a new run
    assert run is not None
    publish(run, None, check_permission=False)
    total = Estimate.objects.get(run=run, key="_T")
    low, high = arcsine(total.estimate, total.se, total.df)
    assert (total.ci_low, total.ci_high) == pytest.approx((float(low), float(high)), rel=1e-12)
    assert np.isfinite([total.ci_low, total.ci_high]).all()
    en = client.get(page.format("en")).content.decode()
    assert 'data-method="asin"' in en
    assert "Arcsine square root method, as R's svyciprop computes it; a group where every" in en
    vi = client.get(page.format("vi")).content.decode()
    assert 'data-method="asin"' in vi and "như hàm svyciprop của R" in vi
