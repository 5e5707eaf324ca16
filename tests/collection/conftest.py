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
