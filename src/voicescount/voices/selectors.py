"""What of the voices may be shown outside the workspace: the one rule, read by every public page,
download and API answer (none reads ``Excerpt`` any other way).

An excerpt is publishable when
  1. its speaker's consent allows it: ``verbatim`` (the words, with the accepted redactions in place)
     or ``paraphrase`` (only the paraphrase, never the words);
  2. every redaction proposed on it is decided (accepted, edited or rejected) — none left ``proposed``;
  3. a person with ``Action.PUBLISH`` on the study's organisation signed it off as reviewed
     (``voices.services.mark_reviewed``; status ``reviewed``, reviewer and time recorded). Any later change
     of consent, paraphrase or redactions takes the review back, and a withdrawal withholds it at once.
The public text is ``public_text``: nothing else turns an excerpt into words.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from voicescount.voices.models import Consent, Excerpt, Redaction, Source


@dataclass(frozen=True)
class PublicExcerpt:
    """An excerpt as the public may read it: its text and where it comes from, at region level."""

    pk: int
    text: str
    is_paraphrase: bool
    language: str
    source_type: str
    study_id: int
    place_id: int | None


def publishable(queryset: QuerySet[Excerpt] | None = None) -> QuerySet[Excerpt]:
    """Excerpts (of ``queryset``, or all) that the rule above allows to be shown."""
    queryset = Excerpt.objects.all() if queryset is None else queryset
    undecided = Redaction.objects.filter(excerpt=OuterRef("pk"), decision=Redaction.Decision.PROPOSED)
    return queryset.filter(
        consent__in=(Consent.VERBATIM, Consent.PARAPHRASE),
        status=Excerpt.Status.REVIEWED,
        reviewed_by__isnull=False,
        reviewed_at__isnull=False,
    ).exclude(Exists(undecided))


def public_text(excerpt: Excerpt, source_text: str) -> str:
    """The words shown for ``excerpt``: its paraphrase, or its span of the source with accepted redactions.

    A redaction reaching over the excerpt's ends is cut to them; overlapping redactions are merged
    under the first one's replacement.
    """
    if excerpt.consent == Consent.PARAPHRASE:
        return excerpt.paraphrase
    spans = sorted(
        (max(r.start, excerpt.start), min(r.end, excerpt.end), r.replacement)
        for r in excerpt.redactions.all()
        if r.applies and r.start < excerpt.end and r.end > excerpt.start
    )
    out, at = [], excerpt.start
    for start, end, replacement in spans:
        if start < at:  # overlaps the previous one: already replaced
            at = max(at, end)
            continue
        out += [source_text[at:start], replacement]
        at = end
    out.append(source_text[at : excerpt.end])
    return "".join(out)


def publishable_excerpts(queryset: QuerySet[Excerpt] | None = None) -> list[PublicExcerpt]:
    """The publishable excerpts with their public text, in source order; each source decrypted once."""
    excerpts = (
        publishable(queryset)
        .select_related("source")
        .prefetch_related("redactions")
        .order_by("source", "start")
    )
    texts: dict[int, str] = {}
    result = []
    for excerpt in excerpts:
        source: Source = excerpt.source
        if source.pk not in texts and excerpt.consent == Consent.VERBATIM:
            texts[source.pk] = source.text
        result.append(
            PublicExcerpt(
                pk=excerpt.pk,
                text=public_text(excerpt, texts.get(source.pk, "")),
                is_paraphrase=excerpt.consent == Consent.PARAPHRASE,
                language=source.language,
                source_type=source.method,
                study_id=source.study_id,
                place_id=source.place_id,
            )
        )
    return result
