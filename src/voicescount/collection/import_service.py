"""The one way submissions come in: an export file (``import_file``) or records already read
(``import_submitted``, the JSON API's body), for one instrument, as one batch.

Every caller — the upload page's background job, ``voicescount import``, the JSON API, study packages
and the demo — calls these two functions, so each file is read, checked against its form and
validated the same way, whoever sends it: the reader for the format (detected when ``"auto"``), the
instrument's checker (``checking.checker_for``, unless a caller has a stricter or laxer one of its
own, like a study package's), the form check (an export of another form or version stores nothing)
and ``batches.import_records`` (one transaction, one import of a study at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from voicescount.collection import batches, importing
from voicescount.collection.checking import checker_for
from voicescount.collection.locks import DEFAULT_WAIT
from voicescount.collection.models import Instrument
from voicescount.collection.records import RawRecord
from voicescount.collection.services import Checker, ImportReport


def import_file(
    instrument: Instrument,
    path: str | Path,
    *,
    fmt: str = "auto",
    name: str | None = None,
    user=None,
    check_permission: bool = True,
    file_sha256: str | None = None,
    checker: Checker | None = None,
    workers: int | None = None,
    read: Callable[[int, int], None] | None = None,
    stored: Callable[[int], None] | None = None,
    wait: float | None = DEFAULT_WAIT,
    waiting: Callable[[], None] | None = None,
) -> ImportReport:
    """Import the export at ``path`` for ``instrument`` as one batch, as ``user``.

    ``fmt`` is one of ``importing.FORMATS`` or ``"auto"`` (detected from the file); ``name`` is the
    file's name as the user knows it (errors and the batch name it; default: the path's name).
    ``read(done, total)`` is told the bytes read, ``stored(n)`` each chunk of ``n`` records stored;
    ``workers`` (default ``batches.import_workers()``) read and check ahead in forked processes. The
    import waits up to ``wait`` seconds (default ``locks.DEFAULT_WAIT``; ``None``: as long as it takes)
    while another import of the study runs, calling ``waiting()`` first. Raises ``CollectionError``
    (nothing imported), ``ImportInProgress`` or ``PermissionDenied`` (when ``check_permission`` and
    ``user`` may not import).
    """
    path = Path(path)
    name = name or path.name
    if fmt == "auto":
        fmt = importing.detect_format(path, name)
    form = instrument.definition or {}
    questions = [q["path"] for q in form.get("questions", [])]
    records = importing.read_records(
        path, fmt, display_name=name, questions=questions, progress=read, form=form
    )
    return batches.import_records(
        instrument,
        records,
        checker=checker or checker_for(instrument),
        source=fmt,
        filename=name,
        file_sha256=file_sha256 or importing.sha256_of(path),
        user=user,
        check_permission=check_permission,
        workers=batches.import_workers() if workers is None else workers,
        form_check=batches.form_check_for(instrument, name),
        progress=stored,
        wait=wait,
        waiting=waiting,
    )


def import_submitted(
    instrument: Instrument,
    records: Iterable[RawRecord],
    *,
    user=None,
    check_permission: bool = True,
    wait: float | None = DEFAULT_WAIT,
) -> ImportReport:
    """Import records sent in one request (the JSON API) for ``instrument`` as one batch; the same
    checks as :func:`import_file`, the batch's source is ``api``."""
    return batches.import_records(
        instrument,
        records,
        checker=checker_for(instrument),
        source="api",
        user=user,
        check_permission=check_permission,
        form_check=batches.form_check_for(instrument, "the request body"),
        wait=wait,
    )
