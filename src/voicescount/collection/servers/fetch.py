"""Bounded HTTP for pulls, and the spool their pages are written to.

Every request has a connect and a read timeout and the whole page a deadline (``PAGE_SECONDS``); a page
is read up to ``MAX_PAGE_BYTES`` (the pulls ask for pages of ``PAGE_SIZE`` submissions, far smaller),
so memory holds one page at most whatever the server sends. Redirects are not followed and a "next"
link is followed only on the connection's own scheme, host and port: the credential is never sent to
another address. Errors are ``ServerError`` with a sentence a coordinator can act on, naming the
address's path but never a credential or an answer's content.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from voicescount.collection.uploads import UnnamedUploadedFile

CONNECT_SECONDS = 10.0
READ_SECONDS = 60.0
PAGE_SECONDS = 300.0
MAX_PAGE_BYTES = 64 * 1024 * 1024
PAGE_SIZE = 1000
MAX_PAGES = 100_000
CHUNK = 64 * 1024


class ServerError(Exception):
    """The server could not be read (unreachable, slow, refused, an answer that is not a page)."""


def same_origin(url: str, base: str) -> bool:
    """Whether ``url`` is on the scheme, host and port of ``base``."""
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def fetch_json(
    session: requests.Session,
    method: str,
    url: str,
    *,
    base: str,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> Any:
    """The JSON answer of one request (see the module docstring); raises ``ServerError``."""
    path = urlsplit(url).path or "/"
    if not same_origin(url, base):
        raise ServerError(
            f"The server sent a link to another address ({urlsplit(url).hostname}); not followed."
        )
    try:
        response = session.request(
            method,
            url,
            params=params,
            headers=headers,
            json=body,
            timeout=(CONNECT_SECONDS, READ_SECONDS),
            stream=True,
            allow_redirects=False,
        )
    except requests.Timeout:
        raise ServerError(f"The server did not answer {path} within {READ_SECONDS:.0f} seconds.") from None
    except requests.RequestException as exc:
        raise ServerError(f"The server could not be reached ({type(exc).__name__}) at {path}.") from None
    with response:
        status = response.status_code
        if status in (401, 403):
            raise ServerError(
                f"The server refused the credentials (HTTP {status}) for {path}: check the token or password."
            )
        if status == 404:
            raise ServerError(f"The server has nothing at {path} (HTTP 404): check the asset or form id.")
        if not 200 <= status < 300:
            raise ServerError(f"The server answered HTTP {status} to {path}; nothing was stored.")
        data = _read_bounded(response, path)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ServerError(f"The server's answer to {path} is not valid JSON; nothing was stored.") from None


def _read_bounded(response: requests.Response, path: str) -> bytes:
    deadline = time.monotonic() + PAGE_SECONDS
    parts: list[bytes] = []
    size = 0
    try:
        for part in response.iter_content(CHUNK):
            size += len(part)
            if size > MAX_PAGE_BYTES:
                raise ServerError(
                    f"The server's answer to {path} is larger than {MAX_PAGE_BYTES // 2**20} MB; not read."
                )
            if time.monotonic() > deadline:
                raise ServerError(f"The server's answer to {path} took more than {PAGE_SECONDS:.0f} seconds.")
            parts.append(part)
    except requests.RequestException as exc:
        raise ServerError(f"The server's answer to {path} was cut short ({type(exc).__name__}).") from None
    return b"".join(parts)


class Spool:
    """The submissions of one pull as one JSON page ``{"<list_key>": [ … ]}`` in an unnamed temporary
    file (``uploads.UnnamedUploadedFile``: nothing is left on disk whatever ends the process), for the
    readers to read through ``path()``; ``count`` and ``sha256`` describe it."""

    def __init__(self, name: str, list_key: str) -> None:
        self.file = UnnamedUploadedFile(name, "application/json", "utf-8")
        self.count = 0
        self._write(b'{"' + list_key.encode() + b'":[')

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        self.file.digest.update(data)

    def add(self, item: Any) -> None:
        """Append one submission object."""
        self._write((b"," if self.count else b"") + orjson.dumps(item))
        self.count += 1

    def finish(self) -> None:
        """Close the list; the file is then ready to be read."""
        self._write(b"]}")
        self.file.flush()

    @property
    def sha256(self) -> str:
        return self.file.sha256

    def path(self):
        """A path the readers (and the import's worker processes) open."""
        return self.file.readable_path()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()
