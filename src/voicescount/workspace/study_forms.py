"""The guided form of a study and its methodology: sections in plain language, both languages side by side.

The form gathers and shapes the input (provinces of the organisation's country, population groups in the
page's language, the questions of the study's forms for the design); the rules themselves live in
``collection.study_service`` (period order, design variables, who may publish) and in the model
(disclosure thresholds only stricter: ``Study.clean``), and their errors are shown on the field.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from voicescount.collection import study_service
from voicescount.collection.models import Study
from voicescount.framework.selectors import code_list
from voicescount.geography.collation import place_key, split_place_name
from voicescount.geography.models import Area
from voicescount.geography.selectors import provinces_on
from voicescount.indicators.disclosure_rule import deployment_rule

TOTAL_CODE = "_T"  # the code list's "Total": not a group a study sets out to reach

LANGUAGE_PAIRS = (
    ("title_vi", "title_en"),
    ("summary_vi", "summary_en"),
    ("sampling_description_vi", "sampling_description_en"),
    ("consent_notes_vi", "consent_notes_en"),
)

SECTIONS = (
    (
        "study",
        _("The study"),
        _("Its title and summary in both languages, as the public page will show them."),
        (("title_vi", "title_en"), ("summary_vi", "summary_en"), ("slug",), ("method",), ("partners",)),
    ),
    (
        "where",
        _("When and where"),
        _("The days of field work and the provinces where people are interviewed."),
        (("period_start", "period_end"), ("areas",)),
    ),
    (
        "who",
        _("Who is heard"),
        _("The groups of people the study sets out to hear, and how many people in all."),
        (("target_groups",), ("planned_sample_size",)),
    ),
    (
        "design",
        _("Sampling design"),
        _(
            "How the respondents were chosen. Estimates and their margins of error follow this design. "
            "Each variable is the name of a question of the study's form; leave it blank when the design "
            "has no such part, and ask your statistician when unsure."
        ),
        (
            ("sampling_description_vi", "sampling_description_en"),
            ("weight_variable", "strata_variable"),
            ("psu_variable", "fpc_variable"),
            ("ssu_variable", "fpc2_variable"),
            ("lonely_psu",),
        ),
    ),
    (
        "consent",
        _("Consent"),
        _("How people agree to take part, and what they are told."),
        (("consent_procedure",), ("consent_notes_vi", "consent_notes_en")),
    ),
    (
        "disclosure",
        _("Protecting small groups"),
        _(
            "Numbers about a few people can identify them. This deployment's rules apply to every study; "
            "a study may make them stricter (larger numbers), never looser."
        ),
        (("min_cell_size",), ("suppress_below",), ("caution_below",)),
    ),
    (
        "publishing",
        _("Stage and public site"),
        "",
        (("status",), ("is_public",)),
    ),
)


@dataclass(frozen=True)
class AreaOption:
    """One checkbox of the province picker."""

    code: str
    name: str
    name_en: str
    checked: bool
    former: bool  # no longer a province today (kept because the study names it)

    @property
    def kind(self) -> str:
        """'Tỉnh' or 'Thành phố' (shown quietly: the list is in the order of what follows)."""
        return split_place_name(self.name)[0]

    @property
    def short_name(self) -> str:
        return split_place_name(self.name)[1]

    @property
    def other_name(self) -> str:
        """The English name when it says more than the Vietnamese one ("Đà Nẵng City"), else ""."""
        return self.name_en if self.name_en and self.name_en != self.short_name else ""

    @property
    def search(self) -> str:
        """What the filter box matches: the name without 'Tỉnh'/'Thành phố', and the English name."""
        return f"{self.short_name} {self.name_en}".strip()


class AreaPickerField(forms.MultipleChoiceField):
    """Areas by code; cleans to the ``geography.Area`` objects offered."""

    def __init__(self, *args, areas: list[Area] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_areas(areas or [])

    def set_areas(self, areas: list[Area]) -> None:
        self.areas = {area.code: area for area in areas}
        self.choices = [(area.code, area.name) for area in areas]

    def clean(self, value):
        return [self.areas[code] for code in super().clean(value)]


class StudyForm(forms.ModelForm):
    slug = forms.SlugField(
        label=_("Short name in the address"),
        required=False,
        max_length=study_service.SLUG_LENGTH,
        help_text=_(
            "Letters, digits and hyphens, e.g. youth-voices-2026. Leave it blank to make it from the "
            "English title. It cannot be changed later."
        ),
    )
    areas = AreaPickerField(label=_("Provinces"), required=False)
    target_groups = forms.MultipleChoiceField(
        label=_("Groups the study sets out to hear"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Results can be broken down by these groups."),
    )

    class Meta:
        model = Study
        fields = ["slug", *study_service.EDITABLE_FIELDS]
        labels = {
            "title_vi": _("Title in Vietnamese"),
            "title_en": _("Title in English"),
            "summary_vi": _("Summary in Vietnamese"),
            "summary_en": _("Summary in English"),
            "method": _("Method"),
            "partners": _("Partners"),
            "period_start": _("Data collection starts"),
            "period_end": _("Data collection ends"),
            "planned_sample_size": _("Planned number of respondents"),
            "sampling_description_vi": _("How the sample was drawn, in Vietnamese"),
            "sampling_description_en": _("How the sample was drawn, in English"),
            "weight_variable": _("Weight"),
            "strata_variable": _("Stratum"),
            "psu_variable": _("Cluster (first-stage unit)"),
            "fpc_variable": _("Population correction, first stage"),
            "ssu_variable": _("Second-stage unit"),
            "fpc2_variable": _("Population correction, second stage"),
            "lonely_psu": _("A stratum with a single cluster"),
            "consent_procedure": _("How consent is asked"),
            "consent_notes_vi": _("Consent procedure in Vietnamese"),
            "consent_notes_en": _("Consent procedure in English"),
            "min_cell_size": _("Smallest public count"),
            "suppress_below": _("Hide estimates on fewer respondents than"),
            "caution_below": _("Mark estimates on fewer respondents than"),
            "status": _("Stage"),
            "is_public": _("Show the study on the public site"),
        }
        help_texts = {
            "title_vi": _("As the public page shows it in Vietnamese."),
            "title_en": _("Required. As the public page shows it in English."),
            "summary_vi": _("What the study asks, of whom and where, in two or three sentences."),
            "summary_en": _("What the study asks, of whom and where, in two or three sentences."),
            "method": _("How the data are collected."),
            "partners": _("The organisations taking part, and what each does."),
            "period_start": _("The first day of field work."),
            "period_end": _("The last day of field work; not before the first."),
            "planned_sample_size": _("How many people the study plans to interview."),
            "sampling_description_vi": _(
                "In plain words: who could be chosen, in which places, how many, which groups were given "
                "a larger sample, how the weights were made."
            ),
            "sampling_description_en": _(
                "In plain words: who could be chosen, in which places, how many, which groups were given "
                "a larger sample, how the weights were made."
            ),
            "weight_variable": _(
                "The question holding each respondent's sampling weight: how many people he or she stands "
                "for. Blank: every respondent counts the same."
            ),
            "strata_variable": _(
                "The question holding the stratum: the parts of the population sampled separately, e.g. "
                "region by urban and rural. Blank: no strata."
            ),
            "psu_variable": _(
                "The question holding the unit drawn first, e.g. the commune; people in one commune are "
                "alike, which widens the margin of error. Blank: people were drawn one by one."
            ),
            "fpc_variable": _(
                "For each respondent, the number of clusters in the stratum's population (values of 1 or "
                "more) or the share of them that was drawn (values above 0 and at most 1). Blank: a large "
                "population, no correction."
            ),
            "ssu_variable": _(
                "The unit drawn within each cluster, e.g. the household. It counts only with a cluster and "
                "both population corrections."
            ),
            "fpc2_variable": _(
                "The number of second-stage units in the cluster's population, or the share of them drawn."
            ),
            "lonely_psu": _(
                "When only one cluster of a stratum was visited, its variance cannot be measured: choose "
                "what it contributes (R's survey.lonely.psu)."
            ),
            "consent_procedure": _(
                "Who agrees before an interview. With guardian consent and child assent, the form records "
                "the age, the guardian's consent and the child's own assent (set on the Forms page)."
            ),
            "consent_notes_vi": _(
                "What people are told, who records their agreement, how personal data are kept and when "
                "they are deleted."
            ),
            "consent_notes_en": _(
                "What people are told, who records their agreement, how personal data are kept and when "
                "they are deleted."
            ),
            "status": _("Where the study stands; published studies can be shown on the public site."),
            "is_public": _("The study's page and its published results can be seen by anyone."),
        }
        widgets = {
            "title_vi": forms.TextInput(attrs={"lang": "vi"}),
            "title_en": forms.TextInput(attrs={"lang": "en"}),
            "period_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "period_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "method": forms.Select,
            "lonely_psu": forms.RadioSelect,
            "consent_procedure": forms.RadioSelect,
            "partners": forms.Textarea(attrs={"rows": 2}),
            **{
                name: forms.Textarea(attrs={"rows": 4, "lang": name[-2:]})
                for pair in LANGUAGE_PAIRS[1:]
                for name in pair
            },
        }

    def __init__(self, *args, organisation, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.creating = self.instance.pk is None
        self.country_code = organisation.coalition.country_code
        self.questions = study_service.question_names(None if self.creating else self.instance)
        if not self.creating:
            del self.fields["slug"]
        consent = self.fields["consent_procedure"]
        consent.choices = [(value, label) for value, label in consent.choices if value]  # radios: no "------"
        self._offer_publishing(user)
        self._offer_areas()
        self._offer_groups()
        self._offer_design()
        self._offer_disclosure()

    # --- what is offered ---------------------------------------------------------------------------

    def _offer_publishing(self, user) -> None:
        if study_service.may_publish(user, self.organisation):
            return
        del self.fields["is_public"]
        published = Study.Status.PUBLISHED
        status = self.fields["status"]
        if self.instance.status == published:
            status.disabled = True
        else:
            status.choices = [(v, label) for v, label in status.choices if v != published]
        status.help_text = _("Only the organisation's coordinators mark a study published or make it public.")

    def _offer_areas(self) -> None:
        current = list(provinces_on(self.country_code, timezone.localdate()))
        chosen = list(self.instance.areas.all()) if not self.creating else []
        extra = [area for area in chosen if area.pk not in {a.pk for a in current}]
        self.former_codes = {area.code for area in extra}
        self.fields["areas"].set_areas(sorted(current, key=lambda a: place_key(a.name)) + extra)
        if not self.creating:
            self.initial["areas"] = [area.code for area in chosen]
        country = Area.objects.filter(country_code=self.country_code, level=Area.Level.COUNTRY).first()
        self.country_name = (country.name if get_language() == "vi" else country.name_en) if country else ""
        self.fields["areas"].help_text = _(
            "Tick the provinces where people are interviewed (%(country)s, as its provinces are today). "
            "Leave them all unticked for a study not tied to provinces."
        ) % {"country": self.country_name or self.country_code}

    def _offer_groups(self) -> None:
        vietnamese = get_language() == "vi"
        choices = [
            (code.code, (code.name_vi or code.name_en) if vietnamese else code.name_en)
            for code in code_list(study_service.POPULATION_GROUP)
            if code.code != TOTAL_CODE
        ]
        known = {value for value, _label in choices}
        # A code the list no longer has stays offered (and ticked), so that saving does not drop it.
        choices += [(code, code) for code in (self.instance.target_groups or []) if code not in known]
        self.fields["target_groups"].choices = choices

    def _offer_design(self) -> None:
        for name in study_service.DESIGN_VARIABLES:
            widget = self.fields[name].widget
            widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
            if self.questions:
                widget.attrs["list"] = "study-questions"

    def _offer_disclosure(self) -> None:
        floor = deployment_rule()
        texts = {
            "min_cell_size": _("No number on the public site rests on fewer people."),
            "suppress_below": _("Estimates resting on fewer respondents are not published."),
            "caution_below": _("Estimates resting on fewer respondents are marked “interpret with caution”."),
        }
        for name, text in texts.items():
            field = self.fields[name]
            minimum = getattr(floor, name)
            field.widget.attrs.update({"min": minimum, "placeholder": minimum, "inputmode": "numeric"})
            rule = _("Blank: this deployment's %(n)d. You may set a larger number, never a smaller one.")
            field.help_text = f"{text} {rule % {'n': minimum}}"

    # --- checks and output ---------------------------------------------------------------------------

    def clean_target_groups(self) -> list[str]:
        """The ticked groups in the code list's order, whatever order they were sent in."""
        ticked = set(self.cleaned_data["target_groups"])
        return [value for value, _label in self.fields["target_groups"].choices if value in ticked]

    def clean(self):
        cleaned = super().clean()
        for check in (
            lambda: study_service.check_period(cleaned.get("period_start"), cleaned.get("period_end")),
            lambda: study_service.check_design_variables(None if self.creating else self.instance, cleaned),
        ):
            try:
                check()
            except ValidationError as error:
                self.add_service_error(error)
        return cleaned

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's ``ValidationError`` on the fields it names (on the form for others)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)

    def study_data(self) -> dict:
        """The cleaned input as ``study_service`` takes it (only the fields this form offers)."""
        return {name: value for name, value in self.cleaned_data.items() if not self.fields[name].disabled}

    def sections(self) -> list[dict]:
        """The sections to show, each with its rows of bound fields (a pair shown side by side)."""
        shown = []
        for key, title, intro, rows in SECTIONS:
            bound = [[self[name] for name in row if name in self.fields] for row in rows]
            bound = [row for row in bound if row]
            if bound:
                shown.append({"key": key, "title": title, "intro": intro, "rows": bound})
        return shown

    def area_options(self) -> list[AreaOption]:
        """The province picker's checkboxes, in the order offered, ticked as submitted or stored."""
        field = self["areas"]
        ticked = set(field.value() or [])
        return [
            AreaOption(
                area.code, area.name, area.name_en, area.code in ticked, area.code in self.former_codes
            )
            for area in self.fields["areas"].areas.values()
        ]
