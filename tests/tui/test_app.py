"""The app around the wizard: home, dialogs, navigation, palette, help, themes, NO_COLOR,
review diffs, and the start-up import budget."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tui_helpers import (
    files_under,
    keys,
    make_app,
    open_at_step,
    problem_text,
    screen_name,
    settle,
    starter_session,
)

from drtui.cli import main as cli_main


async def test_home_lists_sessions_and_opens_one(workspace):
    starter_session(workspace, "first-model")
    starter_session(workspace, "second-model", scenario="head_to_head")
    (workspace / "notes.toml").write_text("schema_version = 1\ntitle = 'half a session'\n")
    # other tools' TOML files are not sessions, and a huge file is not read
    (workspace / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with open(workspace / "huge.toml", "wb") as f:
        f.truncate(300 * 2**20)
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.title == "drtui"
        assert str(app.screen.query_one("#sessions-title").render()) == "Sessions"
        sessions = app.screen.query_one("#sessions")
        prompts = [str(sessions.get_option_at_index(i).prompt) for i in
                   range(sessions.option_count)]
        assert [p.split()[0] for p in prompts] == ["first-model.toml", "huge.toml",
                                                  "notes.toml", "second-model.toml"]
        assert "larger than 1 MiB" in prompts[1] and "not a drtui session" in prompts[2]
        await pilot.press("down", "down", "down", "enter")
        await settle(app, pilot)
        assert screen_name(app) == "TrackStep"
        assert app.draft.get("track.world") == "reInvent2019_wide"
        assert app.draft.get("race.type") == "HEAD_TO_BOT"
        # escape goes home, where the draft can be resumed
        await pilot.press("escape")
        await settle(app, pilot)
        assert screen_name(app) == "HomeScreen"
        assert "Resume" in str(sessions.get_option_at_index(0).prompt)
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen_name(app) == "TrackStep"


async def test_new_session_refuses_a_bad_name(workspace):
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        await pilot.press(*keys("bad name!\n"))
        await pilot.pause()
        assert screen_name(app) == "NewSessionDialog"
        assert "must be 1-64 characters" in str(app.screen.query_one("#new-problem").render())
        await pilot.press("escape")
        await pilot.pause()
        assert screen_name(app) == "HomeScreen" and app.draft is None


async def test_back_and_forward_keep_every_value(workspace):
    app = make_app(workspace, starter_session(workspace, "keeper"), step=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 2)
        await pilot.press("tab", "tab", "down", "d")  # remove action 1
        assert len(app.draft.get("action_space.actions")) == 9
        await pilot.press("ctrl+n", "ctrl+n")
        await settle(app, pilot)
        await pilot.press(*["tab"] * 7, *keys("0.0002"))
        await pilot.press("ctrl+b", "ctrl+b")
        await settle(app, pilot)
        assert screen_name(app) == "ActionSpaceStep"
        assert app.screen.query_one("#action-table").row_count == 9
        await pilot.press("ctrl+n", "ctrl+n")  # two quick presses: two steps
        await settle(app, pilot)
        assert screen_name(app) == "HyperparametersStep"
        assert app.screen.query_one("#f-hyperparameters-lr-editor").value == "0.0002"


async def test_generate_actions_from_levels(workspace):
    app = make_app(workspace, starter_session(workspace, "levels", scenario="speed"), step=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 2)
        assert len(app.draft.get("action_space.actions")) == 8
        app.screen.query_one("#f-action-space-generator-steering-levels-editor").focus()
        await pilot.press(*keys("3"), "tab", "tab", *keys("3"), "tab", "tab", *keys("2"))
        # the explicit list stays until Generate is pressed
        assert len(app.draft.get("action_space.actions")) == 8
        await pilot.press("tab", "enter")  # the Generate button
        await settle(app, pilot)
        assert app.draft.get("action_space.generator")["steering_levels"] == 3
        assert app.screen.query_one("#action-table").row_count == 9
        assert app.draft.problems() == []


async def test_palette_help_and_theme(workspace):
    app = make_app(workspace, starter_session(workspace, "palette"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 0)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*keys("step 5"))
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen_name(app) == "HyperparametersStep"

        await pilot.press("f1")
        await pilot.pause()
        assert screen_name(app) == "HelpScreen"
        table = app.screen.query_one("#help-keys").content
        actions = {str(cell).lower() for cell in table.columns[1].cells}
        assert {"next", "back", "save", "write", "help", "palette", "focus"} <= actions
        await pilot.press("escape")
        await pilot.pause()
        assert screen_name(app) == "HyperparametersStep"

        app.goto_step(7)
        await settle(app, pilot)
        assert app.current_theme.dark
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == "textual-light"
        assert {c.theme for c in app.screen.query("CodeArea")} == {"drtui-light"}


async def test_no_color_keeps_state_in_symbols(workspace, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(workspace, starter_session(workspace, "mono"), step=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 1)
        assert app.no_color
        await pilot.press("down", "down", "space")  # a second camera
        assert str(app.screen.query_one("#step-status").render()) == "✗ 1 problem"
        shown = app.screen.query("FieldProblem").filter(".-shown").first()
        assert str(shown.render()).startswith("✗ exactly one camera is allowed")
        assert str(app.screen.query_one("#step-bar").render()).count("✗") == 1


async def test_import_a_drfc_folder(workspace, tmp_path):
    source = starter_session(tmp_path, "imported", scenario="object_avoidance")
    drfc = tmp_path / "drfc"
    assert cli_main(["generate", str(source), "-o", str(drfc)]) == 0
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press(*keys(str(drfc)), "tab", *keys("from-drfc\n"))
        await settle(app, pilot)
        assert screen_name(app) == "TrackStep"
        assert app.draft.model_name == "from-drfc"
        assert app.draft.get("race.type") == "OBJECT_AVOIDANCE"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    assert tomllib.loads((workspace / "from-drfc.toml").read_text())["model"]["name"] == \
        "from-drfc"


async def test_review_shows_disk_state_and_diffs(workspace):
    path = starter_session(workspace, "diffs")
    app = make_app(workspace, path, step=7)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 7)
        labels = lambda: {str(t.label) for t in app.screen.query("#review-files Tab")}  # noqa: E731
        assert "run.env +" in labels()
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        assert all(label.endswith("=") for label in labels())
        app.goto_step(4)
        await settle(app, pilot)
        await pilot.press(*["tab"] * 7, *keys("0.0002"), "ctrl+n", "ctrl+n", "ctrl+n")
        await settle(app, pilot)
        assert "hyperparameters.json ~" in labels() and "run.env =" in labels()
        await pilot.press("f4")
        await pilot.pause()
        diff = app.screen.query_one("#file-hyperparameters-json-code").text
        assert '-  "lr": 0.0003,' in diff and '+  "lr": 0.0002,' in diff
        # a different output folder: every file is new there
        field = app.screen.query_one("#output-dir")
        field.value = "elsewhere"
        await settle(app, pilot)
        assert all(label.endswith("+") for label in labels())
        summary = lambda: str(app.screen.query_one("#review-summary").render())  # noqa: E731
        assert summary().endswith("Unsaved changes.")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert summary().endswith("Saved.")  # ctrl+s, not only the button, updates it
        await pilot.press("ctrl+g")
        await settle(app, pilot)
    assert files_under(workspace / "elsewhere")["custom_files/hyperparameters.json"] == \
        files_under(workspace / "diffs")["custom_files/hyperparameters.json"].replace(
            b"0.0003", b"0.0002")


async def test_an_invalid_session_opens_with_its_problems(workspace):
    path = starter_session(workspace, "broken")
    path.write_text(path.read_text().replace("lr = 0.0003", "lr = 0.5"))
    app = make_app(workspace, path, step=7)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 7)
        assert "✗" in str(app.screen.query_one("#step-bar").render())
        assert "5 Hyper: hyperparameters.lr: must be within" in \
            str(app.screen.query_one("#review-summary").render())
        app.goto_step(4)
        await settle(app, pilot)
        assert problem_text(app, "hyperparameters.lr") == \
            "must be within 1e-08 .. 0.001 (got 0.5)"


def test_cli_opens_the_app(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr("drtui.app.run_app", lambda session, workspace: calls.append(
        (session, workspace)) or 0)
    assert cli_main([]) == 0
    assert cli_main(["--workspace", str(tmp_path), "tui", "model.toml"]) == 0
    assert calls == [(None, None), ("model.toml", str(tmp_path))]


def test_first_paint_imports_only_textual():
    code = ("import sys, drtui.app; heavy = [m for m in ('pydantic', 'numpy', 'jinja2', "
            "'drtui.session', 'drtui.screens.track') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


async def test_quit_warns_about_unsaved_changes(workspace):
    app = make_app(workspace, starter_session(workspace, "unsaved"), step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 4)
        await pilot.press("tab", *keys("0.02"))  # beta_entropy
        assert app.draft.dirty
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


def test_every_binding_has_an_id_and_a_tooltip():
    import importlib
    import pkgutil

    from textual.binding import Binding

    import drtui.screens
    import drtui.widgets

    modules = [importlib.import_module("drtui.app")]
    for package in (drtui.screens, drtui.widgets):
        modules += [importlib.import_module(f"{package.__name__}.{m.name}")
                    for m in pkgutil.iter_modules(package.__path__)]
    checked = 0
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                for binding in value.__dict__.get("BINDINGS", []):
                    assert isinstance(binding, Binding), (value, binding)
                    assert binding.id and binding.tooltip, (value, binding)
                    checked += 1
    assert checked >= 15


async def test_import_shows_its_notes_before_opening(workspace):
    from pathlib import Path

    corpus = Path(__file__).parents[1] / "data" / "import_corpus" / "ctspeedsters-4-workers"
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press(*keys(str(corpus)), "tab", *keys("ct-speedsters\n"))
        await settle(app, pilot)
        assert screen_name(app) == "ImportDialog"  # the notes are shown, nothing opened yet
        text = str(app.screen.query_one("#import-notes").render())
        assert "62 discrete actions" in text and "no reward_function.py" in text
        await pilot.press("enter")  # Continue
        await settle(app, pilot)
        assert screen_name(app) == "TrackStep"
        assert app.draft.model_name == "ct-speedsters"


async def test_saving_from_the_studio_keeps_a_hand_edited_sessions_comments(workspace):
    path = starter_session(workspace, "commented")
    text = path.read_text().replace("[hyperparameters]", "[hyperparameters]\n# tuned by hand")
    text = text.replace('world = "reInvent2019_track"', 'world = "reInvent2019_track"  # 2019')
    path.write_text("# my notes on this model\n" + text)
    app = make_app(workspace, path, step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 4)
        await pilot.press(*["tab"] * 7, *keys("0.0002"), "ctrl+s")
        await settle(app, pilot)
    saved = path.read_text()
    assert tomllib.loads(saved)["hyperparameters"]["lr"] == 0.0002
    for note in ("# my notes on this model", "# tuned by hand", '"reInvent2019_track"  # 2019'):
        assert note in saved
