"""The permission table, tested as a table: role × action × own/other organisation × coalition."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from voicescount.accounts.models import Coalition, Membership, Organisation, Role
from voicescount.accounts.permissions import (
    ROLE_ACTIONS,
    Action,
    actions_for,
    has_permission,
    require,
    visible_organisation_ids,
)

pytestmark = pytest.mark.django_db

EXPECTED = {
    Role.COALITION_ADMIN: set(Action),
    Role.COORDINATOR: set(Action),
    Role.ANALYST: {Action.VIEW, Action.IMPORT, Action.EDIT, Action.COMPUTE, Action.REPRODUCE},
    Role.ENUMERATOR: {Action.SUBMIT},
    Role.NSO_REVIEWER: {Action.VIEW, Action.REVIEW, Action.REPRODUCE},
}


@pytest.fixture
def world():
    vn = Coalition.objects.create(slug="vn", name="VN coalition", country_code="VN")
    ke = Coalition.objects.create(slug="ke", name="KE coalition", country_code="KE")
    a = Organisation.objects.create(slug="a", name="Org A", coalition=vn)
    b = Organisation.objects.create(slug="b", name="Org B", coalition=vn)
    k = Organisation.objects.create(slug="k", name="Org K", coalition=ke)
    return {"a": a, "b": b, "k": k}


def member(org, role, username=None):
    user = get_user_model().objects.create_user(username or f"{role}-{org.slug}", password="x")
    Membership.objects.create(user=user, organisation=org, role=role)
    return user


def test_table_matches_policy():
    assert {role: set(actions) for role, actions in ROLE_ACTIONS.items()} == EXPECTED


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_action_own_and_other_organisation(world, role, action):
    user = member(world["a"], role)
    assert has_permission(user, action, world["a"]) == (action in EXPECTED[role])
    # Another organisation of the same coalition: only a coalition admin's rights extend there.
    expected_other = role == Role.COALITION_ADMIN
    assert has_permission(user, action, world["b"]) == expected_other
    # Another coalition: nobody's rights extend there.
    assert not has_permission(user, action, world["k"])


def test_anonymous_and_unaffiliated_users_have_no_rights(world):
    nobody = get_user_model().objects.create_user("nobody", password="x")
    for user in (AnonymousUser(), nobody, None):
        assert actions_for(user, world["a"]) == frozenset()
        assert visible_organisation_ids(user) == set()


def test_superuser_may_do_everything(world):
    root = get_user_model().objects.create_superuser("root", password="x")
    assert actions_for(root, world["k"]) == frozenset(Action)


def test_require_names_the_action(world):
    user = member(world["a"], Role.ENUMERATOR)
    require(user, Action.SUBMIT, world["a"])
    with pytest.raises(PermissionDenied, match="may not publish for Org A"):
        require(user, Action.PUBLISH, world["a"])


def test_visible_organisations(world):
    assert visible_organisation_ids(member(world["a"], Role.ANALYST)) == {world["a"].pk}
    assert visible_organisation_ids(member(world["a"], Role.ENUMERATOR)) == set()
    admin = member(world["a"], Role.COALITION_ADMIN)
    assert visible_organisation_ids(admin) == {world["a"].pk, world["b"].pk}


def test_roles_add_up_across_memberships(world):
    user = member(world["a"], Role.ENUMERATOR, "multi")
    Membership.objects.create(user=user, organisation=world["b"], role=Role.ANALYST)
    assert has_permission(user, Action.SUBMIT, world["a"])
    assert not has_permission(user, Action.VIEW, world["a"])
    assert has_permission(user, Action.COMPUTE, world["b"])
    assert not has_permission(user, Action.SUBMIT, world["b"])
