"""Broken rules show the core's message where the user is looking, and nothing is saved or
written while they stand."""

from __future__ import annotations

import pytest
from tui_helpers import keys, make_app, open_at_step, problem_text, settle, starter_session

from drtui.errors import InvalidInput


async def _write_and_save(app, pilot) -> None:
    await pilot.press("ctrl+g")
    await settle(app, pilot)
    await pilot.press("ctrl+s")
    await settle(app, pilot)


async def test_refused_sensor_combination(workspace):
    path = starter_session(workspace, "two-lidars")
    before = path.read_text()
    app = make_app(workspace, path, step=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 1)
        await pilot.press("down", "down", "down", "space", "down", "space")  # LIDAR, SECTOR_LIDAR
        message = problem_text(app, "car.sensors")
        assert "at most one lidar is allowed; LIDAR and SECTOR_LIDAR are 2 lidars" in message
        labels = {c.name: str(c.label) for c in app.screen.query("SensorPicker Check")}
        assert labels["LIDAR"].startswith("✗") and labels["SECTOR_LIDAR"].startswith("✗")
        assert labels["FRONT_FACING_CAMERA"].startswith("✓")
        assert "✗ 1 problem" in str(app.screen.query_one("#step-status").render())
        await _write_and_save(app, pilot)
        # a second camera breaks another rule, also shown as it is ticked
        await pilot.press("up", "up", "space")  # STEREO_CAMERAS
        assert "exactly one camera is allowed" in problem_text(app, "car.sensors")
    assert not (workspace / "two-lidars").exists()
    assert path.read_text() == before


async def test_out_of_range_hyperparameter(workspace):
    path = starter_session(workspace, "hot-lr")
    before = path.read_text()
    app = make_app(workspace, path, step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 4)
        await pilot.press(*["tab"] * 7)
        assert app.focused.id == "f-hyperparameters-lr-editor"
        await pilot.press(*keys("0.5"))
        field = app.screen.query_one("#f-hyperparameters-lr")
        shown = str(field.query_one("FieldProblem").render())
        assert shown == "✗ must be within 1e-08 .. 0.001 (got 0.5)"
        assert app.screen.query_one("#f-hyperparameters-lr FieldProblem").display
        await _write_and_save(app, pilot)
        # an unparsable value is a problem too, with the core's wording
        await pilot.press("ctrl+u", *keys("fast"))
        assert problem_text(app, "hyperparameters.lr") == "must be a number (got text 'fast')"
        # the review lists it under its step
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n")
        await settle(app, pilot)
        summary = str(app.screen.query_one("#review-summary").render())
        assert "5 Hyper: hyperparameters.lr" in summary
        await _write_and_save(app, pilot)
    assert not (workspace / "hot-lr").exists()
    assert path.read_text() == before


async def test_reward_syntax_error_shows_its_line(workspace):
    path = starter_session(workspace, "bad-reward")
    app = make_app(workspace, path, step=5)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 5)
        await pilot.press("right", "enter", "tab")  # code, into the editor
        assert app.focused.id == "reward-editor"
        await pilot.press(*keys("x = 1\ndef broken(:\n"))
        message = problem_text(app, "reward.code")
        assert message.startswith("line 2: SyntaxError"), message
        await _write_and_save(app, pilot)
        assert not (workspace / "bad-reward").exists()

        # code that compiles but fails on real params: the one check names the line, beside
        # the editor, in the step's header and in the step bar, as `drtui validate` does
        editor = app.screen.query_one("#reward-editor")
        editor.load_text("def reward_function(params):\n    x = 1\n    return params['nope']\n")
        await pilot.pause(0.4)
        await settle(app, pilot)
        message = problem_text(app, "reward.code")
        assert message.startswith("line 3: KeyError: 'nope' at sample 0"), message
        assert "(run on sample params of reInvent2019_track)" in message
        assert str(app.screen.query_one("#step-status").render()) == "✗ 1 problem"
        assert app.screen.query_one("#step-bar").states[5] is True
        assert str(app.screen.query_one("#reward-check").render()) == ""
        from drtui.session import check
        from drtui.session.store import save

        save(app.draft.session(), workspace / "same.toml")
        with pytest.raises(InvalidInput) as refused:
            check.load(workspace / "same.toml")
        assert str(refused.value.problems[0]) == f"reward.code: {message}"
        await pilot.press("ctrl+g")
        await settle(app, pilot)
    assert not (workspace / "bad-reward").exists()
