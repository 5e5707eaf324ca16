"""A study with a survey design and an instrument, filled with records accepted as they are (the tests of
computation start from answers, not from forms)."""

import datetime as dt

from voicescount.accounts.models import Coalition, Organisation
from voicescount.collection import batches, services
from voicescount.collection.models import Instrument, Study


def accept_all(record):
    return services.Checked(dict(record.values), [])


def study_with_answers(slug, records, *, design=("weight", "stratum", "commune"), respondent="hh", **consent):
    """A public-sector household survey of 2022 named ``slug`` whose instrument holds ``records``
    (``RawRecord``); ``consent`` names the instrument's consent questions (``consent_question`` …)."""
    coalition = Coalition.objects.create(slug="vn", name="VN", country_code="VN")
    org = Organisation.objects.create(slug="org", name="Org", coalition=coalition)
    weight, strata, psu = design
    study = Study.objects.create(
        organisation=org,
        slug=slug,
        title_en=slug.replace("-", " ").capitalize(),
        method=Study.Method.HOUSEHOLD_SURVEY,
        period_start=dt.date(2022, 3, 1),
        period_end=dt.date(2022, 6, 30),
        consent_procedure=Study.Consent.GUARDIAN_AND_ASSENT,
        weight_variable=weight,
        strata_variable=strata,
        psu_variable=psu,
    )
    instrument = Instrument.objects.create(
        study=study,
        form_id="f",
        version="1",
        filename="f.xlsx",
        source=b"",
        definition={},
        xform="<x/>",
        roles={respondent: "respondent_id"},
        **{"consent_question": "consent", **consent},
    )
    report = batches.import_records(
        instrument, records, checker=accept_all, source="api", check_permission=False
    )
    return study, report
