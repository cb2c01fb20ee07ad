"""The analysis screen, keyboard only at 80x24: it loads a real DRfC simtrace in a worker,
fills every tab with the same tables as `drtui analyze`, steps through episodes on the track
and refuses a non-log file on screen."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from textual.widgets import DataTable, Static, TabbedContent
from tui_helpers import make_app, settle

from drtui.screens.analysis import AnalysisScreen, open_analysis
from drtui.widgets.analysis_track import AnalysisTrack
from drtui.widgets.run_charts import Chart

SAMPLE = Path(__file__).parents[1] / "data" / "simtrace" / "drfc-training-0-iteration.csv"


def _sample(workspace: Path) -> Path:
    path = workspace / SAMPLE.name
    shutil.copyfile(SAMPLE, path)
    return path


async def _loaded(app, pilot, path) -> AnalysisScreen:
    await settle(app, pilot)
    screen = open_analysis(app, path)
    await settle(app, pilot)
    deadline = time.monotonic() + 120  # the worker thread; generous for a loaded CI machine
    while time.monotonic() < deadline:
        if screen.report is not None or "✗" in str(
                screen.query_one("#analysis-summary", Static).render()):
            break
        await pilot.pause(0.05)
    await settle(app, pilot)
    # a DataTable sizes its columns to their cells on idle, which a loaded machine can delay
    # past settle(): wait for it, or a picture shows the ± columns one cell wide
    table = screen.query_one("#analysis-iterations", DataTable)
    while time.monotonic() < deadline and not _columns_fit(table):
        await pilot.pause(0.05)
    return screen


def _columns_fit(table: DataTable) -> bool:
    for key, column in table.columns.items():
        cells = [len(str(c)) for c in table.get_column(key)]
        if cells and column.content_width < max(cells):
            return False
    return True


async def test_tabs_tables_and_track(workspace):
    from drtui.analysis import tables
    from drtui.analysis.load import load

    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _loaded(app, pilot, _sample(workspace))
        assert isinstance(app.screen, AnalysisScreen) and screen.report is not None
        summary = str(screen.query_one("#analysis-summary", Static).render())
        assert "reinvent_base, 529 steps, 20 episodes, 0 laps" in summary
        assert screen.sub_title == "analysis: simtrace-csv"
        expected = tables.episodes(load(_sample(workspace)).steps)
        assert screen.query_one("#analysis-episodes", DataTable).row_count == len(expected)
        assert screen.query_one("#analysis-iterations", DataTable).row_count == 1
        assert screen.query_one(Chart).points == 1
        actions = screen.query_one("#analysis-actions", DataTable)
        total = sum(int(actions.get_cell_at((r, c)))
                    for r in range(actions.row_count) for c in range(1, 11))
        assert total == 529
        await pilot.press("5")
        await settle(app, pilot)
        assert screen.query_one(TabbedContent).active == "track"
        track = screen.query_one(AnalysisTrack)
        first = track.path.copy()
        assert len(first) == expected["steps"].iloc[0]
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert len(track.path) == expected["steps"].iloc[1]
        assert "episode 1 (2/20)" in str(screen.query_one("#analysis-episode", Static).render())
        rendered = track.render()
        assert len(rendered.plain.splitlines()) > 5
        await pilot.press("2")
        await settle(app, pilot)
        assert screen.query_one(TabbedContent).active == "episodes"
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, AnalysisScreen)


async def test_a_non_log_is_refused_on_screen(workspace):
    junk = workspace / "notes.txt"
    junk.write_text("hello\n")
    app = make_app(workspace)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _loaded(app, pilot, junk)
        text = str(screen.query_one("#analysis-summary", Static).render())
        assert "not a DeepRacer log" in text and "expected one of" in text
        await pilot.press("5")  # the tabs still work
        await settle(app, pilot)
        assert screen.query_one(TabbedContent).active == "track"


def test_snapshot_80x24(snap_compare, workspace):
    path = _sample(workspace)

    async def run_before(pilot) -> None:
        await _loaded(pilot.app, pilot, path)

    assert snap_compare(make_app(workspace), terminal_size=(80, 24), run_before=run_before)
