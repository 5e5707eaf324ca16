"""Loopback stand-ins for a KoboToolbox and an ODK Central server, answering with recorded real responses.

No such server runs here. Each fake is a ``ThreadingHTTPServer`` on 127.0.0.1 serving the submissions of
recorded answers (``data/kobo_trees``: KoboToolbox API v2 pages; ``data/odk_central_simple``: ODK Central
OData pages; sources in ``data/SOURCES.md``), paged as the real server pages them, with the links of the
recording pointed at the loopback address; it records every request (path, query, headers) so that a
test can check what a pull asked for. ``fault`` makes it answer a page with an HTTP error, a stall or
bytes that are not JSON.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

DATA = Path(__file__).parent / "data"
KOBO_TOKEN = "kobo-api-token-0123456789abcdef"
ODK_EMAIL, ODK_PASSWORD, ODK_SESSION = "alice@example.com", "central-password-42", "central-session-token"


def kobo_recorded() -> list[dict[str, Any]]:
    """The recorded Kobo submissions in the order of their pages."""
    pages = [json.loads((DATA / "kobo_trees" / name).read_text()) for name in ("page1.json", "page2.json")]
    return [item for page in pages for item in page["results"]]


def odk_recorded() -> list[dict[str, Any]]:
    """The recorded ODK Central submissions in the order of their pages."""
    pages = [json.loads((DATA / "odk_central_simple" / n).read_text()) for n in ("page1.json", "page2.json")]
    return [item for page in pages for item in page["value"]]


@dataclass
class Fake:
    """What the fake serves and what it was asked."""

    kind: str
    held: list[dict[str, Any]]
    page_size: int = 2  # as the recordings are paged
    requests: list[dict[str, Any]] = field(default_factory=list)
    fault: dict[int, str] = field(default_factory=dict)
    """Page number (1-based) → "500", "stall" or "not-json"."""
    base: str = ""

    def data_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "GET"]


def _kobo_answer(fake: Fake, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any]:
    if headers.get("Authorization") != f"Token {KOBO_TOKEN}":
        return 401, {"detail": "Invalid token."}
    if path != "/api/v2/assets/aTreesFixtureUid/data/":
        return 404, {"detail": "Not found."}
    held = fake.held
    if "query" in query:
        since = json.loads(query["query"][0])["_submission_time"]["$gte"]
        held = [s for s in held if s["_submission_time"] >= since]
    start = int(query.get("start", ["0"])[0])
    page = held[start : start + fake.page_size]
    url = f"{fake.base}{path}?limit={fake.page_size}&start="
    extra = "&query=" + quote(query["query"][0]) if "query" in query else ""
    return 200, {
        "count": len(held),
        "next": f"{url}{start + fake.page_size}{extra}" if start + fake.page_size < len(held) else None,
        "previous": f"{url}{max(0, start - fake.page_size)}{extra}" if start else None,
        "results": page,
    }


def _odk_answer(fake: Fake, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes):
    if method == "POST" and path == "/v1/sessions":
        sent = json.loads(body or b"{}")
        if sent != {"email": ODK_EMAIL, "password": ODK_PASSWORD}:
            return 401, {"message": "Could not authenticate with the provided credentials.", "code": 401.2}
        return 200, {"token": ODK_SESSION, "csrf": "x", "expiresAt": "2030-01-01T00:00:00.000Z"}
    if method == "DELETE" and path == f"/v1/sessions/{ODK_SESSION}":
        return 200, {"success": True}
    if headers.get("Authorization") != f"Bearer {ODK_SESSION}":
        return 401, {"message": "Could not authenticate with the provided credentials.", "code": 401.2}
    if path != "/v1/projects/1/forms/simple.svc/Submissions":
        return 404, {"message": "Could not find the resource you were looking for.", "code": 404.1}
    held = fake.held
    if "$filter" in query:
        field_name, op, since = query["$filter"][0].split(" ")
        assert (field_name, op) == ("__system/submissionDate", "gt")
        held = [s for s in held if s["__system"]["submissionDate"] > since]
    start = int(query.get("$skiptoken", ["0"])[0])
    page = held[start : start + fake.page_size]
    answer: dict[str, Any] = {
        "@odata.context": f"{fake.base}/v1/projects/1/forms/simple.svc/$metadata#Submissions",
        "@odata.count": len(held),
        "value": page,
    }
    if start + fake.page_size < len(held):
        rest = "".join(f"&{k}={quote(v[0])}" for k, v in query.items() if k != "$skiptoken")
        answer["@odata.nextLink"] = f"{fake.base}{path}?$skiptoken={start + fake.page_size}{rest}"
    return 200, answer


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fake.requests.append(
                {"method": method, "path": parts.path, "query": query, "headers": dict(self.headers)}
            )
            number = len(fake.data_requests())
            fault = fake.fault.get(number) if method == "GET" else None
            if fault == "stall":
                time.sleep(3)
            if fake.kind == "kobo":
                status, answer = _kobo_answer(fake, parts.path, query, self.headers)
            else:
                status, answer = _odk_answer(fake, method, parts.path, query, self.headers, body)
            data = json.dumps(answer).encode()
            if fault == "500":
                status, data = 500, b"<h1>Server Error (500)</h1>"
            elif fault == "not-json":
                data = data[: len(data) // 2]
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._answer("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def do_DELETE(self) -> None:  # noqa: N802
            self._answer("DELETE")

    return Handler


@contextlib.contextmanager
def serving(kind: str, held: list[dict[str, Any]]) -> Iterator[Fake]:
    """A fake ``kind`` server ("kobo" or "odk") holding ``held`` on a free loopback port."""
    fake = Fake(kind, list(held))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
