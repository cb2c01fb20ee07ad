"""A served drtui (DRTUI_WORKSPACE_ONLY=1): paths stay in the workspace, replacing asks first."""

from __future__ import annotations

import pytest
from tui_helpers import make_app, open_at_step, settle, starter_session

from drtui.screens.confirm_replace import ConfirmReplace


@pytest.fixture
def served(monkeypatch):
    monkeypatch.setenv("DRTUI_WORKSPACE_ONLY", "1")


async def test_session_file_elsewhere_is_a_problem_and_replacing_asks(workspace, served):
    path = starter_session(workspace, "mine")
    other = starter_session(workspace, "other")
    before = other.read_text()
    app = make_app(workspace, session=path, step=7)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_at_step(app, pilot, 7)
        field = app.screen.query_one("#session-path")
        for outside in ("../elsewhere.toml", str(workspace.parent / "abs.toml")):
            field.value = outside
            await settle(app, pilot)
            problems = [str(p) for p in app.draft.problems()]
            assert any(p.startswith("session_file: the session file") and
                       "is outside the workspace" in p for p in problems), problems
            await pilot.press("ctrl+s")
            await settle(app, pilot)
            assert not (workspace.parent / "elsewhere.toml").exists()
            assert not (workspace.parent / "abs.toml").exists()
        field.value = "other.toml"  # inside, but another session's file
        await settle(app, pilot)
        assert app.draft.problems() == []
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmReplace)
        await pilot.press("enter")  # the focused answer is "Keep them"
        await settle(app, pilot)
        assert other.read_text() == before
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        app.screen.query_one("#replace").press()
        await settle(app, pilot)
        assert other.read_text() != before and 'name = "mine"' in other.read_text()
        await pilot.press("ctrl+s")  # now this draft's own file: no question
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmReplace)


async def test_writing_over_other_files_asks_once(workspace, served):
    path = starter_session(workspace, "mine")
    out = workspace / "mine" / "custom_files"
    out.mkdir(parents=True)
    (out / "reward_function.py").write_text("# someone else's\n")
    app = make_app(workspace, session=path, step=7)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_at_step(app, pilot, 7)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmReplace)
        shown = str(app.screen.query_one("#replace-names").render())
        assert shown.strip() == "custom_files/reward_function.py"
        await pilot.press("escape")
        await settle(app, pilot)
        assert (out / "reward_function.py").read_text() == "# someone else's\n"
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        app.screen.query_one("#replace").press()
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        await settle(app, pilot)
        assert (out / "reward_function.py").read_text() != "# someone else's\n"
        assert (out / "model_metadata.json").is_file()
        await pilot.press("ctrl+g")  # written by this draft: no second question
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmReplace)


async def test_import_folder_outside_is_refused(workspace, served):
    from drtui.screens.import_folder import ImportDialog

    app = make_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert isinstance(app.screen, ImportDialog)
        app.screen.query_one("#import-folder").value = "../"
        app.screen.do_import()
        await settle(app, pilot)
        text = str(app.screen.query_one("#import-problem").render())
        assert text.startswith("✗ the folder ..") and "is outside the workspace" in text


async def test_the_newest_refusal_is_the_one_on_screen(workspace, served):
    """Refusals in a row (tall toasts, 100x30 as over ssh): the one showing is the newest."""
    path = starter_session(workspace, "mine")
    app = make_app(workspace, session=path, step=7)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await open_at_step(app, pilot, 7)
        app.screen.query_one("#session-path").value = "../elsewhere.toml"
        app.screen.query_one("#output-dir").value = "../../out"
        await settle(app, pilot)
        for key in ("ctrl+s", "ctrl+s", "ctrl+g"):
            await pilot.press(key)
            await settle(app, pilot)
        titles = [n.title for n in app._notifications]
        assert len(titles) == 1 and titles[0].startswith("✗ Nothing written: 2 problems"), titles
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "Nothing written" in shown  # on the screen, not scrolled away
        assert not (workspace.parent / "out").exists()
