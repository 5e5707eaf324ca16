"""Pulls from a KoboToolbox server: API v2 ``/api/v2/assets/{uid}/data/``, ``Authorization: Token …``.

Pages of ``fetch.PAGE_SIZE`` submissions (``limit``), followed by their ``next`` link. Incremental by
``_submission_time``: after a first pull, ``query={"_submission_time": {"$gte": "<newest pulled>"}}``
(Kobo's MongoDB filter). Kobo writes the time to the second, so ``$gte``, not ``$gt``: a submission
received in the same second as the newest one pulled, after the pull, would otherwise never be asked
for. The submissions of that second that are already stored are left out of the spool (``seen``), so
that a pull finding nothing new stores nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from voicescount.collection.models import ServerConnection
from voicescount.collection.readers import instance_id_from, parse_timestamp
from voicescount.collection.servers.connections import credential_of
from voicescount.collection.servers.fetch import MAX_PAGES, PAGE_SIZE, ServerError, Spool, fetch_json


@dataclass
class Fetched:
    """What a pull read from its server: pages, and the newest submission time among them."""

    pages: int = 0
    read: int = 0
    expected: int | None = None
    """How many submissions the server said the pull would get (Kobo's ``count``, ``@odata.count``)."""
    newest: dt.datetime | None = None

    def saw(self, when: dt.datetime | None) -> None:
        if when is not None and (self.newest is None or when > self.newest):
            self.newest = when

    def counted(self, count: Any) -> None:
        if self.expected is None and isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            self.expected = count


OnPage = Callable[[Fetched, int], None]
"""Called after each page with what was read so far and how many submissions the spool holds."""


def kobo_time(when: dt.datetime) -> str:
    """``_submission_time`` as Kobo writes it: UTC, to the second, without an offset."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def data_url(connection: ServerConnection) -> str:
    """The asset's data endpoint."""
    return f"{connection.base_url}/api/v2/assets/{quote(connection.asset_uid, safe='')}/data/"


def first_params(since: dt.datetime | None) -> dict[str, Any]:
    """The query of a pull's first page (the ``next`` links carry it on)."""
    params: dict[str, Any] = {"format": "json", "limit": PAGE_SIZE}
    if since is not None:
        params["query"] = json.dumps({"_submission_time": {"$gte": kobo_time(since)}}, separators=(",", ":"))
    return params


def pull_into(
    connection: ServerConnection,
    since: dt.datetime | None,
    spool: Spool,
    seen: Callable[[str | None, dt.datetime | None], bool],
    session: requests.Session | None = None,
    on_page: OnPage | None = None,
) -> Fetched:
    """Write the submissions newer than ``since`` to ``spool``, leaving out those ``seen(instance_id,
    submitted_at)`` says are stored; raises ``ServerError`` (nothing was imported)."""
    session = session or requests.Session()
    headers = {"Authorization": f"Token {credential_of(connection)}", "Accept": "application/json"}
    fetched = Fetched()
    url: str | None = data_url(connection)
    params: dict[str, Any] | None = first_params(since)
    while url:
        page = fetch_json(session, "GET", url, base=connection.base_url, params=params, headers=headers)
        results = page.get("results") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise ServerError("The server's answer is not a page of submissions (no 'results' list).")
        fetched.counted(page.get("count"))
        for item in results:
            if not isinstance(item, dict):
                raise ServerError(f"A submission on page {fetched.pages + 1} is not a JSON object.")
            when = parse_timestamp(item.get("_submission_time"))
            fetched.saw(when)
            if not seen(instance_id_from(item), when):
                spool.add(item)
        fetched.pages += 1
        fetched.read += len(results)
        if on_page is not None:
            on_page(fetched, spool.count)
        url, params = page.get("next"), None
        if url is not None and not isinstance(url, str):
            raise ServerError("The server's 'next' link is not an address.")
        if fetched.pages >= MAX_PAGES and url:
            raise ServerError(f"The server kept sending pages ({MAX_PAGES}); stopped, nothing was stored.")
    return fetched
