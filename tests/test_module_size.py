"""No drtui module over 450 lines without a written reason at its top."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "drtui"
LIMIT = 450
MARK = "# Over 450 lines: "


def long_modules_without_reason() -> list[str]:
    missing = []
    for path in sorted(ROOT.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) <= LIMIT:
            continue
        reason = lines[0].removeprefix(MARK) if lines and lines[0].startswith(MARK) else ""
        if len(reason.strip()) < 20:
            missing.append(f"{path.relative_to(ROOT.parent)} ({len(lines)} lines)")
    return missing


def test_every_long_module_says_why():
    missing = long_modules_without_reason()
    assert not missing, (f"modules over {LIMIT} lines need a first line '{MARK}<why>' or a "
                         "split: " + ", ".join(missing))


def test_the_check_sees_a_long_module(tmp_path, monkeypatch):
    pkg = tmp_path / "drtui"
    pkg.mkdir()
    (pkg / "long.py").write_text("x = 1\n" * (LIMIT + 1), encoding="utf-8")
    (pkg / "said.py").write_text(MARK + "a reason long enough to read\n" + "x = 1\n" * LIMIT,
                                 encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", pkg)
    assert long_modules_without_reason() == ["drtui/long.py (451 lines)"]
