"""The racing line in the studio: its reward templates in the reward step, rendered for the
draft's own track."""

from __future__ import annotations

from textual.widgets import Select
from tui_helpers import make_app, open_at_step, settle, starter_session

from drtui.session.store import load, save


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
