"""Terminal plots: braille canvas, track maps, action-space pictures, line charts."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from drtui.catalog.tracks import catalogue, load_waypoints, worlds_with_waypoints
from drtui.plots.action_space import action_space_canvas, action_space_plot
from drtui.plots.braille import BrailleCanvas, WorldTransform, bresenham
from drtui.plots.lines import line_chart, line_chart_canvas, sparkline
from drtui.plots.track_map import DEFAULT_STYLES, HEAT_LAYERS, track_map, track_map_text

WORLDS = worlds_with_waypoints()
LOOPS = [w for w in WORLDS if catalogue()[w].is_loop]  # all but simapp's Straight_track


def dot_cells(canvas: BrailleCanvas) -> np.ndarray:
    """(height, width) bool: cells holding at least one dot."""
    return canvas.dots.reshape(canvas.height, 4, canvas.width, 2).any(axis=(1, 3))


def inside(polygon: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon for many points (an independent check on the drawing)."""
    x, y = pts[:, 0][:, None], pts[:, 1][:, None]
    x0, y0 = polygon[:-1, 0][None], polygon[:-1, 1][None]
    x1, y1 = polygon[1:, 0][None], polygon[1:, 1][None]
    crosses = (y0 > y) != (y1 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return (crosses & (x < x_at)).sum(axis=1) % 2 == 1


def cell_centres_world(canvas: BrailleCanvas, mask: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(mask)
    x, y = canvas.transform.to_world(cols * 2 + 1.0, rows * 4 + 2.0)
    return np.column_stack([x, y])


# -- braille canvas ----------------------------------------------------------------------------

@pytest.mark.parametrize("w,h", [(1, 1), (7, 3), (80, 24), (200, 60)])
def test_canvas_rows_have_the_canvas_size(w, h):
    canvas = BrailleCanvas(w, h)
    assert canvas.rows() == [" " * w] * h
    canvas.line(0, 0, 2 * w - 1, 4 * h - 1, "x")
    rows = canvas.rows()
    assert len(rows) == h and all(len(r) == w for r in rows)
    assert all(r.strip() for r in rows)  # a full diagonal touches every row


def test_each_dot_maps_to_its_unicode_braille_bit():
    # ISO 11548-1: dots 1-2-3-7 down the left column, 4-5-6-8 down the right.
    expected = {(0, 0): "⠁", (0, 1): "⠂", (0, 2): "⠄", (0, 3): "⡀",
                (1, 0): "⠈", (1, 1): "⠐", (1, 2): "⠠", (1, 3): "⢀"}
    for (x, y), char in expected.items():
        canvas = BrailleCanvas(2, 1)
        canvas.set(x + 2, y)  # second cell, so the column offset matters too
        assert canvas.rows() == [" " + char]
    full = BrailleCanvas(1, 1)
    full.fill_rect(0, 0, 1, 3)
    assert full.rows() == ["⣿"]


def test_bresenham_is_connected_hits_both_ends_and_hugs_the_ideal_line():
    rng = np.random.default_rng(7)
    ends = rng.integers(-40, 40, size=(200, 4))
    for x0, y0, x1, y1 in ends:
        xs, ys = bresenham(x0, y0, x1, y1)
        assert (xs[0], ys[0]) == (x0, y0) and (xs[-1], ys[-1]) == (x1, y1)
        assert len(xs) == max(abs(x1 - x0), abs(y1 - y0)) + 1
        steps = np.maximum(np.abs(np.diff(xs)), np.abs(np.diff(ys)))
        assert (steps == 1).all()
        # Distance along the minor axis from the true line is at most half a dot.
        if abs(x1 - x0) >= abs(y1 - y0) and x1 != x0:
            ideal = y0 + (xs - x0) * (y1 - y0) / (x1 - x0)
            assert np.abs(ys - ideal).max() <= 0.5
        elif y1 != y0:
            ideal = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
            assert np.abs(xs - ideal).max() <= 0.5


def test_bresenham_vectorised_equals_one_segment_at_a_time():
    x0, y0, x1, y1 = np.array([[0, 0, 9, 4], [5, 5, 5, 5], [3, 8, -6, 1]]).T
    xs, ys = bresenham(x0, y0, x1, y1)
    parts = [bresenham(*seg) for seg in zip(x0, y0, x1, y1)]
    assert xs.tolist() == np.concatenate([p[0] for p in parts]).tolist()
    assert ys.tolist() == np.concatenate([p[1] for p in parts]).tolist()


def test_line_sets_endpoints_and_drops_dots_off_the_canvas():
    canvas = BrailleCanvas(10, 5)  # 20 x 20 dots
    canvas.line(3, 17, 16, 2)
    assert canvas.dots[17, 3] and canvas.dots[2, 16]
    canvas.clear()
    canvas.line(-10, 10, 30, 10)  # crosses the whole canvas
    assert canvas.dots[10].all() and canvas.dots.sum() == 20
    canvas.set([-1, 20, 5], [0, 0, -3])
    assert canvas.dots.sum() == 20


def test_last_layer_drawn_into_a_cell_wins_and_styles_follow_cells():
    canvas = BrailleCanvas(6, 2)
    canvas.line(0, 0, 11, 0, "border")
    canvas.set(5, 1, "path")  # cell (2, 0)
    assert canvas.layer_mask("path").tolist()[0] == [False, False, True, False, False, False]
    assert canvas.layer_mask("border")[0].sum() == 5
    text = canvas.to_rich_text({"border": "red", "path": "blue"})
    assert text.plain == "\n".join(canvas.rows())
    styled = {i: span.style for span in text.spans for i in range(span.start, span.end)}
    assert styled == {0: "red", 1: "red", 2: "blue", 3: "red", 4: "red", 5: "red"}


def test_text_overlay_replaces_dots_and_clips():
    canvas = BrailleCanvas(5, 2)
    canvas.fill_rect(0, 0, 9, 7)
    canvas.text(3, 1, "abc", "label")
    assert canvas.rows() == ["⣿⣿⣿⣿⣿", "⣿⣿⣿ab"]
    assert canvas.layer_mask("label").sum() == 2


def test_fill_rect_stipple_is_a_checkerboard():
    canvas = BrailleCanvas(4, 2)
    canvas.fill_rect(0, 0, 7, 7, step=2)
    assert canvas.dots.sum() == 32
    assert not (canvas.dots[:, :-1] & canvas.dots[:, 1:]).any()  # no two side by side


def test_polyline_skips_segments_touching_nan():
    canvas = BrailleCanvas(10, 3)
    canvas.polyline([0, 19, np.nan, 0, 19], [0, 0, 5, 11, 11])
    assert canvas.dots[0].sum() == 20 and canvas.dots[11].sum() == 20
    assert canvas.dots[1:11].sum() == 0  # nothing bridges the gap


@pytest.mark.parametrize("cell_aspect,ratio", [(2.0, 2.0), (1.0, 1.0)])
def test_aspect_correction_keeps_a_circle_round(cell_aspect, ratio):
    canvas = BrailleCanvas(80, 40)
    tf = WorldTransform.fit(-1, 1, -1, 1, canvas.dot_width, canvas.dot_height,
                            cell_aspect=cell_aspect)
    t = np.linspace(0, 2 * np.pi, 400)
    canvas.polyline(*tf.to_dots_f(np.cos(t), np.sin(t)), closed=True)
    rows, cols = np.nonzero(dot_cells(canvas))
    width_cells, height_cells = np.ptp(cols) + 1, np.ptp(rows) + 1
    assert width_cells / height_cells == pytest.approx(ratio, rel=0.1)


def test_world_transform_round_trips_and_flips_y():
    tf = WorldTransform.fit(0, 10, 0, 5, 100, 80)
    dx, dy = tf.to_dots_f([0.0, 10.0, 3.0], [0.0, 5.0, 4.0])
    assert dy[0] > dy[1]  # world up is screen up
    x, y = tf.to_world(dx, dy)
    assert np.allclose(x, [0, 10, 3]) and np.allclose(y, [0, 5, 4])
    assert dx.min() >= 0 and dx.max() <= 100 and dy.min() >= 0 and dy.max() <= 80


# -- track maps --------------------------------------------------------------------------------

@pytest.mark.parametrize("world", LOOPS)
@pytest.mark.parametrize("w,h", [(40, 12), (80, 24), (200, 60)])
def test_every_track_renders_inside_the_canvas_and_fills_it(world, w, h):
    canvas = track_map(load_waypoints(world), w, h)
    rows = canvas.rows()
    assert len(rows) == h and all(len(r) == w for r in rows)
    ys, xs = np.nonzero(canvas.dots)
    # The fit uses the full width or the full height (less the margin).
    assert np.ptp(xs) >= 0.9 * canvas.dot_width or np.ptp(ys) >= 0.9 * canvas.dot_height
    # Three loops of one-dot lines: the cells they cross grow with the canvas' perimeter.
    assert dot_cells(canvas).sum() > 2.5 * (w + h)
    # (1.2: a big squarish track on 40x12 cells has its borders meet the centre line in places)
    assert canvas.layer_mask("border").sum() > 1.2 * (w + h)


@pytest.mark.parametrize("world", LOOPS)
def test_centre_line_lies_between_the_borders(world):
    wp = load_waypoints(world)
    canvas = track_map(wp, 200, 60)
    centre = cell_centres_world(canvas, canvas.layer_mask("centre"))
    assert len(centre) > 100
    between = inside(wp[:, 4:6], centre) != inside(wp[:, 2:4], centre)
    assert between.mean() > 0.97
    # And the border cells are not: those on either border straddle it, so about half are in.
    border = cell_centres_world(canvas, canvas.layer_mask("border"))
    assert (inside(wp[:, 4:6], border) != inside(wp[:, 2:4], border)).mean() < 0.8


def test_an_open_route_renders_end_to_end():
    """simapp's Straight_track is not a loop: its line spans the canvas' width."""
    wp = load_waypoints("Straight_track")
    canvas = track_map(wp, 80, 24)
    assert not np.array_equal(wp[0], wp[-1])
    xs = np.nonzero(canvas.layer_mask("centre"))[1]
    assert np.ptp(xs) >= 0.8 * 80 and canvas.layer_mask("border").sum() > 80


@pytest.mark.parametrize("world", ["reInvent2019_track_ccw", "reInvent2019_track_cw",
                                   "2022_summit_speedway_ccw", "2022_summit_speedway_cw"])
def test_start_arrow_points_in_the_driving_direction(world):
    """Each world drives its own route file (a _cw route starts elsewhere than the _ccw one)."""
    wp = load_waypoints(world)
    ahead = wp[3, 0:2] - wp[0, 0:2]  # the route's direction of travel
    canvas = track_map(wp, 200, 60)
    start = cell_centres_world(canvas, canvas.layer_mask("start"))
    offset = start.mean(axis=0) - wp[0, 0:2]
    assert float(offset @ ahead) > 0, world


def test_path_and_markers_are_drawn_where_they_are():
    wp = load_waypoints("reInvent2019_track")
    canvas = track_map(wp, 120, 40, path=wp[10:40, 0:2],
                       markers=[(*wp[70, 0:2], "C"), (*wp[100, 0:2], "")])
    tf = canvas.transform
    dx, dy = (int(v) for v in tf.to_dots(*wp[70, 0:2]))
    assert canvas.rows()[dy // 4][dx // 2] == "C"
    dx, dy = (int(v) for v in tf.to_dots(*wp[100, 0:2]))
    assert canvas.layer_mask("marker")[dy // 4, dx // 2] and canvas.dots[dy, dx]
    path_cells = cell_centres_world(canvas, canvas.layer_mask("path"))
    # Every path cell is within a cell or so of the driven waypoints.
    dist = np.hypot(*(path_cells[:, None, :] - wp[None, 10:40, 0:2]).transpose(2, 0, 1))
    assert dist.min(axis=1).max() < 3 / tf.scale_x


def test_heat_colours_cells_by_value():
    wp = load_waypoints("reinvent_base")
    # Cold points on one stretch of the track, hot points on another.
    cold, hot = wp[5:15, 0:2] + 0.2, wp[60:70, 0:2] + 0.2
    canvas = track_map(wp, 120, 40, heat=(np.vstack([cold, hot]), np.r_[np.zeros(10), np.ones(10)]))
    tf = canvas.transform
    for pts, layer in ((cold, HEAT_LAYERS[0]), (hot, HEAT_LAYERS[-1])):
        dx, dy = tf.to_dots(pts[:, 0], pts[:, 1])
        assert canvas.layer_mask(layer)[dy // 4, dx // 2].mean() > 0.5


def test_track_map_text_is_styled_rich_text():
    text = track_map_text("reInvent2019_wide", 60, 20)
    lines = text.plain.split("\n")
    assert len(lines) == 20 and {len(line) for line in lines} == {60}
    assert {DEFAULT_STYLES["border"], DEFAULT_STYLES["centre"], DEFAULT_STYLES["start"]} <= {
        str(s.style) for s in text.spans}
    with pytest.raises(FileNotFoundError):
        track_map_text("no_such_track", 60, 20)


def test_track_map_rejects_malformed_waypoints():
    with pytest.raises(ValueError):
        track_map(np.zeros((10, 2)), 40, 12)


def test_track_map_renders_fast():
    wp = load_waypoints("reInvent2019_track")
    best = min(_timed(lambda: track_map(wp, 120, 40).to_rich_text(DEFAULT_STYLES))
               for _ in range(5))
    assert best < 0.020


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# -- action space ------------------------------------------------------------------------------

def label_cells(canvas: BrailleCanvas) -> dict[str, tuple[int, int]]:
    """Action label text -> (row, first column)."""
    rows = canvas.rows()
    out: dict[str, tuple[int, int]] = {}
    for r, c in zip(*np.nonzero(canvas.layer_mask("label"))):
        if c == 0 or not canvas.layer_mask("label")[r, c - 1]:
            end = c
            while end < canvas.width and canvas.layer_mask("label")[r, end]:
                end += 1
            out[rows[r][c:end]] = (int(r), int(c))
    return out


def test_left_turns_are_drawn_on_the_left_and_faster_actions_higher():
    canvas = action_space_canvas([(30.0, 1.0), (-30.0, 1.0), (0.0, 3.0)], None, 50, 14)
    labels = label_cells(canvas)
    assert labels["0"][1] < labels["2"][1] < labels["1"][1]
    assert labels["2"][0] < labels["0"][0] == labels["1"][0]
    # The steering ticks agree: +30 is printed left of -30 on the tick row.
    tick_row = next(r for r in canvas.rows() if "-30" in r)
    assert tick_row.index("30") < tick_row.index("-30")


def test_continuous_space_is_a_rectangle_on_the_right_side_for_right_turns():
    canvas = action_space_canvas(None, ((-30.0, -10.0), (1.0, 2.0)), 50, 14)
    cells = canvas.layer_mask("range") | canvas.layer_mask("range_edge")
    rows, cols = np.nonzero(cells)
    zero_col = next(r for r in canvas.rows() if "-30" in r).index(" 0 ") + 1
    assert cols.min() > zero_col  # right turns only: right of the 0 degree tick
    # The filled area is a rectangle: every cell of its bounding box is tagged.
    assert cells[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()


@pytest.mark.parametrize("w,h", [(8, 2), (20, 5), (60, 16)])
def test_action_space_plot_has_the_requested_size(w, h):
    text = action_space_plot([(s, 2.0) for s in (-30, 0, 30)], ((-30, 30), (0.5, 4)), w, h)
    lines = text.plain.split("\n")
    assert len(lines) == h and all(len(line) == w for line in lines)


def test_action_space_leaves_out_half_typed_values_and_keeps_indices():
    nan, inf = float("nan"), float("inf")
    canvas = action_space_canvas([(0.0, nan), (10.0, 2.0), (inf, 1.0)], ((nan, 5), (1, 2)), 50, 14)
    assert set(label_cells(canvas)) == {"1"}
    assert not canvas.layer_mask("range").any()


# -- line charts -------------------------------------------------------------------------------

def test_line_chart_rises_for_a_rising_series_and_labels_its_range():
    canvas = line_chart_canvas({"reward": np.linspace(-5, 20, 50)}, 40, 10)
    rows = canvas.rows()
    assert rows[1].startswith("20┤") and rows[-2].startswith("-5┤")
    assert rows[-1].split() == ["0", "49"]
    ys, xs = np.nonzero(canvas.dots)
    assert ys[xs == xs.min()].mean() > ys[xs == xs.max()].mean() + 20  # left low, right high


def test_line_chart_tags_each_series_and_shows_a_legend():
    text = line_chart({"reward": [1, 3, 2], "progress": [50, 10, 90]}, 40, 10)
    canvas = line_chart_canvas({"reward": [1, 3, 2], "progress": [50, 10, 90]}, 40, 10)
    assert canvas.layer_mask("series0").any() and canvas.layer_mask("series1").any()
    # two series: the first is its line, the second also puts + on its points
    assert "⠒ reward + progress" in text.plain.split("\n")[0]
    assert text.plain.count("+") == 1 + 3
    assert len({str(s.style) for s in text.spans}) >= 3  # two series colours and the axis


def test_line_chart_tolerates_nan_empty_and_flat_series():
    canvas = line_chart_canvas({"a": [1.0, np.nan, 3.0], "b": [], "c": [2.0, 2.0]}, 30, 6)
    assert len(canvas.rows()) == 6
    canvas = line_chart_canvas({"flat": [4.0] * 10}, 30, 6)
    assert canvas.dots.any()


def test_sparkline_tracks_the_values():
    s = sparkline(range(8))
    assert s == "▁▂▃▄▅▆▇█"
    long = sparkline(np.linspace(0, 1, 1000), width=20)
    assert len(long) == 20 and list(long) == sorted(long) and long[0] == "▁" and long[-1] == "█"
    assert sparkline([1.0, np.nan, 2.0]) == "▁ █"


def test_plots_stay_free_of_textual_and_heavy_plotting_libraries():
    code = ("import sys, drtui.plots.track_map, drtui.plots.action_space, drtui.plots.lines;"
            "print(sorted(m for m in ('textual', 'torch', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
