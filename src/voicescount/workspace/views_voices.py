"""Voices in the workspace (part "voices", issue 16 items 1-3): a study's qualitative sources, adding one
(typed, pasted or a TXT/DOCX/ODT file), a source's text where a selection becomes an excerpt, and an
excerpt's review: consent, the proposed redactions (accept, edit, reject; add one by selecting words) and
the sign-off.

Rights (``accounts.permissions`` through ``workspace.access``): the list and the texts need ``VIEW`` on the
study's organisation (a transcript is personal data until de-identified: it is shown only here, never on a
public page); adding and changing need ``EDIT``; the sign-off needs ``PUBLISH`` (``voices.services``).
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from voicescount.accounts.permissions import Action
from voicescount.collection.study_service import POPULATION_GROUP
from voicescount.framework.models import Code
from voicescount.geography.models import Area
from voicescount.voices import services
from voicescount.voices.models import Consent, Excerpt, Redaction, Source
from voicescount.voices.reading import MAX_FILE_BYTES, SourceFileError, read_source_file
from voicescount.voices.selectors import public_text
from voicescount.workspace.access import allowed, study_for


class SourceForm(forms.Form):
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=200,
        help_text=gettext_lazy("A short label, never a person's name."),
    )
    method = forms.ChoiceField(label=gettext_lazy("Method"), choices=Source.Method.choices)
    held_on = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    place = forms.ModelChoiceField(
        label=gettext_lazy("Place (province or region)"), queryset=Area.objects.none(), required=False
    )
    facilitator = forms.CharField(
        label=gettext_lazy("Facilitator"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("A role or organisation, not a person's name."),
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=Source.Language.choices)
    default_consent = forms.ChoiceField(
        label=gettext_lazy("Consent given for quotes"), choices=Consent.choices
    )
    consent_notes = forms.CharField(
        label=gettext_lazy("Consent procedure"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    file = forms.FileField(
        label=gettext_lazy("Transcript file"),
        required=False,
        help_text=gettext_lazy("TXT (UTF-8), DOCX or ODT, up to 2 MB. Or paste the text below."),
    )
    text = forms.CharField(
        label=gettext_lazy("Transcript or notes"), required=False, widget=forms.Textarea(attrs={"rows": 10})
    )

    def __init__(self, *args, study, **kwargs):
        super().__init__(*args, **kwargs)
        country = study.organisation.coalition.country_code if study.organisation.coalition_id else "VN"
        self.fields["place"].queryset = (
            Area.objects.valid_on(dt.date.today())
            .filter(country_code=country, level__in=services.PLACE_LEVELS)
            .order_by("level", "name")
        )
        self.groups = list(
            Code.objects.filter(code_list__code=POPULATION_GROUP).exclude(code="_T").order_by("order", "code")
        )
        for code in self.groups:
            name = code.name_vi if get_language() == "vi" and code.name_vi else code.name_en
            self.fields[f"group_{code.code}"] = forms.IntegerField(label=name, min_value=0, required=False)

    def group_fields(self):
        return [self[f"group_{c.code}"] for c in self.groups]

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            if upload.size > MAX_FILE_BYTES:
                self.add_error("file", _("%(name)s is larger than 2 MB.") % {"name": upload.name})
                return data
            try:
                data["text"], data["imported_from"] = read_source_file(upload.name, upload.read())
            except SourceFileError as error:
                self.add_error("file", str(error))
        elif not (data.get("text") or "").strip():
            self.add_error("text", _("Paste the transcript or choose a file."))
        else:
            data["imported_from"] = "typed"
        data["participant_groups"] = {
            c.code: data[f"group_{c.code}"] for c in self.groups if data.get(f"group_{c.code}")
        }
        return data


def _context(request, study, **more):
    return {"study": study, "can": allowed(request.user, study.organisation), **more}


@login_required
@require_safe
def voices(request, slug: str):
    study = study_for(request.user, slug, Action.VIEW)
    sources = study.voice_sources.select_related("place").annotate(
        excerpts_n=Count("excerpts", distinct=True),
        reviewed_n=Count("excerpts", filter=Q(excerpts__status=Excerpt.Status.REVIEWED), distinct=True),
    )
    return render(request, "workspace/voices.html", _context(request, study, sources=sources))


@login_required
@require_http_methods(["GET", "POST"])
def voices_add(request, slug: str):
    study = study_for(request.user, slug, Action.EDIT)
    form = SourceForm(request.POST or None, request.FILES or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            source = services.create_source(
                request.user,
                study,
                **{k: data[k] for k in ("title", "method", "held_on", "language", "text", "default_consent")},
                place=data["place"],
                facilitator=data["facilitator"],
                participant_groups=data["participant_groups"],
                consent_notes=data["consent_notes"],
                imported_from=data["imported_from"],
            )
        except (services.VoicesError, SourceFileError) as error:
            field = getattr(error, "field", None)
            form.add_error(field if field in form.fields else None, str(error))
        else:
            messages.success(request, _("Source added. Select words of its text to make an excerpt."))
            return redirect("workspace:voices-source", slug=study.slug, pk=source.pk)
    return render(request, "workspace/voices_add.html", _context(request, study, form=form))


def _source(request, slug: str, pk: int, action: Action) -> Source:
    study = study_for(request.user, slug, action)
    return get_object_or_404(
        Source.objects.select_related("place", "study__organisation"), pk=pk, study=study
    )


def _offsets(request) -> tuple[int, int]:
    try:
        return int(request.POST.get("start", "")), int(request.POST.get("end", ""))
    except ValueError:
        raise services.VoicesError(_("Select some words of the text first.")) from None


@login_required
@require_http_methods(["GET", "POST"])
def voices_source(request, slug: str, pk: int):
    source = _source(request, slug, pk, Action.EDIT if request.method == "POST" else Action.VIEW)
    if request.method == "POST":
        try:
            excerpt = services.create_excerpt(request.user, source, *_offsets(request))
        except services.VoicesError as error:
            messages.error(request, str(error))
        else:
            return redirect("workspace:voices-excerpt", slug=slug, pk=excerpt.pk)
    excerpts = source.excerpts.annotate(
        undecided=Count("redactions", filter=Q(redactions__decision=Redaction.Decision.PROPOSED))
    )
    text = source.text
    rows = [{"excerpt": e, "words": text[e.start : e.end]} for e in excerpts]
    groups = {c.code: c for c in Code.objects.filter(code_list__code=POPULATION_GROUP)}
    participants = [(groups.get(code), n) for code, n in source.participant_groups.items()]
    return render(
        request,
        "workspace/voices_source.html",
        _context(request, source.study, source=source, text=text, rows=rows, participants=participants),
    )


def _excerpt(request, slug: str, pk: int, action: Action) -> Excerpt:
    study = study_for(request.user, slug, action)
    return get_object_or_404(
        Excerpt.objects.select_related("source__study__organisation"), pk=pk, source__study=study
    )


def _segments(text: str, excerpt: Excerpt, redactions) -> list[dict]:
    """The excerpt's words cut at its redactions, for highlighting (overlaps shown under the first)."""
    out, at = [], excerpt.start
    for r in sorted(redactions, key=lambda r: (r.start, r.pk)):
        start, end = max(r.start, at), min(r.end, excerpt.end)
        if start >= end:
            continue
        if start > at:
            out.append({"text": text[at:start]})
        out.append({"text": text[start:end], "redaction": r})
        at = end
    out.append({"text": text[at : excerpt.end]})
    return out


@login_required
@require_safe
def voices_excerpt(request, slug: str, pk: int):
    excerpt = _excerpt(request, slug, pk, Action.VIEW)
    text = excerpt.source.text
    redactions = list(excerpt.redactions.select_related("decided_by"))
    rows = [{"r": r, "words": text[r.start : r.end]} for r in redactions]
    return render(
        request,
        "workspace/voices_excerpt.html",
        _context(
            request,
            excerpt.source.study,
            excerpt=excerpt,
            source=excerpt.source,
            segments=_segments(
                text, excerpt, [r for r in redactions if r.decision != Redaction.Decision.REJECTED]
            ),
            rows=rows,
            undecided=sum(r.decision == Redaction.Decision.PROPOSED for r in redactions),
            shown=public_text(excerpt, text),
            consents=Consent.choices,
            entities=Redaction.Entity.choices,
        ),
    )


@login_required
@require_POST
def voices_excerpt_change(request, slug: str, pk: int):
    """One change of an excerpt's review: ``do`` is consent, decide, add or reviewed."""
    do = request.POST.get("do")
    excerpt = _excerpt(request, slug, pk, Action.PUBLISH if do == "reviewed" else Action.EDIT)
    try:
        if do == "consent":
            services.set_consent(
                request.user, excerpt, request.POST.get("consent", ""), request.POST.get("paraphrase")
            )
            messages.success(request, _("Consent recorded."))
        elif do == "decide":
            redaction = get_object_or_404(excerpt.redactions, pk=request.POST.get("redaction") or 0)
            decision = request.POST.get("decision", "")
            replacement = request.POST.get("replacement")
            if (
                decision == Redaction.Decision.ACCEPTED
                and replacement
                and replacement.strip() != redaction.replacement
            ):
                decision = Redaction.Decision.EDITED
            services.decide_redaction(request.user, redaction, decision, replacement=replacement)
        elif do == "add":
            start, end = _offsets(request)
            services.add_redaction(request.user, excerpt, start, end, request.POST.get("entity", ""))
        elif do == "reviewed":
            services.mark_reviewed(request.user, excerpt)
            messages.success(request, _("Marked as reviewed: the excerpt may be shown as below."))
        else:
            messages.error(request, _("Nothing was changed."))
    except services.VoicesError as error:
        messages.error(request, str(error))
    return redirect("workspace:voices-excerpt", slug=slug, pk=excerpt.pk)
