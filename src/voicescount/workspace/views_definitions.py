"""A study's indicator definitions in the workspace: the list, a new one, an edit with its kept versions,
and the live preview of the total while a definition is typed (an htmx fragment).

Thin: the rules are ``indicators.definition_service``'s, the names and dimensions on offer
``indicators.definition_inputs``'; permissions come from ``accounts.permissions`` (VIEW to read, EDIT to
save).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from voicescount.accounts.permissions import Action, require
from voicescount.collection.models import Study
from voicescount.framework.models import Direction, Indicator
from voicescount.indicators.definition_inputs import indicator_choices, study_variables
from voicescount.indicators.definition_service import (
    VERSION_FIELDS,
    DefinitionInvalid,
    Preview,
    preview,
    save_definition,
    version_fields,
)
from voicescount.indicators.direction import direction_of
from voicescount.indicators.models import DefinitionVersion, Estimate, IndicatorDefinition, IntervalMethod
from voicescount.workspace.access import allowed, study_for
from voicescount.workspace.definition_forms import (
    PREVIEW_FIELDS,
    DefinitionForm,
    dimension_label,
    indicator_text,
)


@login_required
@require_safe
def definitions(request, slug: str):
    study = study_for(request.user, slug, Action.VIEW)
    rows = [
        {
            "definition": d,
            "indicator": indicator_text(d.indicator),
            "direction": Direction(direction_of(d)).label,
            "own_direction": bool(d.direction),
        }
        for d in study.indicator_definitions.select_related("indicator__framework").order_by("code")
    ]
    context = {"study": study, "can": allowed(request.user, study.organisation), "rows": rows}
    return render(request, "workspace/definitions.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def definition_new(request, slug: str):
    study = study_for(request.user, slug, Action.EDIT)
    if request.method == "POST":
        form = DefinitionForm(request.POST, study=study)
        definition = _save(request, study, form, None)
        if definition is not None:
            return redirect("workspace:definition-edit", slug=study.slug, code=definition.code)
    else:
        form = DefinitionForm(study=study, initial={"kind": IndicatorDefinition.Kind.PROPORTION})
    return _form_page(request, study, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def definition_edit(request, slug: str, code: str):
    study = study_for(request.user, slug, Action.VIEW)
    definition = get_object_or_404(
        study.indicator_definitions.select_related("indicator__framework"), code=code
    )
    if request.method == "POST":
        require(request.user, Action.EDIT, study.organisation)
        form = DefinitionForm(request.POST, study=study, definition=definition)
        saved = _save(request, study, form, definition)
        if saved is not None:
            return redirect("workspace:definition-edit", slug=study.slug, code=saved.code)
    else:
        form = DefinitionForm(
            initial=DefinitionForm.initial_of(definition), study=study, definition=definition
        )
    return _form_page(request, study, form, definition)


@login_required
@require_POST
def definition_preview(request, slug: str):
    """The live preview (htmx): the total with its interval and n, or why not; the errors of the fields
    the estimates depend on go beside their fields (out-of-band swaps)."""
    study = study_for(request.user, slug, Action.VIEW)
    editing = request.POST.get("editing", "")
    definition = study.indicator_definitions.filter(code=editing).first() if editing else None
    form = DefinitionForm(request.POST, study=study, definition=definition)
    form.is_valid()
    data = form.service_data()
    result = None
    if not any(field in form.errors for field in PREVIEW_FIELDS):
        try:
            result = preview(study, data, definition=definition)
        except DefinitionInvalid as exc:
            form.add_service_errors(exc.errors, only=PREVIEW_FIELDS)
    context = {
        "study": study,
        "form": form,
        "preview": _shown(result, form.cleaned_data.get("interval_method")) if result is not None else None,
        "error_fields": [(name, form.errors.get(name, [])) for name in PREVIEW_FIELDS],
    }
    return render(request, "workspace/definition_preview.html", context)


def _save(request, study: Study, form: DefinitionForm, definition: IndicatorDefinition | None):
    """The definition saved from ``form``, or None with the errors on the form."""
    if not form.is_valid():
        return None
    data = form.service_data()
    if form.errors:
        return None
    before = definition.version if definition is not None else None
    try:
        saved = save_definition(study, data, by=request.user, definition=definition)
    except DefinitionInvalid as exc:
        form.add_service_errors(exc.errors)
        return None
    if before is not None and saved.version == before:
        messages.info(request, _("Nothing changed: the definition stays at version %(v)d.") % {"v": before})
    else:
        messages.success(
            request, _("Saved %(code)s, version %(v)d.") % {"code": saved.code, "v": saved.version}
        )
    return saved


def _form_page(request, study: Study, form: DefinitionForm, definition: IndicatorDefinition | None):
    can = allowed(request.user, study.organisation)
    if "edit" not in can:
        for field in form.fields.values():
            field.disabled = True
    language = (get_language() or "en")[:2]
    variables = [
        {"name": v.name, "label": v.label(language), "choices": list(v.choices), "derived": v.derived}
        for v in study_variables(study).values()
    ]
    context = {
        "study": study,
        "can": can,
        "form": form,
        "definition": definition,
        "variables": variables,
        "indicators": [(i, indicator_text(i)) for i in indicator_choices(request.user)],
        "versions": _versions(definition) if definition is not None else [],
        "expression_fields": ("universe", "numerator", "value", "denominator"),
        "saved_preview": None,
    }
    if "edit" not in can and definition is not None:
        # a read-only form posts nothing (disabled fields are not sent): the saved definition's total
        data = version_fields(definition) | {"indicator": definition.indicator}
        context["saved_preview"] = _shown(
            preview(study, data, definition=definition), definition.interval_method
        )
    return render(request, "workspace/definition_form.html", context)


def _versions(definition: IndicatorDefinition) -> list[dict]:
    """Each kept version of ``definition``, newest first, with its fields as label → text."""
    versions = list(definition.versions.select_related("saved_by"))
    if not any(v.version == definition.version for v in versions):
        # written before versions were kept (a study package's): shown as it is; kept at the next save
        current = DefinitionVersion(
            definition=definition, version=definition.version, fields=version_fields(definition)
        )
        current.saved = definition.updated
        versions.insert(0, current)
    ids = {v.fields.get("indicator_id") for v in versions}
    codes = dict(Indicator.objects.filter(pk__in=ids).values_list("pk", "code"))
    labels = {
        name: IndicatorDefinition._meta.get_field(name.removesuffix("_id")).verbose_name
        for name in VERSION_FIELDS
    }
    shown = []
    for version in versions:
        rows = []
        for name in VERSION_FIELDS:
            value = version.fields.get(name, "")
            rows.append((labels[name], _field_text(name, value, codes)))
        shown.append({"version": version, "rows": rows, "current": version.version == definition.version})
    return shown


def _field_text(name: str, value, indicator_codes: dict[int, str]) -> str:
    """A kept version's field as the page shows it: choices by their labels, codings one per line."""
    labelled = {"kind": IndicatorDefinition.Kind, "direction": Direction, "interval_method": IntervalMethod}
    if name == "indicator_id":
        return indicator_codes.get(value, str(value))
    if name in labelled and value in labelled[name].values:
        return str(labelled[name](value).label)
    if name == "dimensions":
        return "\n".join(dimension_label(spec) for spec in value or [])
    if name == "intersections":
        return "\n".join(" × ".join(combo) for combo in value or [])
    return str(value or "")


def _shown(result: Preview, method: str | None) -> dict:
    """The preview's numbers as the page shows them: proportions in percent."""
    scale = 100 if result.percent else 1
    flag = Estimate.Flag(result.flag).label if result.flag else ""

    def scaled(value):
        return None if value is None else value * scale

    return {
        "result": result,
        "estimate": scaled(result.estimate),
        "se": scaled(result.se),
        "ci_low": scaled(result.ci_low),
        "ci_high": scaled(result.ci_high),
        "flag": flag,
        "suppressed": result.flag.startswith("suppressed"),
        "interval_method": IntervalMethod(method or IntervalMethod.LOGIT).label,
        "indicator": indicator_text(result.indicator) if result.indicator is not None else "",
        "direction": Direction(result.direction).label if result.direction else "",
    }
