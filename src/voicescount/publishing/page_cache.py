"""Rendered public pages, cached under the publication stamp.

An indicator page reads dozens of rows and renders tables and charts (some 40 ms); the same page is asked
for again and again by anonymous visitors between two publications. :func:`public_page` keeps the
rendered response in Django's cache (``VOICESCOUNT_CACHE_URL``: each worker's memory by default, Redis
when configured) under a key made of

* the publication stamp (:class:`~voicescount.publishing.models.PublicationStamp`), read from the
  database on every request — one indexed single-row query — and renewed whenever a run is computed or
  deleted, a study or indicator definition is saved or deleted, or official figures change
  (:func:`connect`). Every worker process reads the same row, so a new run reaches all of them at once,
  whatever cache each keeps;
* the page's language, its full address (path and query string) and whether htmx asked for a fragment.

Only anonymous GET/HEAD requests are answered from the cache or stored in it, and only a 200 response
that sets no cookie and used no CSRF token: a signed-in user's page (their name, their rights, a sign-out
form) is rendered for them every time. Labels and reference data that change without a new stamp
(``voicescount load-reference``) show within ``PAGE_SECONDS``.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import get_language

from voicescount.publishing import render_cache
from voicescount.publishing.models import PublicationStamp

PAGE_SECONDS = 3600
STAMP_ID = 1
#: Cookies that make a response personal: Django's messages shown on the next page.
PERSONAL_COOKIES = ("messages",)
_STAMP_SQL = f"SELECT stamp FROM {PublicationStamp._meta.db_table} WHERE id = %s"  # no user input


def current_stamp() -> str:
    """The publication stamp (created on first use where the migration's row is missing)."""
    # On every cached page: plain SQL, since building the ORM query took longer than running it.
    with connection.cursor() as cursor:
        cursor.execute(_STAMP_SQL, [STAMP_ID])
        found = cursor.fetchone()
    if found is not None:
        return found[0]
    try:
        with transaction.atomic():
            row, _ = PublicationStamp.objects.get_or_create(
                pk=STAMP_ID, defaults={"stamp": secrets.token_hex(16)}
            )
    except IntegrityError:  # another worker created it at the same moment
        row = PublicationStamp.objects.get(pk=STAMP_ID)
    return row.stamp


def renew_stamp() -> None:
    """Give the publication a new stamp: every cached page is from then on out of date.

    Runs in the caller's transaction: the pages see the new stamp when they can see the new data."""
    stamp = secrets.token_hex(16)
    updated = PublicationStamp.objects.filter(pk=STAMP_ID).update(stamp=stamp, changed=timezone.now())
    if not updated:
        PublicationStamp.objects.get_or_create(pk=STAMP_ID, defaults={"stamp": stamp})


def _publication_changed(sender, **kwargs) -> None:
    renew_stamp()


def connect() -> None:
    """Renew the stamp whenever something the public pages show is saved or deleted (AppConfig.ready)."""
    from voicescount.collection.models import Study
    from voicescount.indicators.models import EstimateRun, IndicatorDefinition, OfficialObservation

    for model in (EstimateRun, Study, IndicatorDefinition, OfficialObservation):
        for signal in (post_save, post_delete):
            signal.connect(_publication_changed, sender=model, dispatch_uid=f"page_cache:{model.__name__}")


def _answers_from_cache(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD") or render_cache.is_active():
        return False  # the static export renders each page once: nothing to gain from keeping them
    if any(name in request.COOKIES for name in PERSONAL_COOKIES):
        return False
    return not request.user.is_authenticated


def _storable(request: HttpRequest, response: HttpResponse) -> bool:
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        # get_token() was called: the page carries a CSRF token, which belongs to this visitor.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def page_key(request: HttpRequest, stamp: str) -> str:
    """The cache key of a public page: publication stamp, language, address and htmx fragment or not."""
    parts = (stamp, get_language() or "", request.get_full_path(), request.headers.get("HX-Request", ""))
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"voicescount:page:{digest}"


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer anonymous GET/HEAD requests for ``view`` from the cache while the publication is unchanged."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _answers_from_cache(request):
            return view(request, *args, **kwargs)
        key = page_key(request, current_stamp())
        stored = cache.get(key)
        if stored is not None:
            status, headers, content = stored
            return HttpResponse(content, status=status, headers=headers)
        response = view(request, *args, **kwargs)
        if _storable(request, response):
            cache.set(key, (response.status_code, dict(response.items()), response.content), PAGE_SECONDS)
        return response

    return wrapper
