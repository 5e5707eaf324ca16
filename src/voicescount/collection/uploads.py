"""Uploaded exports kept in a file without a name, so that no copy of them outlives the request.

An export holds the respondents' answers in plain text (names, phone numbers). Django would keep a
large upload in a named temporary file, and the upload page used to copy it into another one in the
data directory for the readers: a worker killed half-way (a timeout, the out-of-memory killer, a
deployment) left both behind, the second where the data directory's backups take it.

``UnnamedFileUploadHandler`` streams the upload straight into a file that has no name — on Linux
``O_TMPFILE`` (``tempfile.TemporaryFile``) in the temporary directory, outside the data directory —
and hashes it on the way. The kernel frees such a file when its last descriptor closes, whatever ends
the process, so a kill at any moment leaves nothing to read. The import reads it through
``/proc/self/fd/N`` (``readable_path``), which the import's worker processes, forked with the
descriptor, open the same way. Where there is no ``/proc`` (macOS), the file is a named temporary one,
readable by this user only, in the temporary directory and deleted when the request ends.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

_FD_DIR = Path("/proc/self/fd")


class UnnamedUploadedFile(UploadedFile):
    """An uploaded file in an unnamed temporary file; ``sha256`` is the hash of its bytes."""

    def __init__(self, name: str, content_type: str, charset: str | None, extra: Any = None) -> None:
        directory = settings.FILE_UPLOAD_TEMP_DIR
        if _FD_DIR.is_dir():
            file: Any = tempfile.TemporaryFile(dir=directory)
        else:
            file = tempfile.NamedTemporaryFile(dir=directory)  # noqa: SIM115 -- closed with the upload
        super().__init__(file, name, content_type, 0, charset, extra)
        self.digest = hashlib.sha256()

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the uploaded bytes."""
        return self.digest.hexdigest()

    def readable_path(self) -> Path:
        """A path the readers can open (each opening reads from the start, independently)."""
        if _FD_DIR.is_dir():
            return _FD_DIR / str(self.file.fileno())
        return Path(self.file.name)


class UnnamedFileUploadHandler(FileUploadHandler):
    """Streams every uploaded file of a request into an ``UnnamedUploadedFile``, whatever its size."""

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file = UnnamedUploadedFile(
            self.file_name, self.content_type, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.file.write(raw_data)
        self.file.digest.update(raw_data)

    def file_complete(self, file_size: int) -> UnnamedUploadedFile:
        self.file.flush()
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()
