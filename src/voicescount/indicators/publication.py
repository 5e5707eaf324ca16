"""Publishing a definition's run, and taking a definition off the public site: what a coordinator does
after reviewing the drafts a computation made.

``publish(run, by)`` makes ``run`` its definition's public run (``published`` now, ``published_by``) and
the definition public; ``unpublish(definition, by)`` makes the definition not public again (its runs keep
the date they were published, for the record). Both need ``Action.PUBLISH`` on the study's organisation
(coordinators), write an audit entry (``run_published`` / ``run_unpublished``) and save the run or the
definition, which renews the public pages' publication stamp (``publishing.page_cache.connect``) in the
same transaction. Which run the public sees is decided by ``publishing.selectors`` alone.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from voicescount.accounts.permissions import Action, require
from voicescount.collection.models import AuditEntry, Study
from voicescount.indicators.compute import latest_run
from voicescount.indicators.models import EstimateRun, IndicatorDefinition
from voicescount.publishing import selectors


class PublicationError(ValueError):
    """A run that cannot be published, or a definition that is not public; nothing was changed."""


def publish(run: EstimateRun, by, *, check_permission: bool = True) -> EstimateRun:
    """Publish ``run`` as ``by`` (who must be allowed to publish for the study's organisation, unless
    ``check_permission`` is False: the command line and the demo): it becomes its definition's public
    run, even if a later run was published before (going back to an earlier run is publishing it
    again). Raises ``PublicationError`` for a run computed from an earlier version of its definition
    than the current one (the page would show the new wording over the old figures)."""
    definition = run.definition
    study = definition.study
    if check_permission:
        require(by, Action.PUBLISH, study.organisation)
    with transaction.atomic():
        run = EstimateRun.objects.select_for_update().select_related("definition__study").get(pk=run.pk)
        definition = IndicatorDefinition.objects.select_for_update().get(pk=run.definition_id)
        if run.definition_version != definition.version:
            raise PublicationError(
                f"Run {run.pk} of '{definition.code}' was computed from version {run.definition_version} "
                f"of the definition, which is now at version {definition.version}: compute it again and "
                "publish the new run."
            )
        run.published = timezone.now()
        run.published_by = by
        run.save(update_fields=["published", "published_by"])
        if not definition.is_public:
            definition.is_public = True
            definition.save(update_fields=["is_public"])
        AuditEntry.objects.create(
            actor=by if getattr(by, "is_authenticated", False) else None,
            study=study,
            organisation=study.organisation,
            action="run_published",
            details={"definition": definition.code, "run": run.pk, "study_public": study.is_public},
        )
    return run


def unpublish(definition: IndicatorDefinition, by) -> IndicatorDefinition:
    """Take ``definition`` off the public site as ``by`` (who must be allowed to publish): its pages,
    API answers and open data no longer show it. Raises ``PublicationError`` if it is not public."""
    study = definition.study
    require(by, Action.PUBLISH, study.organisation)
    with transaction.atomic():
        definition = IndicatorDefinition.objects.select_for_update().get(pk=definition.pk)
        if not definition.is_public:
            raise PublicationError(
                f"The definition '{definition.code}' is not public: there is nothing to unpublish."
            )
        was = selectors.last_published_run(definition)
        definition.is_public = False
        definition.save(update_fields=["is_public"])
        AuditEntry.objects.create(
            actor=by,
            study=study,
            organisation=study.organisation,
            action="run_unpublished",
            details={"definition": definition.code, "run": was.pk if was else None},
        )
    return definition


def publish_latest(study: Study, by, *, check_permission: bool = True) -> list[EstimateRun]:
    """Publish the latest run of each public definition of ``study`` (``is_public`` set, by its study
    package or a coordinator) where it is not the published one yet: what ``voicescount compute
    --publish`` and the demo do after computing. Definitions that are not public keep their drafts, and
    a latest run computed from an earlier version of its definition is left (compute it again); the
    runs published."""
    if check_permission:
        require(by, Action.PUBLISH, study.organisation)
    published = []
    for definition in (
        study.indicator_definitions.filter(is_public=True).select_related("study").order_by("code")
    ):
        run = latest_run(definition)
        if run is None or run.definition_version != definition.version:
            continue
        if run != selectors.last_published_run(definition):
            published.append(publish(run, by, check_permission=False))
    return published
