"""Template helpers for bilingual content."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def tr(obj, field: str) -> str:
    """``{{ goal|tr:"title" }}``: the field in the active language (``title_vi``/``_en``), else English."""
    lang = (get_language() or "en")[:2]
    value = getattr(obj, f"{field}_{lang}", "") or ""
    return value or getattr(obj, f"{field}_en", "") or getattr(obj, field, "") or ""


@register.simple_tag(takes_context=True)
def other_language_url(context, language: str) -> str:
    """The current page in ``language`` (same URL scheme in every language)."""
    from django.urls import translate_url

    request = context.get("request")
    if request is None:
        return f"/{language}/"
    return translate_url(request.get_full_path(), language)


@register.filter
def scaled(value, percent: bool = True) -> str:
    """An estimate for display: a percentage with one decimal, or the value with two (localised)."""
    from django.template.defaultfilters import floatformat

    if value is None:
        return ""
    return floatformat(value * 100, 1) if percent else floatformat(value, 2)


@register.filter
def lookup(mapping, key):
    """``{{ status|lookup:indicator.pk }}``: a dict value in a template (empty when absent)."""
    return mapping.get(key, "") if mapping else ""
