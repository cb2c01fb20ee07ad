"""Terminal control characters in shown strings: escaped, visibly, everywhere drtui shows them."""

from __future__ import annotations

import json

import pytest

from drtui.cli import main as cli_main
from drtui.textsafe import printable

OSC52 = "\x1b]52;c;aGVsbG8=\x07"  # writes the terminal's clipboard
TITLE = "\x1b]0;pwned\x07"


@pytest.mark.parametrize("raw,shown", [
    ("plain-name_1.0 · ok ✓", "plain-name_1.0 · ok ✓"),
    (OSC52, "\\x1b]52;c;aGVsbG8=\\x07"),
    ("a\x1b[2Jb", "a\\x1b[2Jb"),  # clear screen
    ("line\nbreak\ttab\rcr\x00nul\x7fdel", "line\\x0abreak\\x09tab\\x0dcr\\x00nul\\x7fdel"),
    ("\x9b31m", "\\x9b31m"),  # the one-byte CSI of C1
    ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
    (42, "42"),
])
def test_printable(raw, shown):
    assert printable(raw) == shown


def test_runs_list_shows_escapes_and_no_markup(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # no cell cut short
    run = tmp_path / "runs" / "evil-20260101-000000"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({
        "id": run.name, "model": f"m{OSC52}{TITLE}", "status": "[red]running\x1b[2J",
        "provider": "local", "runner": "embedded", "iteration": 3, "created": 0}))
    assert cli_main(["--workspace", str(tmp_path), "runs", "list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "m\\x1b]52;c;aGVsbG8=\\x07\\x1b]0;pwned\\x07" in out
    assert "[red]running\\x1b[2J" in out
