"""Creating and editing a study's methodology: ``create_study`` and ``update_study``.

Both check the permission (``Action.EDIT`` on the organisation; making a study public, or marking it
published, needs ``Action.PUBLISH``), validate everything before writing (the model's own rules — a
disclosure threshold may only be stricter than the deployment's — the period's order, and that every
design variable is a question of the study's forms), write in one transaction and leave an
``AuditEntry`` naming the fields that changed. Bad input raises ``ValidationError`` keyed by field and
changes nothing. Pages, the CLI and tests call these; nothing else writes a study's methodology by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from voicescount.accounts.models import Organisation
from voicescount.accounts.permissions import Action, has_permission, require
from voicescount.collection.models import AuditEntry, Study
from voicescount.collection.services import ENCRYPTED_ROLES

DESIGN_VARIABLES = (
    "weight_variable",
    "strata_variable",
    "psu_variable",
    "fpc_variable",
    "ssu_variable",
    "fpc2_variable",
)
"""Study fields that name a question of the study's forms."""

EDITABLE_FIELDS = (
    "title_vi",
    "title_en",
    "summary_vi",
    "summary_en",
    "method",
    "period_start",
    "period_end",
    "target_groups",
    "sampling_description_vi",
    "sampling_description_en",
    *DESIGN_VARIABLES,
    "lonely_psu",
    "planned_sample_size",
    "min_cell_size",
    "suppress_below",
    "caution_below",
    "consent_procedure",
    "consent_notes_vi",
    "consent_notes_en",
    "partners",
    "status",
    "is_public",
)
"""What ``create_study``/``update_study`` take from ``data`` besides ``areas`` (and ``slug`` on creation)."""

POPULATION_GROUP = "POPULATION_GROUP"
"""The code list of ``Study.target_groups``."""

RESERVED_SLUGS = frozenset({"new"})
"""Short names a study cannot have: ``workspace/studies/new/`` is the page that creates one."""

SLUG_LENGTH = Study._meta.get_field("slug").max_length


def check_period(start, end) -> None:
    """Raise a ``ValidationError`` on ``period_end`` when the data collection ends before it starts."""
    if start is not None and end is not None and end < start:
        raise ValidationError(
            {
                "period_end": _(
                    "The data collection cannot end (%(end)s) before it starts (%(start)s): check both dates."
                )
                % {"end": end.isoformat(), "start": start.isoformat()}
            }
        )


def question_names(study: Study | None) -> list[str]:
    """The names of the questions of ``study``'s forms that a design can use, each once, in the forms'
    order: not notes or groups, nor questions stored encrypted (personal data, the questionnaire code)."""
    return [name for name, personal in _questions(study).items() if not personal]


def check_design_variables(study: Study | None, values: Mapping[str, Any]) -> None:
    """Raise a ``ValidationError`` per design variable of ``values`` that is not a question of the
    study's forms, or is one stored encrypted (the analysis never sees it). A study without forms yet
    may name any variable (its forms come later)."""
    questions = _questions(study)
    if not questions:
        return
    errors = {}
    for field in DESIGN_VARIABLES:
        name = values.get(field)
        if not name:
            continue
        if name not in questions:
            errors[field] = _("“%(name)s” is not a question of this study's forms.") % {"name": name}
        elif questions[name]:
            errors[field] = _(
                "“%(name)s” is personal data, kept encrypted and out of the analysis: it cannot be part of "
                "the design."
            ) % {"name": name}
    if errors:
        raise ValidationError(errors)


def _questions(study: Study | None) -> dict[str, bool]:
    """Question name → whether its answers are stored encrypted, over the study's forms."""
    if study is None or study.pk is None:
        return {}
    questions: dict[str, bool] = {}
    for definition, roles in study.instruments.order_by("uploaded").values_list("definition", "roles"):
        for question in definition.get("questions", []):
            if question.get("type") in ("note", "begin_group", "end_group"):
                continue
            name = question["name"]
            questions[name] = questions.get(name, False) or (roles or {}).get(name) in ENCRYPTED_ROLES
    return questions


def may_publish(user, organisation: Organisation) -> bool:
    """Whether ``user`` may make the organisation's studies public (and mark them published)."""
    return has_permission(user, Action.PUBLISH, organisation)


def unique_slug(title_en: str) -> str:
    """A short name for a new study made from its English title, unique among the studies."""
    base = slugify(title_en.replace("đ", "d").replace("Đ", "D")) or "study"
    if len(base) > SLUG_LENGTH - 4:  # room for "-2"…"-999"; cut between words
        base = base[: SLUG_LENGTH - 3].rsplit("-", 1)[0]
    slug, number = base, 1
    while slug in RESERVED_SLUGS or Study.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


def create_study(organisation: Organisation, data: Mapping[str, Any], *, by) -> Study:
    """Create a study of ``organisation`` from ``data`` (field → value, ``areas`` an iterable of
    ``geography.Area``; ``slug`` optional: made from the English title). Raises ``PermissionDenied``
    unless ``by`` may edit there, ``ValidationError`` (nothing written) when ``data`` is not valid."""
    require(by, Action.EDIT, organisation)
    study = Study(organisation=organisation)
    fields = _apply(study, data, by)
    slug = (data.get("slug") or "").strip()
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": _("“%(slug)s” cannot be a study's short name.") % {"slug": slug}})
    study.slug = slug or unique_slug(study.title_en)
    study.full_clean()
    areas = list(data.get("areas") or [])
    with transaction.atomic():
        study.save()
        study.areas.set(areas)
        fields = ["slug", *fields, *(["areas"] if areas else [])]
        AuditEntry.objects.create(
            actor=by,
            study=study,
            organisation=organisation,
            action="study_created",
            details={"fields": fields},
        )
    return study


def update_study(study: Study, data: Mapping[str, Any], *, by) -> list[str]:
    """Change ``study``'s methodology to ``data`` (the fields it holds; see ``create_study``); returns
    the names of the fields that changed (none: nothing written, no audit entry). Raises
    ``PermissionDenied`` unless ``by`` may edit the study's organisation, ``ValidationError`` (nothing
    written) when ``data`` is not valid or ``by`` may not publish and ``data`` changes ``is_public``."""
    require(by, Action.EDIT, study.organisation)
    with transaction.atomic():
        stored = Study.objects.select_for_update().get(pk=study.pk)
        changed = _apply(stored, data, by)
        if "areas" in data:
            areas = list(data["areas"])
            if {area.pk for area in areas} != set(stored.areas.values_list("pk", flat=True)):
                changed.append("areas")
        stored.full_clean()
        if not changed:
            return []
        stored.save()
        if "areas" in changed:
            stored.areas.set(areas)
        AuditEntry.objects.create(
            actor=by,
            study=stored,
            organisation=stored.organisation,
            action="study_updated",
            details={"fields": changed},
        )
    study.refresh_from_db()
    return changed


def _apply(study: Study, data: Mapping[str, Any], by) -> list[str]:
    """Set ``study``'s editable fields from ``data`` after the checks the model cannot make itself;
    returns the names of the fields whose value changed (nothing saved)."""
    _check_publishing(study, data, by)
    _check_areas(study.organisation, data.get("areas") or [])
    _check_target_groups(study, data.get("target_groups") or [])
    check_period(data.get("period_start", study.period_start), data.get("period_end", study.period_end))
    check_design_variables(study, {f: data.get(f, getattr(study, f)) for f in DESIGN_VARIABLES})
    changed = []
    for field in EDITABLE_FIELDS:
        if field not in data:
            continue
        value = _normalised(field, data[field])
        if getattr(study, field) != value:
            setattr(study, field, value)
            changed.append(field)
    return changed


def _normalised(field: str, value: Any) -> Any:
    if field == "target_groups":
        return list(value or [])
    if field in DESIGN_VARIABLES:
        return (value or "").strip()
    return value


def _check_areas(organisation: Organisation, areas: Iterable[Any]) -> None:
    country = organisation.coalition.country_code
    foreign = sorted(area.name for area in areas if area.country_code != country)
    if foreign:
        raise ValidationError(
            {
                "areas": _("%(names)s: not in the country of the organisation's coalition (%(country)s).")
                % {"names": ", ".join(foreign), "country": country}
            }
        )


def _check_target_groups(study: Study, codes: Iterable[str]) -> None:
    from voicescount.framework.models import Code

    known = set(Code.objects.filter(code_list__code=POPULATION_GROUP).values_list("code", flat=True))
    unknown = [code for code in codes if code not in known and code not in (study.target_groups or [])]
    if unknown:
        raise ValidationError(
            {
                "target_groups": _("%(codes)s: not in the %(list)s code list.")
                % {"codes": ", ".join(unknown), "list": POPULATION_GROUP}
            }
        )


def _check_publishing(study: Study, data: Mapping[str, Any], by) -> None:
    if may_publish(by, study.organisation):
        return
    errors = {}
    if "is_public" in data and bool(data["is_public"]) != study.is_public:
        errors["is_public"] = _(
            "Only the organisation's coordinators may make a study public or take it off the public site."
        )
    published = Study.Status.PUBLISHED
    if "status" in data and data["status"] != study.status and published in (data["status"], study.status):
        errors["status"] = _(
            "Only the organisation's coordinators may mark a study published or change a published "
            "study's status."
        )
    if errors:
        raise ValidationError(errors)


def changed_names(fields: Iterable[str]) -> list[str]:
    """The verbose names of ``fields`` (for a message saying what was saved)."""
    return [str(Study._meta.get_field(name).verbose_name) for name in fields]
