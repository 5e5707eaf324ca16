"""The form of an indicator definition: its fields as a person writes them, turned into the mapping the
definition service checks and saves (``indicators.definition_service``).

The rules are the service's: the form only parses what the browser sends (the dimensions ticked, the
intersections written one per line) and puts the service's errors beside their fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from voicescount.collection.models import Study
from voicescount.framework.models import Direction
from voicescount.indicators.definition_inputs import dimension_choices, find_indicator, indicator_key
from voicescount.indicators.definition_service import COMPUTED_FIELDS, EXPRESSION_FIELDS
from voicescount.indicators.models import IndicatorDefinition, IntervalMethod

#: The form's fields in the order the page shows them (``indicator`` holds the indicator's key as typed).
FIELDS = (
    "indicator",
    "code",
    "title_en",
    "title_vi",
    "kind",
    "universe",
    "numerator",
    "value",
    "denominator",
    "unit",
    "direction",
    "interval_method",
    "dimensions",
    "more_dimensions",
    "intersections",
    "reference_period",
    "notes_en",
    "notes_vi",
)
#: Fields whose errors the live preview shows as the definition is typed (the others wait for saving).
PREVIEW_FIELDS = (*COMPUTED_FIELDS, "more_dimensions")
_SPLIT = re.compile(r"[\s,×*]+")


def dimension_value(spec: dict[str, Any]) -> str:
    """A dimension's coding as the value of its checkbox (its JSON, keys sorted)."""
    return json.dumps(spec, sort_keys=True, ensure_ascii=False)


def dimension_label(spec: dict[str, Any]) -> str:
    """``SEX · sex: female → F, male → M``: the code list, the source and how answers are coded."""
    if "bins" in spec:
        coding = ", ".join(f"{low}–{high} → {code}" for low, high, code in spec["bins"])
    elif "codes" in spec:
        coding = ", ".join(f"{answer} → {code}" for answer, code in spec["codes"].items())
    else:
        coding = _("answers as they are")
    return f"{spec['code_list']} · {spec['source']}: {coding}"


def indicator_text(indicator) -> str:
    """The indicator as the indicator field shows it: its key, then its title in the current language."""
    title = (
        indicator.title_vi
        if (get_language() or "")[:2] == "vi" and indicator.title_vi
        else indicator.title_en
    )
    return f"{indicator_key(indicator)} — {title}"


class DefinitionForm(forms.Form):
    indicator = forms.CharField(
        label=gettext_lazy("Indicator"),
        help_text=gettext_lazy("Type the indicator's code or words of its title, then choose it."),
        widget=forms.TextInput(attrs={"list": "indicator-list", "autocomplete": "off"}),
    )
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=80,
        help_text=gettext_lazy("Short, unique within the study: lower-case letters, digits, hyphens."),
    )
    title_en = forms.CharField(label=gettext_lazy("Title (English)"), max_length=400)
    title_vi = forms.CharField(label=gettext_lazy("Title (Vietnamese)"), max_length=400, required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=IndicatorDefinition.Kind.choices)
    universe = forms.CharField(
        label=gettext_lazy("Universe: who is asked"),
        required=False,
        help_text=gettext_lazy("Blank: everyone in analysis. Example: age >= 15 and age <= 24"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    numerator = forms.CharField(
        label=gettext_lazy("Numerator: what counts (proportion)"),
        required=False,
        help_text=gettext_lazy("Example: has_account == 'yes'"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    value = forms.CharField(
        label=gettext_lazy("Value (mean, total, ratio)"),
        required=False,
        help_text=gettext_lazy("Example: monthly_earnings * 1000 / (hours_week * 4.33)"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    denominator = forms.CharField(
        label=gettext_lazy("Denominator (ratio)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    unit = forms.CharField(
        label=gettext_lazy("Unit"), max_length=50, initial="PT", help_text=gettext_lazy("PT: a percentage.")
    )
    direction = forms.ChoiceField(label=gettext_lazy("Direction"), required=False)
    interval_method = forms.ChoiceField(
        label=gettext_lazy("Interval method"),
        choices=IntervalMethod.choices,
        initial=IntervalMethod.LOGIT,
        help_text=gettext_lazy("How a proportion's 95% confidence interval is computed."),
    )
    dimensions = forms.MultipleChoiceField(
        label=gettext_lazy("Dimensions"), required=False, widget=forms.CheckboxSelectMultiple
    )
    more_dimensions = forms.CharField(
        label=gettext_lazy("Another coding (JSON)"),
        required=False,
        help_text=gettext_lazy(
            'Example: {"code_list": "SEX", "source": "sex", "codes": {"female": "F", "male": "M"}}'
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    intersections = forms.CharField(
        label=gettext_lazy("Intersections"),
        required=False,
        help_text=gettext_lazy(
            "One per line, code lists separated by spaces, e.g. SEX AGE. Blank: each dimension alone."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    reference_period = forms.CharField(label=gettext_lazy("Reference period"), max_length=20, required=False)
    notes_en = forms.CharField(
        label=gettext_lazy("Notes (English)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    notes_vi = forms.CharField(
        label=gettext_lazy("Notes (Vietnamese)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, study: Study, definition: IndicatorDefinition | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.study = study
        self.definition = definition
        specs = dimension_choices(study)
        if definition is not None:
            specs += [s for s in definition.dimensions if s not in specs]
        self.fields["dimensions"].choices = [(dimension_value(s), dimension_label(s)) for s in specs]
        own = definition.indicator if definition is not None else None
        if self.is_bound:
            own = find_indicator(str(self.data.get("indicator", ""))) or own
        blank = (
            _("Blank: the indicator's (%(direction)s)") % {"direction": Direction(own.direction).label}
            if own is not None and own.direction
            else _("Blank: the indicator's")
        )
        self.fields["direction"].choices = [("", blank), *Direction.choices]
        if definition is not None:
            self.fields["code"].disabled = True  # its runs and pages use it
            self.fields["code"].initial = definition.code
        for name in EXPRESSION_FIELDS:
            attrs = self.fields[name].widget.attrs
            attrs.update({"data-names": "expression-names", "spellcheck": "false", "autocomplete": "off"})
            attrs["aria-describedby"] = f"id_{name}_helptext errors-{name}"

    @classmethod
    def initial_of(cls, definition: IndicatorDefinition) -> dict[str, Any]:
        """The form's initial values from a saved definition."""
        initial: dict[str, Any] = {
            name: getattr(definition, name) for name in FIELDS if hasattr(definition, name)
        }
        initial["indicator"] = indicator_text(definition.indicator)
        initial["dimensions"] = [dimension_value(s) for s in definition.dimensions]
        initial["more_dimensions"] = ""
        initial["intersections"] = "\n".join(" ".join(combo) for combo in definition.intersections)
        return initial

    def service_data(self) -> dict[str, Any]:
        """What the service checks: the cleaned fields, the dimensions as codings, the intersections as
        lists (call after ``is_valid``; a coding that is not JSON is an error of ``more_dimensions``)."""
        data = dict(self.cleaned_data)
        if self.definition is not None:
            data["code"] = self.definition.code
        dimensions = [json.loads(v) for v in data.pop("dimensions", [])]
        more = (data.pop("more_dimensions", "") or "").strip()
        if more:
            try:
                extra = json.loads(more)
            except json.JSONDecodeError as exc:
                self.add_error("more_dimensions", _("Not JSON: %(reason)s.") % {"reason": exc.msg})
                extra = []
            dimensions += extra if isinstance(extra, list) else [extra]
        data["dimensions"] = dimensions
        lines = (data.get("intersections") or "").splitlines()
        data["intersections"] = [
            [p for p in _SPLIT.split(line.strip()) if p] for line in lines if line.strip()
        ]
        return data

    def add_service_errors(self, errors: dict[str, list[str]], only: tuple[str, ...] | None = None) -> None:
        """Put the service's errors beside their fields (``only``: just those fields')."""
        for field, messages in errors.items():
            if only is not None and field not in only:
                continue
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
