"""Instruments in the browser: a study's form versions, uploading a new one, confirming its question roles.

The rules (parsing, proposed roles, what a new version breaks, checks against the sampling design)
are ``collection.instrument_review``'s; these views read the request, call it and render. Between
the upload and the confirmation the file waits in the session, sealed by ``seal_upload`` (encrypted;
the module's docstring says why there).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from voicescount.accounts.permissions import Action
from voicescount.collection import instrument_review as review
from voicescount.collection.errors import InstrumentError
from voicescount.collection.instrument_changes import answer_questions, type_words
from voicescount.collection.xlsform import MAX_FILE_BYTES
from voicescount.workspace.access import allowed, study_for

ROLE_LABELS = {
    "": gettext_lazy("No role"),
    "personal": gettext_lazy("Personal data"),
    "respondent_id": gettext_lazy("Respondent id"),
    "weight": gettext_lazy("Design weight"),
    "stratum": gettext_lazy("Stratum"),
    "psu": gettext_lazy("Cluster (PSU)"),
    "fpc": gettext_lazy("Finite population correction"),
    "dimension": gettext_lazy("Dimension"),
}
ROLE_HELP = {
    "": gettext_lazy("an ordinary answer, used in indicators as it is."),
    "personal": gettext_lazy("stored encrypted, never shown on public pages or in exports."),
    "respondent_id": gettext_lazy(
        "links a person's records without naming them; stored encrypted, only a pseudonym derived from "
        "it is kept."
    ),
    "weight": gettext_lazy("how many people each respondent stands for; every estimate uses it."),
    "stratum": gettext_lazy("the group the sample was drawn in separately; used for the margins of error."),
    "psu": gettext_lazy("the unit drawn first, e.g. the commune; used for the margins of error."),
    "fpc": gettext_lazy("the population size or sampling fraction of the first stage."),
    "dimension": gettext_lazy("results are broken down by it (e.g. by sex or by province)."),
}
SPECIAL_HELP = {
    "consent": gettext_lazy("Consent question: a record enters the analysis only when it is answered yes."),
    "age": gettext_lazy("Age question: shows when a respondent is a child, who needs a guardian's consent."),
    "guardian_consent": gettext_lazy("Guardian consent question: a parent or guardian agreed for a child."),
    "child_assent": gettext_lazy("Child assent question: the child agreed as well."),
}
SPECIAL_LABELS = {
    "consent": gettext_lazy("Consent"),
    "age": gettext_lazy("Age"),
    "guardian_consent": gettext_lazy("Guardian consent"),
    "child_assent": gettext_lazy("Child assent"),
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("XLSForm file"),
        help_text=gettext_lazy("A new form, or a new version of one (.xlsx, .xls, .csv or .md)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.xls,.csv,.md"}),
    )


def _pending_key(study) -> str:
    return f"workspace.instrument_upload.{study.pk}"


def _versions(study) -> list[dict]:
    return [
        {"instrument": i, "questions": len(answer_questions(i.definition or {})), "submissions": i.n}
        for i in study.instruments.annotate(n=Count("submissions")).order_by("form_id", "-uploaded", "-pk")
    ]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def instruments(request, slug: str):
    """The study's form versions and the upload form; an upload leads to the confirmation page."""
    study = study_for(request.user, slug, Action.EDIT if request.method == "POST" else Action.VIEW)
    can = allowed(request.user, study.organisation)
    form = UploadForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_FILE_BYTES:
                raise InstrumentError(_("The file is too large for an XLSForm."), file=upload.name)
            content = upload.read()
            sealed = review.seal_upload(study, upload.name, content)
            review.preview_upload(study, upload.name, content)
        except InstrumentError as exc:
            error = exc
        else:
            request.session[_pending_key(study)] = sealed
            return redirect("workspace:instrument-confirm", slug=study.slug)
    context = {"study": study, "can": can, "form": form, "error": error, "versions": _versions(study)}
    return render(request, "workspace/instruments.html", context, status=400 if error or form.errors else 200)


def _role_options(preview) -> list[tuple[str, str]]:
    dimensions = list(review.DIMENSIONS)
    dimensions += sorted(
        {r.split(":", 1)[1] for r in preview.roles.values() if r.startswith("dimension:")} - set(dimensions)
    )
    options = [(r, str(ROLE_LABELS[r])) for r in ("", *review.ROLES)]
    return options + [(f"dimension:{d}", f"{ROLE_LABELS['dimension']}: {d}") for d in dimensions]


def _role_label(role: str) -> str:
    if role.startswith("dimension:"):
        return f"{ROLE_LABELS['dimension']}: {role.split(':', 1)[1]}"
    return str(ROLE_LABELS.get(role, role))


def _confirm_context(request, study, preview, *, special=None, error=None, problems=()) -> dict:
    roles = preview.roles
    answering = answer_questions(preview.definition)
    rows = [
        {
            "question": q,
            "type": type_words(q["type"]),
            "label": q["labels"].get(request.LANGUAGE_CODE)
            or q["labels"].get(preview.definition["default_language"])
            or next(iter(q["labels"].values()), ""),
            "takes_role": q["name"] in answering,
            "role": roles.get(q["name"], ""),
        }
        for q in preview.questions
    ]
    special = preview.special if special is None else special
    choosable = [name for name, q in answering.items() if not q["repeat"]]
    return {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "preview": preview,
        "rows": rows,
        "role_options": _role_options(preview),
        "role_help": [(ROLE_LABELS[key], text) for key, text in ROLE_HELP.items()],
        "question_count": len(answering),
        "special": [
            {"key": k, "label": SPECIAL_LABELS[k], "help": SPECIAL_HELP[k], "value": special.get(k, "")}
            for k in review.SPECIAL
        ],
        "choosable": choosable,
        "error": error,
        "problems": problems,
        "accepted": request.POST.get("accept_breaking") == "yes",
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def instrument_confirm(request, slug: str):
    """The uploaded form's questions with their proposed roles, and what it changes; confirm or cancel."""
    study = study_for(request.user, slug, Action.EDIT)
    sealed = request.session.get(_pending_key(study))
    if sealed is None:
        messages.info(request, _("Upload a form first."))
        return redirect("workspace:instruments", slug=study.slug)
    try:
        filename, content = review.open_upload(study, sealed)
    except InstrumentError as exc:
        del request.session[_pending_key(study)]
        messages.error(request, exc.message)
        return redirect("workspace:instruments", slug=study.slug)
    if request.method != "POST":
        return render(
            request,
            "workspace/instruments_confirm.html",
            _confirm_context(request, study, review.preview_upload(study, filename, content)),
        )
    if "cancel" in request.POST:
        del request.session[_pending_key(study)]
        messages.info(request, _("The upload was discarded; nothing was stored."))
        return redirect("workspace:instruments", slug=study.slug)
    # Every select the page sent: confirm_upload refuses names that are not questions of the form.
    roles = {
        key.removeprefix("role:"): value for key, value in request.POST.items() if key.startswith("role:")
    }
    special = {key: request.POST.get(f"special:{key}", "") for key in review.SPECIAL}
    try:
        instrument = review.confirm_upload(
            study,
            filename,
            content,
            roles,
            special,
            by=request.user,
            accept_breaking=request.POST.get("accept_breaking") == "yes",
        )
    except review.RolesRefused as exc:
        error, problems = None, exc.problems
    except review.BreakingChangesRefused:
        error, problems = _("Tick “I understand” to add a version that breaks earlier submissions."), ()
    except InstrumentError as exc:
        error, problems = exc.message, ()
    else:
        del request.session[_pending_key(study)]
        messages.success(
            request,
            _("Form %(form)s version %(version)s added.")
            % {"form": instrument.form_id, "version": instrument.version or "—"},
        )
        return redirect("workspace:instrument", slug=study.slug, pk=instrument.pk)
    preview = review.preview_upload(study, filename, content, roles={k: v for k, v in roles.items() if v})
    context = _confirm_context(request, study, preview, special=special, error=error, problems=problems)
    return render(request, "workspace/instruments_confirm.html", context, status=400)


@login_required
@require_safe
def instrument_detail(request, slug: str, pk: int):
    """One form version: its questions, their roles and the consent questions."""
    study = study_for(request.user, slug, Action.VIEW)
    instrument = get_object_or_404(study.instruments, pk=pk)
    definition = instrument.definition or {}
    answering = answer_questions(definition)
    roles = instrument.roles or {}
    rows = [
        {
            "question": q,
            "type": type_words(q["type"]),
            "label": q["labels"].get(request.LANGUAGE_CODE)
            or q["labels"].get(definition.get("default_language", ""))
            or next(iter(q["labels"].values()), ""),
            "role": _role_label(roles[q["name"]]) if q["name"] in answering and roles.get(q["name"]) else "",
        }
        for q in definition.get("questions", [])
    ]
    special = [
        {"label": SPECIAL_LABELS[k], "value": getattr(instrument, review.SPECIAL_FIELDS[k])}
        for k in review.SPECIAL
    ]
    context = {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "instrument": instrument,
        "rows": rows,
        "questions": len(answering),
        "special": special,
        "submissions": instrument.submissions.count(),
    }
    return render(request, "workspace/instruments_detail.html", context)
