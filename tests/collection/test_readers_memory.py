"""Readers stream: memory does not grow with the size of the export.

Each reader reads the same kind of export (up to 20 000 records) at two sizes, a tenth and all of
it; the tracemalloc peak (Python allocations) of the big one must stay close to the small one's and
far below the size of the file. These are assertions about behaviour, not about a machine's speed.
"""

from __future__ import annotations

import csv
import json
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl

from voicescount.collection import importing
from voicescount.collection.readers import safety

N = 20_000
N_ODK = 10_000  # the zip reader and openpyxl are slower under tracemalloc; these sizes still show the trend
N_XLSX = 5_000


def peak_while_reading(path: Path, fmt: str) -> tuple[int, int, list[tuple[int, int]]]:
    """(records read, tracemalloc peak in bytes, progress calls) — no record is kept."""
    calls: list[tuple[int, int]] = []
    count = 0
    tracemalloc.start()
    try:
        for _record in importing.read_records(path, fmt, progress=lambda d, t: calls.append((d, t))):
            count += 1
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return count, peak, calls


def assert_bounded(small: int, big: int, size: int) -> None:
    assert big < 1.5 * small + 256 * 1024, f"peak grew from {small} to {big} bytes"
    assert big < size / 2, f"peak {big} for a {size}-byte export"


def write_kobo(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f'{{"count": {n}, "next": null, "previous": null, "results": [')
        for i in range(n):
            item = {
                "_id": i,
                "consent": "yes",
                "hh/size": str(i % 9 + 1),
                "hh/name": f"Nguyễn Văn {i} " + "x" * 300,
                "hh/members": [{"hh/members/age": str(i % 80)}, {"hh/members/age": "3"}],
                "meta/instanceID": f"uuid:{i:08d}",
                "_submission_time": "2025-03-02T01:25:14",
            }
            handle.write(("," if i else "") + json.dumps(item, ensure_ascii=False))
        handle.write("]}")
    return path


def write_csv(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["consent", "hh/size", "hh/name", "_uuid"])
        for i in range(n):
            writer.writerow(["yes", i % 9, f"Trần Thị {i} " + "y" * 300, f"{i:08d}"])
    return path


def write_odk_zip(path: Path, n: int) -> Path:
    main = ["SubmissionDate,hh-size,hh-name,meta-instanceID,KEY"]
    main += [f"2025-03-02T01:25:14.000Z,{i % 9},Lê {i} {'z' * 300},uuid:{i},uuid:{i}" for i in range(n)]
    members = ["age,PARENT_KEY,KEY"]
    members += [f"{j},uuid:{i},uuid:{i}/hh/members[{j}]" for i in range(n) for j in (1, 2)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("hh.csv", "\n".join(main) + "\n")
        archive.writestr("hh-members.csv", "\n".join(members) + "\n")
    return path


def write_xlsx(path: Path, n: int) -> Path:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(["consent", "hh/size", "hh/name"])
    for i in range(n):
        sheet.append(["yes", i, f"Phạm {i} " + "w" * 300, i * 0.5])
    workbook.save(path)
    return path


def uncompressed(path: Path) -> int:
    return sum(m.file_size for m in zipfile.ZipFile(path).infolist())


def test_kobo_json_is_streamed_and_reports_progress(tmp_path):
    _n, small, _c = peak_while_reading(write_kobo(tmp_path / "small.json", N // 10), "kobo-json")
    path = write_kobo(tmp_path / "big.json", N)
    count, big, calls = peak_while_reading(path, "kobo-json")
    size = path.stat().st_size
    assert count == N
    assert_bounded(small, big, size)
    assert len(calls) == N // 1000 + 1 and calls[-1] == (size, size)
    done = [d for d, _t in calls]
    assert done == sorted(done) and done[0] < size / 10


def test_csv_is_streamed(tmp_path):
    _n, small, _c = peak_while_reading(write_csv(tmp_path / "small.csv", N // 10), "csv")
    path = write_csv(tmp_path / "big.csv", N)
    count, big, calls = peak_while_reading(path, "csv")
    assert count == N
    assert_bounded(small, big, path.stat().st_size)
    assert calls[-1] == (path.stat().st_size,) * 2


def test_odk_zip_repeats_are_joined_without_holding_the_export(tmp_path):
    path = write_odk_zip(tmp_path / "big.zip", N_ODK)
    first = next(iter(importing.read_records(path, "odk-csv")))
    assert first.values == {
        "hh/size": "0",
        "hh/name": "Lê 0 " + "z" * 300,
        "hh/members": [{"age": "1"}, {"age": "2"}],
    }
    _n, small, _c = peak_while_reading(write_odk_zip(tmp_path / "small.zip", N_ODK // 10), "odk-csv")
    count, big, _calls = peak_while_reading(path, "odk-csv")
    assert count == N_ODK
    assert_bounded(small, big, uncompressed(path))


def test_xlsx_is_streamed(tmp_path):
    _n, small, _c = peak_while_reading(write_xlsx(tmp_path / "small.xlsx", N_XLSX // 10), "xlsx")
    path = write_xlsx(tmp_path / "big.xlsx", N_XLSX)
    count, big, calls = peak_while_reading(path, "xlsx")
    assert count == N_XLSX
    assert big < uncompressed(path) / 2
    # openpyxl's read-only parser clears each <row> element but leaves it attached to the sheet's tree,
    # about 100 bytes a row: memory grows slowly, bounded by the sheet row limit safety enforces.
    per_row = (big - small) / (N_XLSX - N_XLSX // 10)
    assert per_row < 250
    assert safety.MAX_SHEET_ROWS * per_row < 300 * 1024**2
    assert calls[-1][0] == calls[-1][1] == path.stat().st_size
