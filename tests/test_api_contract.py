"""The API keeps its published contract: Schemathesis generates requests from the OpenAPI description the
application serves (``/api/openapi.json``) and sends them through the WSGI application.

For every operation, with valid and invalid input: no 5xx; every status code, content type, header and
body the API answers is the one its description documents; input the description calls invalid is
refused. Each operation is called twice over: with the path it is generated with (codes and slugs that
name nothing: the 404s) and with the path of a published record (indicator 1.3.1 of a public study, an
instrument of the token's organisation), so the data and the batch report themselves are checked too. The
submissions API is always called with a valid token, except where Schemathesis leaves it out on purpose
(the 401).
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.publishing.test_evidence_pages import published  # noqa: F401  (fixture)
from voicescount.accounts.models import Membership, Organisation, Role
from voicescount.accounts.services import create_api_token
from voicescount.collection.models import Instrument, Study
from voicescount.collection.xlsform import parse_xlsform

pytestmark = pytest.mark.django_db

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP)
PUBLISHED = {"code": "1.3.1", "study": "contract", "form_id": "hh_contract", "connection": "1"}
"""Path parameters that name published records (made by the ``token`` fixture). A Kobo push is
authenticated by its connection's push secret, not by the API token sent here: it answers 401 (documented),
whichever connection; its other answers are checked in tests/collection/test_kobo_push.py."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # what the description says is invalid is refused (a 4xx)
]
# Not positive_data_acceptance: a submission the schema allows (any object) is refused with 422 when its
# answers do not fit the instrument's form, a rule no JSON schema of the body can state.
# Bounded and deterministic (the profile in tests/conftest.py derandomizes): about a second per operation.
EXAMPLES = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
FORM = b"""| survey |
| | type          | name    | label         |
| | select_one yn | consent | Do you agree? |
| | integer       | age     | Age           |
| | begin_group   | hh      | Household     |
| | integer       | size    | Size          |
| | end_group     |         |               |
| choices |
| | list_name | name | label |
| | yn        | yes  | Yes   |
| | yn        | no   | No    |
| settings |
| | form_id | version |
| | hh_contract | 1   |
"""


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes the database connection after each request (CONN_MAX_AGE 0), which would
    close the test's transaction; Django's test client keeps it open the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(published, django_user_model):  # noqa: F811
    """A coordinator's API token for the organisation of the published study, which also runs a
    survey with a real form (``contract/hh_contract``) to push submissions to."""
    organisation = Organisation.objects.get(studies=published.definition.study)
    user = django_user_model.objects.create_user("contract-coordinator", password="x")
    Membership.objects.create(user=user, organisation=organisation, role=Role.COORDINATOR)
    survey = Study.objects.create(
        organisation=organisation,
        slug="contract",
        title_en="Contract survey",
        method=Study.Method.HOUSEHOLD_SURVEY,
        period_start=dt.date(2022, 1, 1),
        period_end=dt.date(2022, 3, 31),
        consent_procedure=Study.Consent.ORAL,
    )
    parsed = parse_xlsform("hh_contract.md", FORM)
    Instrument.objects.create(
        study=survey,
        form_id="hh_contract",
        version="1",
        filename="hh_contract.md",
        source=FORM,
        xform=parsed["xform"],
        definition={k: v for k, v in parsed.items() if k != "xform"},
        consent_question="consent",
    )
    return create_api_token(user, "contract test")[1]


@schema.parametrize()
@EXAMPLES
def test_every_operation_keeps_its_contract(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@schema.include(path_regex=r"\{").parametrize()
@EXAMPLES
def test_operations_on_published_records_keep_their_contract(case, token):
    case.path_parameters = {name: PUBLISHED[name] for name in case.path_parameters}
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
