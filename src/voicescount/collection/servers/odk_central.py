"""Pulls from ODK Central: the form's OData feed ``/v1/projects/{p}/forms/{f}.svc/Submissions``.

The account signs in (``POST /v1/sessions``) for a session token used as ``Authorization: Bearer``
and signs out at the end (``DELETE /v1/sessions/{token}``). Pages of ``fetch.PAGE_SIZE``
(``$top``) with repeats expanded (``$expand=*``), followed by ``@odata.nextLink``. Incremental by
``$filter=__system/submissionDate gt <newest pulled>``: Central writes the time to the millisecond.
Each submission's ``__system`` (review state, submitter, form version…) is kept by the OData reader as
the submission's metadata (``__system/reviewState``).

Not ``pyodk`` (1.3.0 on PyPI): its ``submissions.get_table`` returns the whole table in memory, and it
keeps the session token in a plaintext cache file (``~/.config/pyodk/cache.toml``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import requests

from voicescount.collection.models import ServerConnection
from voicescount.collection.readers import instance_id_from, parse_timestamp
from voicescount.collection.servers.connections import credential_of
from voicescount.collection.servers.fetch import (
    CONNECT_SECONDS,
    MAX_PAGES,
    PAGE_SIZE,
    ServerError,
    Spool,
    fetch_json,
)
from voicescount.collection.servers.kobo import Fetched, OnPage


def odata_time(when: dt.datetime) -> str:
    """A time as Central writes it: UTC with milliseconds and ``Z``."""
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def submissions_url(connection: ServerConnection) -> str:
    """The form's OData ``Submissions`` entity set."""
    form = quote(connection.form_id, safe="")
    return f"{connection.base_url}/v1/projects/{connection.project_id}/forms/{form}.svc/Submissions"


def first_params(since: dt.datetime | None) -> dict[str, Any]:
    """The query of a pull's first page (``@odata.nextLink`` carries it on)."""
    params: dict[str, Any] = {"$top": PAGE_SIZE, "$expand": "*", "$count": "true"}
    if since is not None:
        params["$filter"] = f"__system/submissionDate gt {odata_time(since)}"
    return params


def _sign_in(session: requests.Session, connection: ServerConnection) -> str:
    answer = fetch_json(
        session,
        "POST",
        f"{connection.base_url}/v1/sessions",
        base=connection.base_url,
        body={"email": connection.username, "password": credential_of(connection)},
    )
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise ServerError("ODK Central did not give a session token for the account.")
    return token


def _sign_out(session: requests.Session, connection: ServerConnection, token: str) -> None:
    with contextlib.suppress(requests.RequestException):  # the session expires by itself otherwise
        session.delete(
            f"{connection.base_url}/v1/sessions/{quote(token, safe='')}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=(CONNECT_SECONDS, CONNECT_SECONDS),
            allow_redirects=False,
        ).close()


def pull_into(
    connection: ServerConnection,
    since: dt.datetime | None,
    spool: Spool,
    seen: Callable[[str | None, dt.datetime | None], bool],
    session: requests.Session | None = None,
    on_page: OnPage | None = None,
) -> Fetched:
    """Write the submissions newer than ``since`` to ``spool`` (less those ``seen`` says are stored);
    raises ``ServerError`` (nothing was imported)."""
    session = session or requests.Session()
    token = _sign_in(session, connection)
    try:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        fetched = Fetched()
        url: str | None = submissions_url(connection)
        params: dict[str, Any] | None = first_params(since)
        while url:
            page = fetch_json(session, "GET", url, base=connection.base_url, params=params, headers=headers)
            value = page.get("value") if isinstance(page, dict) else None
            if not isinstance(value, list):
                raise ServerError(
                    "The server's answer is not an OData page of submissions (no 'value' list)."
                )
            fetched.counted(page.get("@odata.count"))
            for item in value:
                if not isinstance(item, dict):
                    raise ServerError(f"A submission on page {fetched.pages + 1} is not a JSON object.")
                system = item.get("__system") if isinstance(item.get("__system"), dict) else {}
                when = parse_timestamp(system.get("submissionDate"))
                fetched.saw(when)
                if not seen(instance_id_from({"__id": item.get("__id")}), when):
                    spool.add(item)
            fetched.pages += 1
            fetched.read += len(value)
            if on_page is not None:
                on_page(fetched, spool.count)
            url, params = page.get("@odata.nextLink"), None
            if url is not None and not isinstance(url, str):
                raise ServerError("The server's '@odata.nextLink' is not an address.")
            if fetched.pages >= MAX_PAGES and url:
                raise ServerError(
                    f"The server kept sending pages ({MAX_PAGES}); stopped, nothing was stored."
                )
        return fetched
    finally:
        _sign_out(session, connection, token)
