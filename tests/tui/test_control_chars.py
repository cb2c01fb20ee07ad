"""Escape sequences in a session's model name or a run's state never reach the terminal."""

from __future__ import annotations

import json

from tui_helpers import make_app, settle

from drtui.screens.runs import run_row

TITLE = "\x1b]0;pwned\x07"


async def test_home_screen_escapes_model_names(workspace):
    (workspace / "evil.toml").write_text(
        '[model]\nname = "m\\u001b]52;c;aGk=\\u0007"\n[track]\nworld = "x\\u001b[2J"\n')
    app = make_app(workspace)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(app, pilot)
        sessions = app.screen.query_one("#sessions")
        prompt = str(sessions.get_option_at_index(0).prompt)
        assert "\x1b" not in prompt and "\x07" not in prompt
        assert "m\\x1b]52;c;aGk=\\x07 · x\\x1b[2J" in prompt


def test_runs_screen_rows_escape_state(tmp_path):
    from drtui.runstore.store import load

    run = tmp_path / f"r{TITLE}"
    run.mkdir()
    (run / "state.json").write_text(json.dumps({
        "status": f"running{TITLE}", "provider": "\x1b[2J", "runner": "x", "iteration": 1}))
    cells = [str(c) for c in run_row(load(run))]
    assert not any("\x1b" in c or "\x07" in c for c in cells), cells
    assert cells[0] == "r\\x1b]0;pwned\\x07" and "\\x1b]0;pwned\\x07" in cells[1]
