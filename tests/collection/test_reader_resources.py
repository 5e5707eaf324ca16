"""Every reader and sniffer keeps its memory bounded whatever the input (issue 12, defect 3).

Each case writes a hostile file to ``tmp_path`` and reads it in a fresh Python process the way an
upload is read: ``detect_format`` (when the format is "auto") then ``read_records`` to the end. The
child reports its own peak resident set size (Linux ``VmHWM``: ``ru_maxrss`` would count the forked
parent's pages, kept across ``exec``), which must stay under
``PEAK_RSS_LIMIT_MB``; the error, if any, must be an ``ImportFileError`` saying what is wrong.

Baseline: the child after importing the readers (with openpyxl, charset-normalizer, numpy) and
before reading anything is about 46 MB on the development machine (Python 3.11, Linux).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from voicescount.collection.readers import jsonstream

PEAK_RSS_LIMIT_MB = 150
"""Peak RSS of the reading process; the baseline (imports done, nothing read) is about 46 MB."""

CHILD = """
import json, re, sys
from voicescount.collection import importing
from voicescount.collection.errors import ImportFileError


def peak_mb():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) // 1024


path, fmt = sys.argv[1], sys.argv[2]
baseline = peak_mb()
error = None
count = 0
try:
    if fmt == "auto":
        fmt = importing.detect_format(path, sys.argv[3])
    for _record in importing.read_records(path, fmt, display_name=sys.argv[3]):
        count += 1
except ImportFileError as exc:
    error = str(exc)
peak = peak_mb()
print(json.dumps({"format": fmt, "error": error, "count": count, "baseline": baseline, "peak": peak}))
"""


def read_in_child(path: Path, fmt: str = "auto", name: str | None = None) -> dict:
    """Detect (``fmt="auto"``) and read ``path`` in a fresh process; its result and peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), fmt, name or path.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["peak"] < PEAK_RSS_LIMIT_MB, result
    return result


def nested_kobo(path: Path, depth: int = 20_000) -> Path:
    """The upload of defect 3: one submission whose answer is a list nested ``depth`` deep."""
    path.write_text('{"results":[{"a":' + "[" * depth + "]" * depth + "}]}")
    return path


# --- deep nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["auto", "kobo-json"])
def test_deeply_nested_json_is_refused_in_bounded_memory(tmp_path, fmt):
    # Before the fix: auto-detection peaked at 1,015 MB (ijson built a path prefix per event for a whole
    # buffer) and both said "The JSON is invalid or truncated before the first record."
    result = read_in_child(nested_kobo(tmp_path / "deep.json"), fmt)
    limit = jsonstream.MAX_DEPTH  # the "[" opening level limit + 1 is at byte 14 + limit
    assert f"nested deeper than {limit} levels at byte {14 + limit}" in result["error"]
    assert result["error"].startswith("deep.json: ")
    assert result["count"] == 0
