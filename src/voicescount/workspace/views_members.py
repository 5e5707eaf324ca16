"""An organisation's members and roles, and its audit log (workspace part "members").

Thin views over ``accounts.members`` (adding, inviting, changing a role, removing) and
``accounts.audit_log`` (reading the log): each page is for those who may ``MANAGE_MEMBERS`` on the
organisation (others with a role there: 403; anyone else: 404, see ``workspace.access``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from voicescount.accounts import audit_log
from voicescount.accounts.members import (
    MemberChangeRefused,
    add_member,
    awaits_password,
    can_grant_coalition_admin,
    change_role,
    invite_again,
    remove_member,
    role_label,
)
from voicescount.accounts.models import Membership, Organisation, Role
from voicescount.accounts.permissions import Action
from voicescount.accounts.selectors import organisation_name
from voicescount.collection.models import Study
from voicescount.workspace.access import allowed, organisation_for


def role_choices(user, organisation: Organisation) -> list[tuple[str, str]]:
    """The roles ``user`` may grant there: coalition administrator only for coalition administrators."""
    grant_admin = can_grant_coalition_admin(user, organisation)
    return [(value, label) for value, label in Role.choices if value != Role.COALITION_ADMIN or grant_admin]


class AddMemberForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"), max_length=254)
    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        max_length=150,
        help_text=gettext_lazy("Optional; used to greet a new person in the invitation."),
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"))

    def __init__(self, *args, roles: list[tuple[str, str]], **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["role"].choices = roles


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def members(request: HttpRequest, org: str) -> HttpResponse:
    """The members with their roles, and the form to add one (POST here adds)."""
    organisation = organisation_for(request.user, org, Action.MANAGE_MEMBERS)
    roles = role_choices(request.user, organisation)
    form = AddMemberForm(request.POST or None, roles=roles, initial={"role": Role.ENUMERATOR})
    if request.method == "POST" and form.is_valid():
        try:
            added = add_member(
                organisation,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                by=request.user,
                site_url=request.build_absolute_uri("/"),
            )
        except MemberChangeRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message_text)
        else:
            values = {
                "username": added.membership.user.get_username(),
                "role": role_label(added.membership.role),
            }
            if added.invited:
                text = _(
                    "%(username)s is now %(role)s. An invitation to choose a password was sent by e-mail."
                )
            else:
                text = _("%(username)s is now %(role)s.")
            messages.success(request, text % values)
            return redirect("workspace:members", org=organisation.slug)
    context = {
        "organisation": organisation,
        "organisation_name": organisation_name(organisation, get_language()),
        "can": allowed(request.user, organisation),
        "rows": member_rows(request.user, organisation),
        "roles": roles,
        "form": form,
    }
    return render(request, "workspace/members.html", context)


def member_rows(user, organisation: Organisation) -> list[dict]:
    """Each membership with what the page needs: may ``user`` change it, is the person still invited."""
    grant_admin = can_grant_coalition_admin(user, organisation)
    memberships = (
        Membership.objects.filter(organisation=organisation)
        .select_related("user")
        .order_by("user__username", "role")
    )
    return [
        {
            "membership": m,
            "role": role_label(m.role),
            "pending": awaits_password(m.user),
            "changeable": m.role != Role.COALITION_ADMIN or grant_admin,
            "is_me": m.user_id == user.pk,
        }
        for m in memberships
    ]


def _membership(request: HttpRequest, org: str, pk: int) -> Membership:
    organisation = organisation_for(request.user, org, Action.MANAGE_MEMBERS)
    return get_object_or_404(
        Membership.objects.select_related("user", "organisation"), pk=pk, organisation=organisation
    )


@login_required
@require_POST
def member_role(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = _membership(request, org, pk)
    old = role_label(membership.role)
    try:
        change_role(membership, request.POST.get("role", ""), request.user)
    except MemberChangeRefused as refused:
        messages.error(request, refused.message_text)
    else:
        messages.success(
            request,
            _("%(username)s: %(old)s → %(new)s.")
            % {
                "username": membership.user.get_username(),
                "old": old,
                "new": role_label(request.POST["role"]),
            },
        )
    return redirect("workspace:members", org=org)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def member_remove(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    """GET asks to confirm; POST removes the role."""
    membership = _membership(request, org, pk)
    if request.method == "POST":
        try:
            remove_member(membership, request.user)
        except MemberChangeRefused as refused:
            messages.error(request, refused.message_text)
        else:
            messages.success(
                request,
                _("%(username)s no longer holds the role %(role)s.")
                % {"username": membership.user.get_username(), "role": role_label(membership.role)},
            )
        return redirect("workspace:members", org=org)
    context = {
        "organisation": membership.organisation,
        "organisation_name": organisation_name(membership.organisation, get_language()),
        "membership": membership,
        "role": role_label(membership.role),
        "is_me": membership.user_id == request.user.pk,
    }
    return render(request, "workspace/members_remove.html", context)


@login_required
@require_POST
def member_invite(request: HttpRequest, org: str, pk: int) -> HttpResponse:
    membership = _membership(request, org, pk)
    try:
        invite_again(membership, request.user, site_url=request.build_absolute_uri("/"))
    except MemberChangeRefused as refused:
        messages.error(request, refused.message_text)
    else:
        messages.success(
            request, _("A new invitation was sent to %(username)s.") % {"username": membership.user.username}
        )
    return redirect("workspace:members", org=org)


@login_required
@require_safe
def audit(request: HttpRequest, org: str) -> HttpResponse:
    """The organisation's audit log, newest first, 50 a page; filters ``?action=`` and ``?study=``."""
    organisation = organisation_for(request.user, org, Action.MANAGE_MEMBERS)
    studies = list(Study.objects.filter(organisation=organisation).order_by("slug"))
    study = next((s for s in studies if s.slug == request.GET.get("study")), None)
    action = request.GET.get("action", "")
    page = audit_log.audit_page(organisation, action=action, study=study, page=request.GET.get("page", 1))
    query = {k: v for k, v in (("action", action), ("study", study.slug if study else "")) if v}
    context = {
        "organisation": organisation,
        "organisation_name": organisation_name(organisation, get_language()),
        "can": allowed(request.user, organisation),
        "page": page,
        "actions": audit_log.actions_in_log(organisation),
        "studies": studies,
        "selected_action": action,
        "selected_study": study,
        "filter_query": urlencode(query),
        "members_url": reverse("workspace:members", kwargs={"org": organisation.slug}),
    }
    return render(request, "workspace/audit.html", context)
