"""Track maps on a braille canvas: borders, dotted centre line, start line with the driving
direction, and optionally a racing line (dashed), a car path, markers and a heat layer (e.g.
speed or reward by place).

Waypoints are DeepRacer's (N, 6) arrays: centre x, y | inner x, y | outer x, y, in metres.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from drtui.plots.braille import BrailleCanvas, WorldTransform

HEAT_LEVELS = 5
HEAT_LAYERS = tuple(f"heat{i}" for i in range(HEAT_LEVELS))

DEFAULT_STYLES: dict[str, str] = {
    "border": "grey70",
    "centre": "yellow",
    "start": "bold green",
    "path": "bold cyan",
    "marker": "bold magenta",
    "raceline": "red",
    **dict(zip(HEAT_LAYERS, ("blue", "cyan", "green", "yellow", "red"))),
}

Heat = tuple[np.ndarray, np.ndarray]  # (M, 2) world points, (M,) values


def track_map(waypoints: np.ndarray, width: int, height: int, *,
              path: np.ndarray | None = None,
              markers: list[tuple[float, float, str]] | None = None,
              heat: Heat | None = None,
              line: np.ndarray | None = None,
              cell_aspect: float = 2.0) -> BrailleCanvas:
    """Draw a track into a width x height cell canvas, keeping its proportions.

    Layers, bottom to top: border, centre, heat0..heat4, raceline, start, path, marker.
    `line` is a racing line's points (M, 2) round the loop, drawn dashed (3 dots on, 2 off)
    so it reads apart from the dotted centre line and the solid path without colour.
    A marker with a label shows the label's text from its cell; an empty label shows a dot.
    The canvas' `transform` maps world metres to dots for callers that draw more on it.
    """
    wp = np.asarray(waypoints, dtype=np.float64)
    if wp.ndim != 2 or wp.shape[1] < 6 or len(wp) < 2:
        raise ValueError(f"waypoints must be an (N>=2, 6) array, got shape {wp.shape}")
    canvas = BrailleCanvas(width, height)
    borders = np.concatenate([wp[:, 2:4], wp[:, 4:6]])
    tf = WorldTransform.fit_points(borders, canvas.dot_width, canvas.dot_height,
                                   cell_aspect=cell_aspect)
    canvas.transform = tf

    for cols in (slice(2, 4), slice(4, 6)):
        canvas.polyline(*tf.to_dots_f(wp[:, cols][:, 0], wp[:, cols][:, 1]), "border",
                        closed=True)
    canvas.polyline(*tf.to_dots_f(wp[:, 0], wp[:, 1]), "centre", closed=True, dash=(1, 2))
    if heat is not None:  # data over the track's decoration, under the start and the car
        _draw_heat(canvas, tf, *heat)
    if line is not None and len(line) > 1:
        line = np.asarray(line, dtype=np.float64)
        canvas.polyline(*tf.to_dots_f(line[:, 0], line[:, 1]), "raceline", closed=True,
                        dash=(3, 2))
    _draw_start(canvas, tf, wp)
    if path is not None and len(path):
        path = np.asarray(path, dtype=np.float64)
        canvas.polyline(*tf.to_dots_f(path[:, 0], path[:, 1]), "path")
    for x, y, label in markers or ():
        _draw_marker(canvas, tf, x, y, label)
    return canvas


def track_map_text(world: str, width: int, height: int, *,
                   styles: dict[str, str] | None = None, **kw) -> Text:
    """The map of a catalogued world or a route .npy file as rich Text; `kw` goes to
    `track_map`."""
    from drtui.catalog.tracks import waypoints_of

    canvas = track_map(waypoints_of(world), width, height, **kw)
    return canvas.to_rich_text(DEFAULT_STYLES if styles is None else styles)


def _draw_start(canvas: BrailleCanvas, tf: WorldTransform, wp: np.ndarray) -> None:
    """A line across the track at waypoint 0 and an arrow along the driving direction."""
    ix, iy = tf.to_dots_f(wp[0, 2], wp[0, 3])
    ox, oy = tf.to_dots_f(wp[0, 4], wp[0, 5])
    canvas.line(int(ix), int(iy), int(ox), int(oy), "start")

    cx, cy = tf.to_dots_f(wp[:, 0], wp[:, 1])
    step = np.hypot(cx - cx[0], cy - cy[0])
    ahead = np.flatnonzero(step > 0.5)  # first waypoint at least half a dot on
    if not len(ahead):
        return
    k = ahead[0]
    ux, uy = (cx[k] - cx[0]) / step[k], (cy[k] - cy[0]) / step[k]
    width_dots = float(np.hypot(ox - ix, oy - iy))
    length = max(4.0, 0.7 * width_dots)
    tip = np.array([cx[0] + ux * length, cy[0] + uy * length])
    barb = max(2.0, 0.4 * length)
    xs, ys = [cx[0], tip[0]], [cy[0], tip[1]]
    for angle in (2.6, -2.6):  # about 150 degrees back from the direction of travel
        ca, sa = np.cos(angle), np.sin(angle)
        xs += [tip[0] + barb * (ux * ca - uy * sa), np.nan, tip[0]]
        ys += [tip[1] + barb * (ux * sa + uy * ca), np.nan, tip[1]]
    canvas.polyline(np.array(xs), np.array(ys), "start")


def _draw_marker(canvas: BrailleCanvas, tf: WorldTransform, x: float, y: float,
                 label: str) -> None:
    dx, dy = (int(v) for v in tf.to_dots(x, y))
    if label:
        canvas.text(dx >> 1, dy >> 2, label, "marker")
    else:
        gx, gy = np.meshgrid(np.arange(-1, 1), np.arange(-1, 1))
        canvas.set(dx + gx.ravel(), dy + gy.ravel(), "marker")


def _draw_heat(canvas: BrailleCanvas, tf: WorldTransform, xy: np.ndarray,
               values: np.ndarray) -> None:
    """Set a dot per point; tag each cell by the mean value of its points, in HEAT_LEVELS bins."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.float64).ravel()
    dx, dy = tf.to_dots(xy[:, 0], xy[:, 1])
    ok = (np.isfinite(values) & (dx >= 0) & (dx < canvas.dot_width)
          & (dy >= 0) & (dy < canvas.dot_height))
    dx, dy, values = dx[ok], dy[ok], values[ok]
    if not len(values):
        return
    canvas.set(dx, dy)
    cell = (dy >> 2) * canvas.width + (dx >> 1)
    sums = np.bincount(cell, weights=values, minlength=canvas.width * canvas.height)
    counts = np.bincount(cell, minlength=canvas.width * canvas.height)
    used = np.flatnonzero(counts)
    mean = sums[used] / counts[used]
    lo, hi = values.min(), values.max()
    level = np.zeros(len(used), dtype=np.int64) if hi <= lo else np.minimum(
        ((mean - lo) / (hi - lo) * HEAT_LEVELS).astype(np.int64), HEAT_LEVELS - 1)
    for lv in range(HEAT_LEVELS):
        cells = used[level == lv]
        if len(cells):
            canvas.tag(cells % canvas.width, cells // canvas.width, HEAT_LAYERS[lv])
