"""Transcripts read from TXT, DOCX and ODT files; files that cannot be read are refused with the reason."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from voicescount.voices.reading import MAX_FILE_BYTES, SourceFileError, read_source_file

TEXT = "Chị Lan kể:\nTrạm y tế xa lắm."


def docx_bytes(paragraphs: list[str]) -> bytes:
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt_bytes(body: str) -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        f"{body}</office:text></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", content)
    return out.getvalue()


def test_txt_utf8_with_bom_and_windows_line_ends():
    text, fmt = read_source_file("fgd.txt", ("\ufeff" + TEXT.replace("\n", "\r\n") + "  \r\n\r\n").encode())
    assert (text, fmt) == (TEXT, "txt")


def test_docx_paragraphs():
    assert read_source_file("kii.DOCX", docx_bytes(["Chị Lan kể:", "Trạm y tế xa lắm."])) == (TEXT, "docx")


def test_odt_paragraphs_spans_and_spaces():
    body = (
        "<text:h>Chị Lan kể:</text:h>"
        '<text:p>Trạm <text:span>y tế</text:span><text:s text:c="2"/>xa lắm.</text:p>'
    )
    assert read_source_file("story.odt", odt_bytes(body)) == ("Chị Lan kể:\nTrạm y tế  xa lắm.", "odt")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("fgd.txt", "Trạm y tế".encode("cp1258", errors="replace") + b"\xff\xfe", "is not UTF-8 text"),
        ("fgd.txt", b" \n\t\n", "holds no text"),
        ("fgd.txt", b"a" * (MAX_FILE_BYTES + 1), "files up to 2 MB"),
        ("fgd.pdf", b"%PDF-1.4", "is not a TXT, DOCX or ODT file"),
        ("fgd.docx", b"not a zip", "is not a valid DOCX file"),
        ("fgd.odt", b"PK\x03\x04broken", "is not a valid ODT file"),
    ],
)
def test_bad_files_refused_with_the_reason(name, data, message):
    with pytest.raises(SourceFileError, match=message):
        read_source_file(name, data)
