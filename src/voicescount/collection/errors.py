"""Errors raised while reading and validating collected data.

Every error names where the problem is — file, row (or record locator) and field — and what is
wrong, so that a coordinator can fix the source. Messages never include the value of a field marked
as personal data.
"""

from __future__ import annotations


class CollectionError(Exception):
    """Base class: a problem with collected data or an instrument that the user can fix."""

    def __init__(
        self, message: str, *, file: str | None = None, row: str | int | None = None, field: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        super().__init__(self.__str__())

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled with its parts (an import's worker process sends its errors to the parent)."""
        return (_rebuild, (type(self), self.message, self.file, self.row, self.field))

    def __str__(self) -> str:
        where = [
            part
            for part in (
                self.file,
                f"row {self.row}" if isinstance(self.row, int) else self.row,
                f"field '{self.field}'" if self.field else None,
            )
            if part
        ]
        return ": ".join([", ".join(where), self.message]) if where else self.message


def _rebuild(
    cls: type[CollectionError], message: str, file: str | None, row: str | int | None, field: str | None
) -> CollectionError:
    return cls(message, file=file, row=row, field=field)


class InstrumentError(CollectionError):
    """An XLSForm that cannot be read or converted (names the sheet, row and column where known)."""


class ImportFileError(CollectionError):
    """A data file that cannot be imported at all: corrupt, encrypted, too large, unsafe, wrong form."""


class ImportInProgress(CollectionError):
    """Another import of the same study is still running and did not finish within the wait."""
