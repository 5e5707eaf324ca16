"""Public study pages: methodology, coverage, sample, consent and the indicators computed, in both languages;
private studies are a helpful 404; the pages list the same studies as the JSON API."""

import json

import pytest

from tests.indicators.test_compute import N, definition, study  # noqa: F401  (fixtures)
from voicescount.collection.models import Study, Submission
from voicescount.geography.models import Area
from voicescount.indicators import compute
from voicescount.indicators.publication import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def public_study(study):  # noqa: F811
    study.is_public = True
    study.title_vi = "Khảo sát thử nghiệm"
    study.summary_en = "A test survey of social protection."
    study.sampling_description_en = "Two-stage sample of communes."
    study.sampling_description_vi = "Mẫu hai giai đoạn các xã."
    study.consent_notes_en = "Oral consent recorded by the interviewer."
    study.consent_notes_vi = "Đồng ý bằng lời, điều tra viên ghi nhận."
    study.partners = "Partner Network Alpha"
    study.target_groups = ["PWD", "CHILD"]
    study.planned_sample_size = 1000
    study.save()
    return study


@pytest.fixture
def computed(public_study, definition):  # noqa: F811
    definition.is_public = True
    definition.title_vi = "Tỷ lệ được bảo trợ xã hội"
    definition.save()
    return publish(compute.compute_definition(definition), None, check_permission=False)


def test_study_list_links_public_studies_only(client, public_study):
    Study.objects.create(
        organisation=public_study.organisation,
        slug="hidden",
        title_en="Hidden draft study",
        method=Study.Method.SCORECARD,
        period_start=public_study.period_start,
        period_end=public_study.period_end,
        consent_procedure=Study.Consent.ORAL,
    )
    page = client.get("/en/studies/").content.decode()
    assert 'href="/en/studies/s/"' in page and f"{N} respondents" in page
    assert "Hidden draft study" not in page and "/studies/hidden/" not in page
    vi = client.get("/vi/studies/").content.decode()
    assert "Khảo sát thử nghiệm" in vi and 'href="/vi/studies/s/"' in vi


def test_study_page_shows_methodology_sample_consent_and_partners(client, public_study):
    page = client.get("/en/studies/s/").content.decode()
    assert "Two-stage sample of communes." in page
    # The design in plain words, with the numbers of strata and clusters of the accepted records.
    assert "drawn separately in 6 strata (variable stratum)" in page
    assert "in 90 clusters (variable commune)" in page
    assert "Taylor linearisation" in page
    assert f"{N} respondents whose answers were accepted with consent" in page and "(90% of the plan)" in page
    assert "Guardian consent plus child assent (under 16)" in page
    assert "parent or guardian has consented" in page and "Oral consent recorded" in page
    assert "Partner Network Alpha" in page
    assert "People with disabilities; Children aged 11–15" in page
    assert "f — version 1" in page  # the questionnaire by name and version only


def test_study_page_in_vietnamese(client, public_study):
    page = client.get("/vi/studies/s/").content.decode()
    assert '<html lang="vi">' in page
    assert "Khảo sát thử nghiệm" in page and "Mẫu hai giai đoạn các xã." in page
    assert "Đồng ý bằng lời, điều tra viên ghi nhận." in page
    assert "Người khuyết tật" in page
    assert "Phương pháp" in page and "Sự đồng ý" in page  # headings translated


def test_achieved_sample_leaves_out_withdrawn_consent(client, public_study):
    first = Submission.objects.filter(study=public_study).order_by("pk").first()
    Submission.objects.filter(pk=first.pk).update(consent_status=Submission.ConsentStatus.WITHDRAWN)
    page = client.get("/en/studies/s/").content.decode()
    assert f"{N - 1} respondents whose answers were accepted with consent" in page
    assert "1 respondent withdrew consent later" in page


def test_study_page_links_the_indicators_computed_from_it(client, computed):
    page = client.get("/en/studies/s/").content.decode()
    assert f'href="/en/indicators/1.3.1/#def-{computed.definition.pk}"' in page
    assert "Covered by social protection" in page
    # Coverage from the published estimates' province codes when the study records no areas.
    assert "Hà Nội" in page or "Ha Noi" in page
    indicator = client.get("/en/indicators/1.3.1/").content.decode()
    assert 'href="/en/studies/s/"' in indicator
    assert 'href="/en/studies/s/"' in client.get("/en/").content.decode()


def test_study_areas_are_listed_when_recorded(client, public_study):
    public_study.areas.set(Area.objects.filter(code__in=["VN-01", "VN-79"]))
    page = client.get("/en/studies/s/").content.decode()
    assert "2 areas" in page


def test_private_study_is_a_helpful_404_in_the_users_language(client, study):  # noqa: F811
    en = client.get("/en/studies/s/")
    assert en.status_code == 404
    assert "No public study has the address s" in en.content.decode()
    vi = client.get("/vi/studies/s/")
    assert vi.status_code == 404
    assert "Không có nghiên cứu công khai nào" in vi.content.decode()
    assert client.get("/en/studies/no-such-study/").status_code == 404


def test_pages_list_the_same_studies_as_the_api(client, public_study):
    Study.objects.create(
        organisation=public_study.organisation,
        slug="second",
        title_en="Second public study",
        method=Study.Method.FOCUS_GROUP,
        period_start=public_study.period_start,
        period_end=public_study.period_end,
        consent_procedure=Study.Consent.ORAL,
        is_public=True,
    )
    api = json.loads(client.get("/api/v1/studies").content)
    slugs = {item["slug"] for item in api["items"]}
    assert slugs == {"s", "second"}
    page = client.get("/en/studies/").content.decode()
    for slug in slugs:
        assert f'href="/en/studies/{slug}/"' in page
        assert client.get(f"/en/studies/{slug}/").status_code == 200


def test_study_page_shows_no_personal_or_design_secrets(client, public_study):
    page = client.get("/en/studies/s/").content.decode()
    assert public_study.pseudonym_key not in page
    respondent = Submission.objects.filter(study=public_study).first().respondent
    assert respondent not in page


def test_members_see_their_organisations_private_study_marked_and_coordinators_the_imports(
    client,
    django_user_model,
    study,  # noqa: F811
):
    from voicescount.accounts.models import Membership, Role

    coordinator = django_user_model.objects.create_user("coord", password="x")
    Membership.objects.create(user=coordinator, organisation=study.organisation, role=Role.COORDINATOR)
    assert client.get("/en/studies/s/").status_code == 404
    assert 'href="/en/studies/s/"' not in client.get("/en/studies/").content.decode()
    client.force_login(coordinator)
    page = client.get("/en/studies/s/").content.decode()
    assert "This study is not public" in page
    assert 'href="/en/studies/s/import/"' in page and "Latest import batches" in page
    assert 'href="/en/studies/s/indicators/"' in page  # the coordinators' compute page
    assert 'href="/en/studies/s/"' in client.get("/en/studies/").content.decode()


def test_design_without_weights_or_clusters_says_so(client, public_study):
    public_study.weight_variable = public_study.psu_variable = ""
    public_study.strata_variable = "age"  # any answer works as a stratum variable here
    public_study.save()
    page = client.get("/en/studies/s/").content.decode()
    assert "no survey weights" in page and "simple random sample" in page
    ages = len(
        {v["age"] for v in Submission.objects.filter(study=public_study).values_list("values", flat=True)}
    )
    assert f"drawn separately in {ages} strata (variable age)" in page
