"""The hyperparameters step shows (and the session rules check) only what the algorithm uses:
a PPO session neither shows nor validates SAC's sac_alpha. The action generator keeps showing
its last valid actions while a value is half typed, never 0 actions."""

from __future__ import annotations

from textual.widgets import Input
from tui_helpers import keys, make_app, open_at_step, settle, starter_session

from drtui.session.starter import starter
from drtui.session.validate import session_problems


def _paths(session) -> set[str]:
    return {p.path for p in session_problems(session)}


def test_sac_alpha_is_checked_only_in_a_sac_session():
    ppo = starter("ppo")
    ppo.hyperparameters.sac_alpha = 5.0  # outside 0..1, but PPO never reads it
    assert ppo.training.algorithm == "clipped_ppo"
    assert "hyperparameters.sac_alpha" not in _paths(ppo)
    sac = ppo.model_copy(deep=True)
    sac.training.algorithm = "sac"
    problems = [p for p in session_problems(sac) if p.path == "hyperparameters.sac_alpha"]
    assert problems and "0 .. 1" in problems[0].message


async def test_the_hyperparameters_step_shows_sac_alpha_only_for_sac(workspace):
    app = make_app(workspace, starter_session(workspace, "algo"), step=4)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 4)
        assert app.screen.query("#f-hyperparameters-lr-editor")
        assert not app.screen.query("#f-hyperparameters-sac-alpha-editor")
        app.draft.set("training.algorithm", "sac")
        app.goto_step(3)
        await settle(app, pilot)
        app.goto_step(4)
        await settle(app, pilot)
        assert app.screen.query("#f-hyperparameters-sac-alpha-editor")


async def test_a_half_typed_generator_value_keeps_the_last_valid_actions(workspace):
    app = make_app(workspace, starter_session(workspace, "gen", scenario="speed"), step=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_at_step(app, pilot, 2)
        app.screen.query_one("#f-action-space-generator-steering-levels-editor").focus()
        await pilot.press(*keys("3"), "tab", "tab", *keys("3"), "tab", "tab", *keys("2"))
        await pilot.press("tab", "enter")  # Generate: 3 x 3 = 9 actions
        await settle(app, pilot)
        table = app.screen.query_one("#action-table")
        assert table.row_count == 9
        editor = app.screen.query_one("#f-action-space-generator-min-speed-editor", Input)
        editor.focus()
        await pilot.press("end", *["backspace"] * len(editor.value), *keys("0"))
        await settle(app, pilot)
        # min_speed 0 is below 0.1 on the way to typing 0.8: still the 9 actions, and why
        assert app.draft.get("action_space.generator")["min_speed"] == 0
        assert table.row_count == 9
        note = str(app.screen.query_one("#discrete-note").render())
        assert note.startswith("9 actions from the generator below (its last valid values")
        assert any(p.path.startswith("action_space.generator") for p in app.draft.problems())
        await pilot.press(*keys(".8"))
        await settle(app, pilot)
        assert app.draft.get("action_space.generator")["min_speed"] == 0.8
        speeds = {a["speed"] for a in app.screen._actions()}
        assert table.row_count == 9 and min(speeds) == 0.8
        assert str(app.screen.query_one("#discrete-note").render()) == \
            "9 actions from the generator below"
