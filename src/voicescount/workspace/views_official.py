"""Official series in the workspace (part "official"): upload a file, map its codes onto ours, import.

Three steps, for those who may ``EDIT`` on the organisation (others with a role there: 403; anyone else:
404, see ``workspace.access``): the upload (a file, who published it, and a saved mapping or none), the
mapping step (``indicators.official_mapping.inspect_file`` shows each series, area and code with a
suggestion; "Check" shows the file again with the entries given, "Import" imports), and the report. The
uploaded file waits between the steps in the user's session (files up to 5 MB; nothing is written to
disk); a larger file is refused with the command to use instead. The import and the saving of the
mapping go through ``official_mapping.import_mapped``, as ``voicescount official --mapping`` does.
"""

from __future__ import annotations

import base64
import copy

import yaml
from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Min
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from voicescount.accounts.permissions import Action
from voicescount.collection.models import AuditEntry
from voicescount.framework.models import GLOBAL, Code, Indicator
from voicescount.geography.models import Area
from voicescount.indicators.models import OfficialMapping, OfficialObservation
from voicescount.indicators.official import UNITS
from voicescount.indicators.official_mapping import (
    MappingError,
    check_mapping,
    import_mapped,
    inspect_file,
    mapping_as_csv,
)
from voicescount.indicators.official_readers import FORMATS, OfficialDataError, code_lists
from voicescount.workspace.access import allowed, organisation_for

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_KEY = "official_upload"
REPORT_KEY = "official_report"
#: Kinds of entries in the mapping step's form: ``<kind>|<published>`` (``code|<list>|<published>``).
KINDS = {"series": "series", "area": "areas", "unit": "units", "column": "columns"}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("SDMX-ML, SDMX-CSV, Open SDG CSV or UN SDG API JSON; up to 5 MB."),
    )
    fmt = forms.ChoiceField(label=gettext_lazy("Format"), initial="auto")
    source = forms.CharField(
        label=gettext_lazy("Published by"),
        max_length=500,
        help_text=gettext_lazy("Who published these figures; shown beside them."),
    )
    source_url = forms.URLField(
        label=gettext_lazy("Address where they were published"), required=False, assume_scheme="https"
    )
    saved = forms.ChoiceField(label=gettext_lazy("Saved mapping"), required=False)

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["fmt"].choices = [("auto", _("Recognise it from the file")), *((f, f) for f in FORMATS)]
        saved = OfficialMapping.objects.filter(organisation=organisation)
        self.fields["saved"].choices = [
            ("", _("None: map the file now")),
            *((str(m.pk), m.name) for m in saved),
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _(
                    "The file is %(size).1f MB; files over 5 MB cannot be mapped in the browser. Import it "
                    "with the command line: voicescount official FILE --mapping MAPPING.yaml"
                )
                % {"size": upload.size / 1024 / 1024}
            )
        return upload


def _latest_series():
    """The official series stored, newest first: indicator, series, publisher, rows, periods."""
    return (
        OfficialObservation.objects.values("indicator__code", "series", "source")
        .annotate(rows=Count("pk"), first=Min("period"), last=Max("period"), newest=Max("pk"))
        .order_by("-newest")[:15]
    )


def _latest_imports(organisation):
    return AuditEntry.objects.filter(organisation=organisation, action="official_imported").select_related(
        "actor"
    )[:10]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def official(request, org: str):
    organisation = organisation_for(request.user, org, Action.EDIT)
    form = UploadForm(request.POST or None, request.FILES or None, organisation=organisation)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        saved = _saved(organisation, form.cleaned_data["saved"]) if form.cleaned_data["saved"] else None
        mapping = saved.mapping if saved else {}
        then_import = request.POST.get("then") == "import"
        if then_import and saved is None:
            form.add_error("saved", _("Choose the saved mapping to import the file with."))
        else:
            try:
                contents = inspect_file(upload.name, data, form.cleaned_data["fmt"], mapping=mapping)
            except OfficialDataError as exc:
                form.add_error("file", str(exc))
            else:
                request.session[UPLOAD_KEY] = {
                    "organisation": organisation.pk,
                    "name": upload.name,
                    "data": base64.b64encode(data).decode("ascii"),
                    "fmt": contents.fmt,
                    "source": form.cleaned_data["source"],
                    "source_url": form.cleaned_data["source_url"],
                    "saved": saved.pk if saved else None,
                }
                if not then_import:
                    return redirect("workspace:official-map", org=organisation.slug)
                try:
                    return _import(request, organisation, mapping, mapping_name=saved.name)
                except (MappingError, OfficialDataError) as exc:  # e.g. a unit the mapping does not cover
                    form.add_error(
                        None,
                        _(
                            "The saved mapping cannot import this file as it is (%(error)s); "
                            "continue to the mapping."
                        )
                        % {"error": exc},
                    )
    context = {
        "organisation": organisation,
        "can": allowed(request.user, organisation),
        "form": form,
        "mappings": _with_entries(OfficialMapping.objects.filter(organisation=organisation)),
        "imports": _latest_imports(organisation),
        "series": _latest_series(),
    }
    return render(request, "workspace/official.html", context)


def _with_entries(mappings) -> list[OfficialMapping]:
    """The mappings, each with ``entries``: how many codes (and single values) it maps."""
    mappings = list(mappings.select_related("created_by"))
    for saved in mappings:
        saved.entries = 0
        for key, entry in saved.mapping.items():
            if key == "codes":
                saved.entries += sum(len(values) for values in entry.values())
            else:
                saved.entries += len(entry) if isinstance(entry, dict) else 1
    return mappings


def _saved(organisation, pk) -> OfficialMapping:
    return get_object_or_404(OfficialMapping, pk=pk, organisation=organisation)


def _upload(request, organisation) -> dict | None:
    upload = request.session.get(UPLOAD_KEY)
    return upload if upload and upload.get("organisation") == organisation.pk else None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def official_map(request, org: str):
    organisation = organisation_for(request.user, org, Action.EDIT)
    upload = _upload(request, organisation)
    if upload is None:
        return redirect("workspace:official", org=organisation.slug)
    saved = _saved(organisation, upload["saved"]) if upload["saved"] else None
    mapping = copy.deepcopy(saved.mapping) if saved else {}
    problems: list[str] = []
    save_as = saved.name if saved else ""
    if request.method == "POST":
        mapping = mapping_from_form(request.POST, mapping)
        save_as = request.POST.get("save_as", "").strip()
        if request.POST.get("then") == "import":
            try:
                return _import(request, organisation, mapping, save_as=save_as)
            except MappingError as exc:
                problems = exc.problems
            except OfficialDataError as exc:
                problems = [str(exc)]
        else:
            try:
                check_mapping(mapping)
            except MappingError as exc:
                problems = exc.problems
    data = base64.b64decode(upload["data"])
    contents = inspect_file(upload["name"], data, upload["fmt"], mapping=mapping, organisation=organisation)
    lists = code_lists()
    context = {
        "organisation": organisation,
        "can": allowed(request.user, organisation),
        "upload": upload,
        "contents": contents,
        "saved": saved,
        "save_as": save_as,
        "problems": problems,
        "code_rows": [(found, _options(found.code_list)) for found in contents.codes],
        "list_names": sorted(lists),
        "units": sorted(set(UNITS.values())),
        "indicators": Indicator.objects.filter(framework__code=GLOBAL).order_by("sort_key"),
        "areas": Area.objects.filter(level__in=[Area.Level.COUNTRY, Area.Level.PROVINCE]).order_by(
            "country_code", "level", "code"
        ),
    }
    return render(request, "workspace/official_map.html", context)


def _options(code_list: str) -> list[tuple[str, str]]:
    """The codes of ``code_list`` with their label in the active language, for a select."""
    vietnamese = (get_language() or "").startswith("vi")
    codes = Code.objects.filter(code_list__code=code_list).order_by("order", "code")
    return [(code.code, (vietnamese and code.name_vi) or code.name_en) for code in codes]


def mapping_from_form(post, base: dict) -> dict:
    """The mapping the form gives: ``base`` (a saved mapping) with each entry of the form set or removed."""
    mapping = copy.deepcopy(base)
    for key, value in post.items():
        kind, _sep, rest = key.partition("|")
        value = value.strip()
        if kind == "code":
            code_list, _sep, published = rest.partition("|")
            entries = mapping.setdefault("codes", {}).setdefault(code_list, {})
        elif kind in KINDS:
            published = rest
            entries = mapping.setdefault(KINDS[kind], {})
        else:
            continue
        if value:
            entries[published] = value
        else:
            entries.pop(published, None)
    return mapping


def _import(request, organisation, mapping: dict, *, save_as: str = "", mapping_name: str = ""):
    upload = request.session[UPLOAD_KEY]
    summary = import_mapped(
        base64.b64decode(upload["data"]),
        upload["fmt"],
        mapping=mapping,
        source=upload["source"],
        source_url=upload["source_url"],
        name=upload["name"],
        organisation=organisation,
        user=request.user,
        save_as=save_as,
        mapping_name=mapping_name,
    )
    request.session.pop(UPLOAD_KEY, None)
    request.session[REPORT_KEY] = {
        "organisation": organisation.pk,
        "file": upload["name"],
        "rows": summary.created + summary.updated,
        "created": summary.created,
        "updated": summary.updated,
        "skipped": summary.skipped[:1000],
        "more_skipped": max(0, len(summary.skipped) - 1000),
        "mapping": save_as or mapping_name,
    }
    return redirect("workspace:official-report", org=organisation.slug)


@login_required
@require_safe
def official_report(request, org: str):
    organisation = organisation_for(request.user, org, Action.EDIT)
    report = request.session.get(REPORT_KEY)
    if not report or report.get("organisation") != organisation.pk:
        return redirect("workspace:official", org=organisation.slug)
    context = {"organisation": organisation, "can": allowed(request.user, organisation), "report": report}
    return render(request, "workspace/official_report.html", context)


@login_required
@require_safe
def official_mapping_file(request, org: str, pk: int, kind: str):
    """A saved mapping as the file ``voicescount official --mapping`` reads (``.yaml`` or ``.csv``)."""
    organisation = organisation_for(request.user, org, Action.EDIT)
    saved = _saved(organisation, pk)
    if kind not in ("csv", "yaml"):
        raise Http404(_("A mapping file is .yaml or .csv."))
    if kind == "csv":
        body, content_type = mapping_as_csv(saved.mapping), "text/csv; charset=utf-8"
    else:
        body = yaml.safe_dump(saved.mapping, allow_unicode=True, sort_keys=True)
        content_type = "application/yaml; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="mapping-{saved.pk}.{kind}"'
    return response
