"""The racing line in the studio: its reward templates in the reward step, rendered for the
draft's own track; the action space "from the racing line" in the action-space step."""

from __future__ import annotations

from textual.widgets import Input, Select, Static
from tui_helpers import keys, make_app, open_at_step, settle, starter_session

from drtui.raceline.actions import line_actions
from drtui.session.raceline import session_line
from drtui.session.store import load, save
from drtui.widgets.action_plot import ActionSpacePlot


async def test_the_reward_step_offers_the_racing_line_templates_for_the_drafts_track(workspace):
    path = starter_session(workspace, "fast")
    session = load(path)
    session.track.world = "Tokyo_Training_track"
    save(session, path)
    app = make_app(workspace, path, step=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_at_step(app, pilot, 5)
        select = app.screen.query_one("#reward-template", Select)
        offered = [value for _, value in select._options]
        assert "raceline_time_trial" in offered and "raceline_object_avoidance" in offered
        select.value = "raceline_time_trial"
        await settle(app, pilot)
        assert app.draft.get("reward.template") == "raceline_time_trial"
        preview = app.screen.query_one("#template-preview").text
        assert "Racing line: Tokyo_Training_track, k1999 method" in preview
        assert "RACING_LINE = [" in preview
        await pilot.pause(0.6)  # the reward check runs once edits pause
        await settle(app, pilot)
        assert app.draft.reward_summary().startswith("ran on 32 sample positions of "
                                                     "Tokyo_Training_track")
        assert not [p for p in app.draft.errors() if p.path.startswith("reward")]


async def test_the_action_space_step_fills_the_actions_from_the_racing_line(workspace):
    path = starter_session(workspace, "line-actions", scenario="speed")
    session = load(path)
    session.track.world = "Spain_track"
    save(session, path)
    before = len(session.action_space.discrete_actions())
    expected = line_actions(session_line(session), 9)  # the draft's track and speed range
    app = make_app(workspace, path, step=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_at_step(app, pilot, 2)
        count = app.screen.query_one("#line-count", Input)
        count.value = ""
        count.focus()
        await pilot.press(*keys("9"), "enter")
        await settle(app, pilot)
        assert app.draft.get("action_space.actions") == expected
        assert app.draft.get("action_space.type") == "discrete"
        assert "generator" not in app.draft.get("action_space")
        note = str(app.screen.query_one("#line-note", Static).render())
        assert note.startswith(f"{len(expected)} actions from the racing line of Spain_track "
                               f"replace {before} actions")
        plot = app.screen.query_one(ActionSpacePlot)
        assert plot.line and len(plot.line) == len(session_line(session).points)
        assert not [p for p in app.draft.errors() if p.path.startswith("action_space")]


async def test_a_bad_count_is_named_and_changes_nothing(workspace):
    app = make_app(workspace, starter_session(workspace, "bad-count"), step=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_at_step(app, pilot, 2)
        space = app.draft.get("action_space")
        app.screen.query_one("#line-count", Input).value = "40"
        await pilot.click("#from-line")
        await settle(app, pilot)
        assert app.draft.get("action_space") == space
        assert any("must be a whole number within 2 .. 30 (got '40')" in n.message
                   for n in app._notifications)


def _raceline_cells(text) -> int:
    """Cells of a rendered map drawn in the racing line's colour (red or red3)."""
    return sum(end - start for start, end, style in text.spans
               if str(style) in ("red", "red3"))


async def test_the_track_step_draws_the_racing_line_and_caches_it_in_the_workspace(workspace):
    from drtui.raceline.cache import cache_folder
    from drtui.widgets.track_map import TrackMap

    app = make_app(workspace, starter_session(workspace, "map-line"), step=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_at_step(app, pilot, 0)
        track_map = app.screen.query_one(TrackMap)
        assert track_map.line_key == "reInvent2019_track|False"
        assert _raceline_cells(track_map.render()) > 20
        assert len(list(cache_folder(workspace).glob("*.npy"))) == 1
        app.screen.query_one("#track-reverse").toggle()
        await settle(app, pilot)
        assert track_map.line_key == "reInvent2019_track|True"
        assert len(list(cache_folder(workspace).glob("*.npy"))) == 2


async def test_the_monitor_map_draws_the_runs_racing_line_apart_from_its_paths(workspace):
    import numpy as np
    from textual.app import App

    from drtui.files import render
    from drtui.runstore import store
    from drtui.session.starter import starter
    from drtui.widgets.run_model import RunModel
    from drtui.widgets.run_track import RunTrack

    session = starter("mon-line")
    session.track.world = "reinvent_base"
    run = store.create(workspace, session, render.render(session), provider="local",
                       runner="embedded", now=1.0e9)
    model = RunModel.for_run(run)  # off the UI thread in the monitor
    assert model.raceline is not None and model.raceline.shape[1] == 2

    class Host(App):
        def compose(self):
            yield RunTrack()

    async with Host().run_test(size=(60, 24)) as pilot:
        track = pilot.app.query_one(RunTrack)
        track.set_world(model.world, model.raceline)
        track.set_path(np.asarray(model.raceline[:20]) + 0.05)
        await pilot.pause()
        text = track.render()
        assert _raceline_cells(text) > 10
        assert any(str(style) == "bold cyan" for _, _, style in text.spans)  # the path
