"""Language handling that never fails the user: unknown language codes fall back to the default."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponseRedirect

_LANG_PREFIX = re.compile(r"^/(?P<code>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)(?P<rest>/.*)?$")


class LanguageFallbackMiddleware:
    """Redirect ``/xx/...`` with an unknown language code to the same page in the default language.

    Only paths whose first segment looks like a language code and is not a known route prefix are
    touched; a language cookie or Accept-Language header naming an unsupported language is simply
    ignored by Django's LocaleMiddleware, which then uses ``LANGUAGE_CODE``.
    """

    KNOWN_PREFIXES = {"i18n", "static", "api", "media"}

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        match = _LANG_PREFIX.match(request.path_info)
        if match:
            code = match.group("code")
            if code.lower() not in self.languages and code not in self.KNOWN_PREFIXES:
                base = code.split("-")[0].split("_")[0].lower()
                target = base if base in self.languages else settings.LANGUAGE_CODE
                rest = match.group("rest") or "/"
                query = request.META.get("QUERY_STRING")
                return HttpResponseRedirect(f"/{target}{rest}" + (f"?{query}" if query else ""))
        return self.get_response(request)
