"""The track step at 80 columns: the world column is in view, so no two visible rows read
the same, and a legend says what Dir's marks mean (the snapshots in test_snapshots show it)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Static
from tui_helpers import make_app, open_at_step, starter_session


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_every_row_reads_differently_in_the_columns_in_view(workspace, size):
    app = make_app(workspace, starter_session(workspace, "tracks"))
    async with app.run_test(size=size) as pilot:
        await open_at_step(app, pilot, 0)
        table = app.screen.query_one("#track-table", DataTable)
        shown = table.scrollable_content_region.width
        keys, widths = [], 0
        for column in table.ordered_columns:
            widths += column.get_render_width(table)
            if widths > shown:
                break
            keys.append(column.key.value)
        assert keys[:3] == ["name", "world", "dir"]  # the world is always in view
        rows = [tuple(str(table.get_cell(row, key)) for key in keys) for row in table.rows]
        assert len(set(rows)) == len(rows) == table.row_count > 100
        legend = str(app.screen.query_one("#track-legend", Static).content)
        assert "cw clockwise" in legend and "ccw counter-clockwise" in legend
        assert ("→ more" in legend) == (size[0] < 110)  # length and width off to the right
        assert app.screen.query_one("#track-map").border_subtitle == \
            "start: bar+arrow · racing line: ╌"
