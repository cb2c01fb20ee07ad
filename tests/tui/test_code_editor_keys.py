"""The reward step's code editor: ctrl+home / ctrl+end go to the start and end of the code;
f6 opens Runs there too, as on every screen (the line selection moved to ctrl+l, select all
stays on f7); help lists the editor's keys with their ids while it has the focus."""

from __future__ import annotations

import io

from tui_helpers import make_app, open_at_step, screen_name, settle, starter_session


async def _editor(app, pilot):
    await open_at_step(app, pilot, 5)
    app.screen.query_one("#reward-source").focus()
    await pilot.press("right", "enter")  # template -> code
    await settle(app, pilot)
    editor = app.screen.query_one("#reward-editor")
    editor.focus()
    await pilot.pause()
    return editor


async def test_ctrl_end_and_ctrl_home_move_through_the_whole_code(workspace):
    app = make_app(workspace, starter_session(workspace, "code-keys"), step=5)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await _editor(app, pilot)
        lines = editor.text.split("\n")
        assert len(lines) > 5 and editor.cursor_location == (0, 0)
        await pilot.press("ctrl+end")
        assert editor.cursor_location == (len(lines) - 1, len(lines[-1]))
        await pilot.press("ctrl+home")
        assert editor.cursor_location == (0, 0)
        await pilot.press("down", "ctrl+shift+end")
        assert editor.selected_text == "\n".join(lines[1:])
        await pilot.press("ctrl+home", "ctrl+l")
        assert editor.selected_text.rstrip("\n") == lines[0]
        await pilot.press("f7")
        assert editor.selected_text == editor.text


async def test_f6_opens_runs_from_inside_the_editor_and_help_lists_its_keys(workspace):
    app = make_app(workspace, starter_session(workspace, "code-f6"), step=5)
    async with app.run_test(size=(120, 40)) as pilot:
        editor = await _editor(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)
        from rich.console import Console

        from drtui.screens.help import HelpScreen, keys_table

        assert isinstance(app.screen, HelpScreen)
        console = Console(width=116, record=True, file=io.StringIO())
        console.print(keys_table(app.screen.below))  # what #help-keys shows
        keys = console.export_text()
        rows = {ln.split()[-1]: ln.split()[0] for ln in keys.splitlines() if ln.strip()}
        assert {i: rows.get(i) for i in ("code-end", "code-start", "code-select-line",
                                         "code-select-all", "runs")} == {
            "code-end": "^end", "code-start": "^home", "code-select-line": "^l",
            "code-select-all": "f7", "runs": "f6"}, keys
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.focused is editor
        text_before = editor.text
        await pilot.press("f6")
        await settle(app, pilot)
        assert screen_name(app) == "RunsScreen" and editor.text == text_before


async def test_a_keymap_that_moves_runs_moves_it_in_the_editor_too(workspace, _no_user_config):
    config = _no_user_config
    config.parent.mkdir(parents=True)
    config.write_text('[keymap]\nruns = "f9"\n', encoding="utf-8")
    app = make_app(workspace, starter_session(workspace, "code-f9"), step=5)
    async with app.run_test(size=(80, 24)) as pilot:
        editor = await _editor(app, pilot)
        await pilot.press("f6")  # no longer Runs, and not TextArea's line selection either
        await settle(app, pilot)
        assert app.focused is editor and editor.selected_text == ""
        await pilot.press("f9")
        await settle(app, pilot)
        assert screen_name(app) == "RunsScreen"
