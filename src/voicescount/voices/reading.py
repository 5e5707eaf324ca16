"""Reading a transcript from an uploaded file: plain text (UTF-8), DOCX or ODT.

DOCX is read with python-docx (paragraphs, then table cells); ODT with the standard library and
defusedxml from the package's ``content.xml`` (text:p and text:h, with text:s, text:tab and
text:line-break), so no ODF library is needed. The result has Unix line ends and no trailing spaces on
lines; excerpts' offsets point into exactly this text.
"""

from __future__ import annotations

import io
import zipfile

import docx
from defusedxml import ElementTree
from django.utils.translation import gettext as _

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TEXT_CHARS = 400_000
FORMATS = ("txt", "docx", "odt")

_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


class SourceFileError(ValueError):
    """The file cannot become a source's text; the message says why and what to do."""


def normalise(text: str) -> str:
    """Unix line ends, no spaces at line ends, no blank lines at the ends (offsets are into this)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def check_text(text: str, name: str = "") -> str:
    """The normalised text, or ``SourceFileError`` if it is empty or too long."""
    text = normalise(text.replace("\x00", ""))
    label = name or _("The text")
    if not text.strip():
        raise SourceFileError(_("%(name)s holds no text.") % {"name": label})
    if len(text) > MAX_TEXT_CHARS:
        raise SourceFileError(
            _(
                "%(name)s has %(n)s characters; a source may have at most %(max)s. "
                "Split it into several sources."
            )
            % {"name": label, "n": f"{len(text):,}", "max": f"{MAX_TEXT_CHARS:,}"}
        )
    return text


def read_source_file(name: str, data: bytes) -> tuple[str, str]:
    """``(text, format)`` of an uploaded file named ``name``; ``SourceFileError`` saying what is wrong."""
    fmt = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if fmt not in FORMATS:
        raise SourceFileError(
            _("%(name)s is not a TXT, DOCX or ODT file. Save the transcript in one of these formats.")
            % {"name": name}
        )
    if len(data) > MAX_FILE_BYTES:
        raise SourceFileError(
            _("%(name)s is %(size)s MB; files up to %(max)s MB are accepted.")
            % {"name": name, "size": f"{len(data) / 1048576:.1f}", "max": MAX_FILE_BYTES // 1048576}
        )
    if fmt == "txt":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SourceFileError(
                _("%(name)s is not UTF-8 text (byte %(at)s). Save it again as UTF-8 (“Unicode”).")
                % {"name": name, "at": exc.start}
            ) from None
    elif fmt == "docx":
        text = _docx_text(name, data)
    else:
        text = _odt_text(name, data)
    return check_text(text, name), fmt


def _not_a(name: str, kind: str) -> SourceFileError:
    return SourceFileError(
        _("%(name)s cannot be read: it is not a valid %(kind)s file.") % {"name": name, "kind": kind}
    )


def _docx_text(name: str, data: bytes) -> str:
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # python-docx raises zipfile, KeyError or its own errors for a broken file
        raise _not_a(name, "DOCX") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _odt_text(name: str, data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            root = ElementTree.fromstring(package.read("content.xml"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError):
        raise _not_a(name, "ODT") from None
    paragraphs = [_odt_inline(p) for p in root.iter() if p.tag in (f"{_TEXT}p", f"{_TEXT}h")]
    return "\n".join(paragraphs)


def _odt_inline(element) -> str:
    out = [element.text or ""]
    for child in element:
        if child.tag == f"{_TEXT}s":
            out.append(" " * int(child.get(f"{_TEXT}c", "1")))
        elif child.tag == f"{_TEXT}tab":
            out.append("\t")
        elif child.tag == f"{_TEXT}line-break":
            out.append("\n")
        elif child.tag not in (f"{_TEXT}p", f"{_TEXT}h", f"{_TEXT}note"):
            out.append(_odt_inline(child))
        out.append(child.tail or "")
    return "".join(out)
