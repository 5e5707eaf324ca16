"""The site's own sign-in, sign-out, account, password change and password reset pages.

Django's authentication views do the work (safe ``?next=``, CSRF, one-time reset links); these classes
only name the templates and addresses. Failed sign-ins are counted by django-axes (settings.py), which
calls :func:`locked_out` for the page a locked-out client sees — on these pages and the admin login alike.
"""

from __future__ import annotations

from axes.utils import reset as reset_failed_sign_ins
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from voicescount.accounts.selectors import roles_held

LOCKED_OUT_STATUS = 429
CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


class PlainLabels:
    """Form labels without Django's trailing colon (the labels sit above their fields)."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "label_suffix": ""}


class SignInView(PlainLabels, auth_views.LoginView):
    """Sign in with username and password; then to a safe ``?next=`` or the account page."""

    template_name = "accounts/sign_in.html"
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """Sign out (POST with the CSRF token only) and say so."""

    template_name = "accounts/signed_out.html"


class PasswordChangeView(PlainLabels, auth_views.PasswordChangeView):
    """A signed-in person changes their password (the old one first); they stay signed in."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password-change-done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


class PasswordResetView(PlainLabels, auth_views.PasswordResetView):
    """Ask for a reset link by e-mail; the same answer whether or not the address is known.

    Without a way to send mail (production with no ``VOICESCOUNT_EMAIL_URL``) the page says to ask an
    administrator instead of pretending to send."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def dispatch(self, request, *args, **kwargs):
        if not settings.VOICESCOUNT_PASSWORD_RESET_BY_EMAIL:
            return render(request, "accounts/password_reset_unavailable.html")
        return super().dispatch(request, *args, **kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    """'Check your e-mail' — and, in development, where the mail went instead (the server's console)."""

    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["mail_on_console"] = settings.EMAIL_BACKEND == CONSOLE_EMAIL_BACKEND
        return context


class PasswordResetConfirmView(PlainLabels, auth_views.PasswordResetConfirmView):
    """The link from the mail: choose a new password. Earlier failed sign-ins of the account are forgotten,
    so a person locked out by mistyping can sign in straight away with the new password."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_failed_sign_ins(username=form.user.get_username())
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@login_required
@require_safe
def account(request: HttpRequest) -> HttpResponse:
    """Who is signed in: username, and each organisation with the role held there."""
    context = {"roles": roles_held(request.user, get_language())}
    return render(request, "accounts/account.html", context)


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The page django-axes shows when a username has failed too often from one address (AXES_* settings)."""
    cool_off = settings.AXES_COOLOFF_TIME
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": max(1, round(cool_off.total_seconds() / 60)),
        "can_reset": settings.VOICESCOUNT_PASSWORD_RESET_BY_EMAIL,
    }
    return render(request, "accounts/locked_out.html", context, status=LOCKED_OUT_STATUS)
