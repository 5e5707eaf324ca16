"""Fixtures shared by the collection tests: an organisation and a coordinator of it."""

import pytest

from voicescount.accounts.models import Coalition, Membership, Organisation, Role


@pytest.fixture
def org():
    coalition = Coalition.objects.create(slug="vn", name="VN coalition", country_code="VN")
    return Organisation.objects.create(slug="org", name="Org", coalition=coalition)


@pytest.fixture
def coordinator(org, django_user_model):
    user = django_user_model.objects.create_user("coord", password="x")
    Membership.objects.create(user=user, organisation=org, role=Role.COORDINATOR)
    return user


@pytest.fixture
def make_instrument(org):
    """``make_instrument(**fields)``: a household-survey study of ``org`` (Jan–Mar 2022) and an instrument
    of it; keyword arguments set the instrument's fields, ``study_slug`` and ``consent_procedure`` the
    study's."""
    import datetime as dt

    from voicescount.collection.models import Instrument, Study

    def make(*, study_slug="s", consent_procedure=Study.Consent.ORAL, **fields):
        study = Study.objects.create(
            organisation=org,
            slug=study_slug,
            title_en="Study",
            method=Study.Method.HOUSEHOLD_SURVEY,
            period_start=dt.date(2022, 1, 1),
            period_end=dt.date(2022, 3, 31),
            consent_procedure=consent_procedure,
        )
        values = {"form_id": "f", "version": "1", "filename": "f.xlsx", "source": b"", "definition": {}}
        return Instrument.objects.create(study=study, xform="<x/>", **(values | fields))

    return make
