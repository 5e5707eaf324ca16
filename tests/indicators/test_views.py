"""The coordinators' indicators page: computes a study's definitions from the browser, reports errors."""
# ruff: noqa: F811  (pytest fixtures imported from test_compute)

import pytest
from django.urls import reverse

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from voicescount.accounts.models import Membership, Role
from voicescount.indicators.models import IndicatorDefinition

pytestmark = pytest.mark.django_db


def member(django_user_model, study, role, name):
    user = django_user_model.objects.create_user(name, password="pw")
    Membership.objects.create(user=user, organisation=study.organisation, role=role)
    return user


def test_a_coordinator_computes_what_changed_and_sees_errors(
    client, django_user_model, definition, study, settings, tmp_path
):
    """The former page leads to the results page; its form queues a computation (run here at once) whose
    job page names the definitions that could not be computed; the runs are drafts."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DATA_DIR = tmp_path
    IndicatorDefinition.objects.create(
        study=study,
        indicator=definition.indicator,
        code="broken",
        title_en="Broken",
        universe="income > 0",
        numerator="covered == 'yes'",
    )
    client.force_login(member(django_user_model, study, Role.COORDINATOR, "coord"))
    url = f"/en/studies/{study.slug}/indicators/"
    assert url == reverse("indicators:study-indicators", kwargs={"slug": study.slug}).replace("/vi/", "/en/")
    page = client.get(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert page.redirect_chain == [(f"/en/workspace/studies/{study.slug}/results/", 302)]
    assert "Not computed yet." in page.content.decode()
    response = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200 and "Some definitions could not be computed:" in html
    assert "1 new draft run: the public site does not show it until it is published." in html
    assert "no submission of the study has a question &#x27;income&#x27;" in html
    assert definition.runs.count() == 1 and not IndicatorDefinition.objects.get(code="broken").runs.exists()
    assert definition.runs.get().published is None
    again = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Nothing changed since the last computation: no new run." in again
    forced = client.post(url, {"force": "1"}, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 new draft run" in forced and definition.runs.count() == 2


def test_only_members_who_may_compute_reach_the_page(client, django_user_model, definition, study):
    url = f"/en/studies/{study.slug}/indicators/"
    assert url == reverse("indicators:study-indicators", kwargs={"slug": study.slug}).replace("/vi/", "/en/")
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(member(django_user_model, study, Role.NSO_REVIEWER, "nso"))
    assert client.post(url).status_code == 403
    assert not definition.runs.exists()
