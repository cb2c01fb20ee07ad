"""The track step draws a session's own route file (`[track] route`) instead of its world's."""

from __future__ import annotations

import numpy as np
from tui_helpers import make_app, open_at_step, starter_session

from drtui.catalog.tracks import load_waypoints
from drtui.widgets import track_map
from drtui.widgets.track_map import TrackMap


async def test_the_track_step_draws_the_sessions_route(workspace):
    path = starter_session(workspace, "own-route")
    np.save(workspace / "own.npy", load_waypoints("Straight_track"))
    path.write_text(path.read_text().replace('[track]\n', '[track]\nroute = "own.npy"\n', 1))
    app = make_app(workspace, path, step=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_at_step(app, pilot, 0)
        tmap = app.screen.query_one(TrackMap)
        assert tmap.world == str(workspace / "own.npy")
        assert "Drives the session's own route own.npy (track.route)" in \
            str(app.screen.query_one("#track-description").render())
        drawn = str(tmap.render())
        assert drawn.strip() and "unknown track" not in drawn
        (workspace / "own.npy").write_bytes(b"junk")  # a broken file: its problem, not a map
        track_map._map.cache_clear()
        assert "not a readable .npy array" in str(tmap.render())
