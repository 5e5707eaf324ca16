"""What the public sees: THE publication rule, in one place.

Every public page, open-data export, JSON API answer and the static site reads the public estimates
through this module; none restates the rule.

The rule.

* A **public study** is one with ``Study.is_public`` set.
* A **public definition** is an ``IndicatorDefinition`` with ``is_public`` set, of a public study.
* A public definition's **public run** is its latest published run: of its runs with ``published`` set,
  the one published last (ties: the later started, then the higher id). A definition without a
  published run shows nothing.
* A run without ``published`` is a **draft**: computing (``indicators.compute_jobs``, ``voicescount
  compute``) makes drafts and never changes what the public sees. Only a coordinator publishing a run
  (``indicators.publication.publish``: it becomes the public run, its definition public) or unpublishing
  a definition (``indicators.publication.unpublish``: the definition is no longer public, its runs keep
  the date they were published) does; both renew the pages' publication stamp (``page_cache``).
* A run **reachable by its number** (``/indicators/<code>/runs/<id>/``, its downloads) is any published
  run of a public definition: a file downloaded or a figure cited before a newer run was published still
  names its run. The pages and the API list only the public run; a draft is never reachable.

Reviewers and members see drafts in the workspace (``workspace.views_results``), never through here.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import OuterRef, Q, QuerySet, Subquery

from voicescount.collection.models import Study
from voicescount.framework.models import Indicator
from voicescount.indicators.models import EstimateRun, IndicatorDefinition

#: The order of a definition's published runs, the public one first.
PUBLISHED_ORDER = ("-published", "-started", "-pk")

#: A public definition, as a filter on ``IndicatorDefinition``.
PUBLIC_DEFINITION = Q(is_public=True, study__is_public=True)


def public_studies() -> QuerySet[Study]:
    """The public studies (anyone may see them)."""
    return Study.objects.filter(is_public=True)


def public_definitions(
    indicator: Indicator | None = None, *, study: Study | None = None
) -> QuerySet[IndicatorDefinition]:
    """The public definitions (of ``indicator``, of ``study``), oldest study first, then by code; with
    their study, its organisation and their indicator. Some may have no published run yet."""
    definitions = IndicatorDefinition.objects.filter(PUBLIC_DEFINITION)
    if indicator is not None:
        definitions = definitions.filter(indicator=indicator)
    if study is not None:
        definitions = definitions.filter(study=study)
    return definitions.select_related("study", "study__organisation", "indicator").order_by(
        "study__period_start", "code"
    )


def published_definitions() -> QuerySet[IndicatorDefinition]:
    """The public definitions that have a public run (what the goal pages count as community data)."""
    return IndicatorDefinition.objects.filter(PUBLIC_DEFINITION, runs__published__isnull=False).distinct()


def with_last_published_run_id(definitions: QuerySet[IndicatorDefinition]) -> QuerySet[IndicatorDefinition]:
    """``definitions`` annotated with ``last_published_run_id``: the id of the run that is each one's
    public run whenever it and its study are public (:func:`last_published_run`), in the same query."""
    runs = EstimateRun.objects.filter(definition=OuterRef("pk"), published__isnull=False)
    return definitions.annotate(
        last_published_run_id=Subquery(runs.order_by(*PUBLISHED_ORDER).values("pk")[:1])
    )


def published_runs(definitions: QuerySet[IndicatorDefinition] | None = None) -> QuerySet[EstimateRun]:
    """The public run of every public definition (of ``definitions``, a queryset, when given): one
    query, whatever their number. Callers add their filters, ``select_related`` and order."""
    chosen = IndicatorDefinition.objects.filter(PUBLIC_DEFINITION)
    if definitions is not None:
        chosen = chosen.filter(pk__in=definitions.values("pk"))
    ids = with_last_published_run_id(chosen).filter(last_published_run_id__isnull=False)
    return EstimateRun.objects.filter(pk__in=ids.values("last_published_run_id"))


def published_run(definition: IndicatorDefinition) -> EstimateRun | None:
    """``definition``'s public run; None if the definition or its study is not public or nothing of it
    has been published."""
    if not (definition.is_public and definition.study.is_public):
        return None
    return last_published_run(definition)


def last_published_run(definition: IndicatorDefinition) -> EstimateRun | None:
    """The run that is ``definition``'s public run whenever the definition and its study are public (the
    workspace shows it, with whether the public sees it; the audit names it when it is unpublished)."""
    return definition.runs.filter(published__isnull=False).order_by(*PUBLISHED_ORDER).first()


def with_published_runs(
    definitions: Iterable[IndicatorDefinition],
) -> list[tuple[IndicatorDefinition, EstimateRun]]:
    """Each of ``definitions`` that has a public run, with it, in the given order (two queries: the
    definitions, and their runs with their estimates left for later)."""
    definitions = list(definitions)
    runs = {
        run.definition_id: run
        for run in published_runs(IndicatorDefinition.objects.filter(pk__in=[d.pk for d in definitions]))
    }
    out = []
    for definition in definitions:
        run = runs.get(definition.pk)
        if run is not None:
            run.definition = definition  # the caller's, with what it selected
            out.append((definition, run))
    return out


def public_run_by_id(run_id: int, **filters) -> EstimateRun | None:
    """The run numbered ``run_id`` if it is reachable by its number (a published run of a public
    definition; see the module docstring), narrowed by ``filters`` (``definition__indicator=…``); with
    its definition, study and indicator."""
    return (
        EstimateRun.objects.filter(
            pk=run_id,
            published__isnull=False,
            definition__is_public=True,
            definition__study__is_public=True,
            **filters,
        )
        .select_related("definition", "definition__study", "definition__indicator")
        .first()
    )
