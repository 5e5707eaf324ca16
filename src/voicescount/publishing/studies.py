"""What the public study pages show: methodology, coverage, sample, consent, partners and results.

Only public studies (``Study.is_public``, the same rule as the JSON API's ``/api/v1/studies``) are shown to
the public; members of an organisation also see its non-public studies, marked as such (``visible_to``).
Nothing here reads a personal field or an individual answer: the sample is a count of accepted records
with consent, the design is described by the names of its variables and the number of their distinct
values, and coverage comes from the study's areas or from the codes of its published estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from voicescount.collection.models import QuarantinedRecord, Study, Submission
from voicescount.collection.sampling import design_of
from voicescount.indicators.disclosure_rule import deployment_rule, rule_for
from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition
from voicescount.publishing import selectors
from voicescount.publishing.evidence import labels


def public_studies(user=None):
    """Public studies, the most recent first; with ``user``, also their organisation's non-public ones."""
    return Study.objects.visible_to(user).select_related("organisation").order_by("-period_end", "title_en")


def public_study(slug: str, user=None) -> Study | None:
    return public_studies(user).filter(slug=slug).first()


@dataclass(frozen=True)
class StudyResult:
    """A public definition of the study, with its public run."""

    definition: IndicatorDefinition
    run: EstimateRun

    @property
    def indicator_code(self) -> str:
        return self.definition.indicator.code


@dataclass
class StudyProfile:
    study: Study
    achieved_n: int
    withdrawn: int
    held_back_for_consent: int
    design: list[str]
    disclosure: list[str]
    areas: list[str]
    regions: list[str]
    target_groups: list[str]
    child_consent: bool
    results: list[StudyResult] = field(default_factory=list)
    instruments: list[tuple[str, str]] = field(default_factory=list)

    @property
    def achieved_percent(self) -> int | None:
        """Achieved sample as a whole percentage of the planned one (None without a plan)."""
        planned = self.study.planned_sample_size
        return round(100 * self.achieved_n / planned) if planned else None


def published_results(study: Study) -> list[StudyResult]:
    """The study's public definitions with their public run (``publishing.selectors``), by indicator
    code; none while the study itself is not public (its members see it marked as not public)."""
    definitions = selectors.public_definitions(study=study).order_by("indicator__sort_key", "code")
    return [StudyResult(definition, run) for definition, run in selectors.with_published_runs(definitions)]


def _distinct_values(submissions, variable: str) -> int:
    """How many different values ``variable`` takes in the answers (any key, even with ``__`` in it)."""
    return submissions.annotate(v=KeyTextTransform(variable, "values")).values("v").distinct().count()


LONELY_PSU_SENTENCES = {
    "adjust": gettext_noop(
        "A stratum where a single cluster was sampled is compared with the mean of the whole sample "
        "(R: survey.lonely.psu = adjust)."
    ),
    "average": gettext_noop(
        "A stratum where a single cluster was sampled is given the average variance of the other strata "
        "(R: survey.lonely.psu = average)."
    ),
    "remove": gettext_noop(
        "A stratum where a single cluster was sampled adds nothing to the margins of error "
        "(R: survey.lonely.psu = remove)."
    ),
    "certainty": gettext_noop(
        "A stratum where a single cluster was sampled is treated as taken with certainty "
        "(R: survey.lonely.psu = certainty)."
    ),
    "fail": gettext_noop(
        "A stratum where a single cluster was sampled stops the computation (R: survey.lonely.psu = fail)."
    ),
}


def disclosure_in_plain_words(study: Study) -> list[str]:
    """The disclosure rule in force for ``study`` (``indicators.disclosure_rule.rule_for``), in sentences."""
    rule = rule_for(study)
    sentences = [
        _(
            "An estimate based on fewer than %(suppress)d respondents is not published, and one based on "
            "%(suppress)d to %(caution_last)d respondents is marked “interpret with caution”."
        )
        % {"suppress": rule.suppress_below, "caution_last": rule.caution_below - 1},
        _("No public number rests on fewer than %(count)d people.") % {"count": rule.min_cell_size},
    ]
    if rule.stricter_than_deployment:
        floor = deployment_rule()
        sentences.append(
            _(
                "This study applies a stricter rule than the platform's (%(suppress)d and %(caution)d "
                "respondents, %(count)d people)."
            )
            % {"suppress": floor.suppress_below, "caution": floor.caution_below, "count": floor.min_cell_size}
        )
    return sentences


def design_in_plain_words(study: Study) -> list[str]:
    """One sentence per element of the sampling design, as the estimates use it (``design_of``)."""
    design = design_of(study)
    submissions = Submission.objects.in_analysis().filter(study=study)
    sentences = []
    if design.weight:
        sentences.append(
            _(
                "Answers are weighted (variable %(variable)s) so that the sample stands for the population "
                "it was drawn from, not only for the people interviewed."
            )
            % {"variable": design.weight}
        )
    elif design.fpc:
        sentences.append(
            _(
                "Answers are weighted by the inverse of their chance of selection, worked out from the "
                "population sizes of the design (variable %(variable)s)."
            )
            % {"variable": design.fpc}
        )
    else:
        sentences.append(_("Every respondent counts the same: the study has no survey weights."))
    if design.strata:
        strata = _distinct_values(submissions, design.strata)
        sentences.append(
            ngettext(
                "The sample was drawn separately in %(count)d stratum (variable %(variable)s).",
                "The sample was drawn separately in %(count)d strata (variable %(variable)s).",
                strata,
            )
            % {"count": strata, "variable": design.strata}
        )
    if design.psu:
        clusters = _distinct_values(submissions, design.psu)
        sentences.append(
            ngettext(
                "People were interviewed in %(count)d cluster (variable %(variable)s); the margins of "
                "error allow for people of the same cluster answering alike.",
                "People were interviewed in %(count)d clusters (variable %(variable)s); the margins of "
                "error allow for people of the same cluster answering alike.",
                clusters,
            )
            % {"count": clusters, "variable": design.psu}
        )
    elif design.weight:
        sentences.append(
            _(
                "The margins of error treat the respondents as a weighted simple random sample; if they "
                "were interviewed in clusters the true uncertainty is larger."
            )
        )
    else:
        sentences.append(
            _(
                "The margins of error treat the respondents as a simple random sample; if they were "
                "interviewed in clusters the true uncertainty is larger."
            )
        )
    if design.second_stage:
        sentences.append(
            _(
                "Within each cluster a second stage of units was sampled (variable %(variable)s); its "
                "variance is added, with its finite population correction (variable %(fpc)s)."
            )
            % {"variable": design.ssu, "fpc": design.fpc2}
        )
    if design.fpc:
        sentences.append(
            _(
                "A finite population correction is applied at the first stage (variable %(variable)s): "
                "sampling a large share of the population narrows the margins of error."
            )
            % {"variable": design.fpc}
        )
    if design.strata and design.psu:
        sentences.append(_(LONELY_PSU_SENTENCES[design.lonely_psu]))
    closing = _(
        "Standard errors are computed from this design by Taylor linearisation, and every estimate is "
        "published with its %(level)s confidence interval and its number of respondents."
    ) % {"level": "95%"}
    return [*sentences, closing]


def _estimate_codes(results: list[StudyResult], code_list: str) -> set[str]:
    """Codes of ``code_list`` in one-dimension estimates of the study's published runs."""
    rows = Estimate.objects.filter(run__in=[r.run for r in results], key__startswith=f"{code_list}=").exclude(
        key__contains="|"
    )
    return {key.split("=", 1)[1] for key in rows.values_list("key", flat=True).distinct()}


def _held_back_for_consent(study: Study) -> int:
    """Records kept out of the analysis because consent (or guardian consent and assent) was missing."""
    rows = QuarantinedRecord.objects.filter(study=study, status=QuarantinedRecord.Status.OPEN)
    return sum(
        any(issue.get("code") == "consent_missing" for issue in issues or [])
        for issues in rows.values_list("issues", flat=True)
    )


def study_profile(study: Study, language: str) -> StudyProfile:
    """Everything the public page of ``study`` shows, in ``language`` ("vi" or "en")."""
    counts = dict(
        Submission.objects.filter(study=study)
        .values_list("consent_status")
        .annotate(n=Count("pk"))
        .values_list("consent_status", "n")
    )
    results = published_results(study)
    words = labels()
    areas = sorted((a.name if language == "vi" else (a.name_en or a.name)) for a in study.areas.all())
    regions = sorted(words.label("REGION", c, language) for c in _estimate_codes(results, "REGION"))
    if not areas:
        areas = sorted(words.label("AREA", c, language) for c in _estimate_codes(results, "AREA"))
    instruments = study.instruments.order_by("form_id", "version", "uploaded")
    child_consent = study.consent_procedure == Study.Consent.GUARDIAN_AND_ASSENT
    return StudyProfile(
        study=study,
        achieved_n=counts.get(Submission.ConsentStatus.GIVEN, 0),
        withdrawn=counts.get(Submission.ConsentStatus.WITHDRAWN, 0),
        held_back_for_consent=_held_back_for_consent(study),
        design=design_in_plain_words(study),
        disclosure=disclosure_in_plain_words(study),
        areas=areas,
        regions=regions,
        target_groups=[words.label("POPULATION_GROUP", code, language) for code in study.target_groups or []],
        child_consent=child_consent,
        results=results,
        instruments=[(i.title or i.form_id, i.version) for i in instruments],
    )


def achieved_counts(studies: list[Study]) -> dict[int, int]:
    """Study id → accepted records with consent (the achieved sample)."""
    return dict(
        Submission.objects.in_analysis()
        .filter(study__in=studies)
        .values_list("study")
        .annotate(n=Count("pk"))
        .values_list("study", "n")
    )
