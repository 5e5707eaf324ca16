"""Every action the code writes to the audit log has a plain-words description on the log page."""

from __future__ import annotations

import re
from pathlib import Path

from voicescount.accounts.audit_log import DESCRIPTIONS

SRC = Path(__file__).resolve().parents[2] / "src" / "voicescount"


def test_every_audited_action_is_described():
    written = {
        name
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
        for pattern in (r'\baction="([a-z_]+)"', r'\b_audit\(\s*\w+,\s*\w+,\s*"([a-z_]+)"')
        for name in re.findall(pattern, path.read_text(encoding="utf-8"))
    }
    assert written, "no audit action found: the pattern no longer matches how entries are written"
    assert sorted(written - DESCRIPTIONS.keys()) == []
