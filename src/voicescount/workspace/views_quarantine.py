"""Held-back records and consent withdrawal (workspace part "quarantine").

Thin views over ``collection.quarantine`` (list, fix, discard, re-validate all: ``Action.IMPORT``, as
importing) and ``collection.withdrawal`` (find a respondent, withdraw, queue the recomputation:
``Action.EDIT``, as ``services.withdraw_consent``). A study of another organisation is a 404, an
action the user may not take a 403 (``workspace.access``). Questionnaire codes are sent by POST only,
so they never appear in an address or a server log, and are never shown back.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from voicescount.accounts.permissions import Action
from voicescount.collection import quarantine, withdrawal
from voicescount.collection.models import QuarantinedRecord
from voicescount.workspace.access import allowed, study_for

PER_PAGE = 50
ANSWER_PREFIX = "a:"

ISSUE_WORDS = {
    "consent_missing": gettext_lazy("Consent is not recorded"),
    "consent_withdrawn": gettext_lazy("The respondent withdrew consent: discard the record"),
    "required": gettext_lazy("Required but not answered"),
    "constraint": gettext_lazy("Breaks a rule of the form"),
    "unknown_choice": gettext_lazy("Not one of the allowed answers"),
    "unknown_area": gettext_lazy("Not a known area code"),
    "not_integer": gettext_lazy("Should be a whole number"),
    "not_decimal": gettext_lazy("Should be a number"),
    "decimal_comma": gettext_lazy("Use a point, not a comma, in numbers"),
    "not_a_date": gettext_lazy("Should be a date (YYYY-MM-DD)"),
    "not_a_datetime": gettext_lazy("Should be a date and time"),
    "not_a_time": gettext_lazy("Should be a time (HH:MM)"),
    "future_date": gettext_lazy("The date is in the future"),
    "future_submission": gettext_lazy("Sent from a device whose clock was wrong"),
    "out_of_range": gettext_lazy("Outside the allowed range"),
    "invalid_geopoint": gettext_lazy("Not a valid location"),
    "not_text": gettext_lazy("Should be text"),
    "not_acknowledged": gettext_lazy("Should be OK"),
    "not_a_repeat": gettext_lazy("Should be a list of entries"),
    "instance_id_too_long": gettext_lazy("The record's id is too long to store"),
    "legacy_encoding_tcvn3": gettext_lazy("Text in an old Vietnamese encoding (TCVN3)"),
    "legacy_encoding_vni": gettext_lazy("Text in an old Vietnamese encoding (VNI)"),
    "utf8_read_as_windows1252": gettext_lazy("Text with garbled letters"),
    "replacement_characters": gettext_lazy("Text with lost letters (�)"),
}


DETAILED = frozenset({"constraint", "unknown_choice", "out_of_range", "future_date"})
"""Issues whose checker message (English) says more than the plain words: the rule, the allowed codes."""


def issue_words(issue: dict[str, str]) -> dict[str, str]:
    """An issue in plain words (translated), with the checker's own message where it says more."""
    code = issue.get("code", "")
    words = ISSUE_WORDS.get(code)
    return {
        "field": issue.get("field", ""),
        "words": str(words) if words else issue.get("message", ""),
        "detail": issue.get("message", "") if words and code in DETAILED else "",
    }


def _in_language(texts: dict[str, str] | None, fallback: str) -> str:
    texts = texts or {}
    lang = (get_language() or "vi")[:2]
    return texts.get(lang) or texts.get("default") or next(iter(texts.values()), "") or fallback


def _answer_row(answer: quarantine.Answer) -> dict[str, Any]:
    question = answer.question or {}
    row: dict[str, Any] = {
        "path": answer.path,
        "name": ANSWER_PREFIX + answer.path,
        "label": _in_language(question.get("labels"), answer.path),
        "value": answer.value,
        "personal": answer.personal,
        "masked": answer.masked,
        "editable": answer.editable,
        "issues": [issue_words(i) for i in answer.issues],
        "choices": None,
    }
    if question.get("type") == "select_one" and question.get("choices") and answer.editable:
        choices = [(c["code"], _in_language(c.get("labels"), c["code"])) for c in question["choices"]]
        if answer.value and answer.value not in {code for code, _label in choices}:
            choices.insert(
                0, (answer.value, _("%(value)s (not one of the choices)") % {"value": answer.value})
            )
        row["choices"] = choices
    return row


def _record_context(study, user, held: quarantine.HeldRecord, **extra) -> dict[str, Any]:
    return {
        "study": study,
        "can": allowed(user, study.organisation),
        "record": held.record,
        "flagged": [_answer_row(a) for a in held.answers if a.issues],
        "others": [_answer_row(a) for a in held.answers if not a.issues],
        "general_issues": [issue_words(i) for i in held.general_issues],
        "any_masked": any(a.masked for a in held.answers),
        **extra,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def quarantine_list(request, slug: str):
    study = study_for(request.user, slug, Action.IMPORT)
    if request.method == "POST":
        result = quarantine.revalidate_all(study, request.user)
        messages.success(
            request,
            ngettext(
                "%(checked)d record checked again: %(accepted)d accepted, %(held)d still held back.",
                "%(checked)d records checked again: %(accepted)d accepted, %(held)d still held back.",
                result.checked,
            )
            % {"checked": result.checked, "accepted": result.accepted, "held": result.held},
        )
        return redirect("workspace:quarantine", slug=study.slug)
    page = Paginator(quarantine.open_records(study).order_by("pk"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [{"record": r, "issues": [issue_words(i) for i in r.issues or []]} for r in page]
    context = {"study": study, "can": allowed(request.user, study.organisation), "page": page, "rows": rows}
    return render(request, "workspace/quarantine.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def quarantine_record(request, slug: str, pk: int):
    study = study_for(request.user, slug, Action.IMPORT)
    record = get_object_or_404(
        QuarantinedRecord.objects.select_related("instrument", "batch"), pk=pk, study=study
    )
    if record.status != QuarantinedRecord.Status.OPEN:
        context = {"study": study, "can": allowed(request.user, study.organisation), "record": record}
        return render(request, "workspace/quarantine_closed.html", context)
    if request.method != "POST":
        return render(
            request,
            "workspace/quarantine_record.html",
            _record_context(study, request.user, quarantine.held_record(record, request.user)),
        )
    list_url = reverse("workspace:quarantine", kwargs={"slug": study.slug})
    try:
        if request.POST.get("action") == "discard":
            reason = request.POST.get("reason", "")
            if not reason.strip():
                held = quarantine.held_record(record, request.user)
                context = _record_context(
                    study, request.user, held, reason_error=_("Say why the record is discarded.")
                )
                return render(request, "workspace/quarantine_record.html", context)
            quarantine.discard(record, reason, request.user)
            messages.success(request, _("Record %(locator)s was discarded.") % {"locator": record.locator})
            return redirect(list_url)
        submitted = {
            k[len(ANSWER_PREFIX) :]: v for k, v in request.POST.items() if k.startswith(ANSWER_PREFIX)
        }
        left = quarantine.fix(record, submitted, request.user)
    except quarantine.RecordNotOpen:
        messages.info(request, _("This record was fixed or discarded meanwhile."))
        return redirect(list_url)
    if not left:
        messages.success(
            request, _("Record %(locator)s passed the checks and was accepted.") % {"locator": record.locator}
        )
        return redirect(list_url)
    issues = [issue.as_dict() for found in left.values() for issue in found]
    held = quarantine.held_record(record, request.user, submitted=submitted, issues=issues)
    context = _record_context(study, request.user, held, still_failing=True)
    return render(request, "workspace/quarantine_record.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def consent(request, slug: str):
    study = study_for(request.user, slug, Action.EDIT)
    context: dict[str, Any] = {"study": study, "can": allowed(request.user, study.organisation)}
    if request.method != "POST":
        context["done"] = request.session.pop("consent_withdrawal", None) if request.GET.get("done") else None
        if context["done"] and context["done"].get("job"):
            context["job"] = study.compute_jobs.filter(pk=context["done"]["job"]).first()
        return render(request, "workspace/consent.html", context)
    if request.POST.get("action") != "withdraw":
        found = withdrawal.find_respondent(study, request.POST.get("query", ""))
        if found is None:
            context["not_found"] = True
            return render(request, "workspace/consent.html", context)
        context["respondent"] = found
        return render(request, "workspace/consent_confirm.html", context)
    respondent = request.POST.get("respondent", "")
    try:
        done = withdrawal.withdraw(study, respondent, request.POST.get("note", ""), request.user)
    except withdrawal.AlreadyWithdrawn:
        messages.info(request, _("This respondent's consent was withdrawn already."))
        return redirect("workspace:consent", slug=study.slug)
    except LookupError:
        context["not_found"] = True
        return render(request, "workspace/consent.html", context)
    request.session["consent_withdrawal"] = {
        "respondent": done.respondent,
        "submissions": done.submissions,
        "job": done.job.pk if done.job else None,
        "not_queued": done.not_queued,
    }
    return redirect(reverse("workspace:consent", kwargs={"slug": study.slug}) + "?done=1")
