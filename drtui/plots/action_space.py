"""A picture of an action space: speed (up) against steering angle (across).

As in the DeepRacer console, left turns (positive steering) are drawn on the LEFT, so the
picture reads like the car's view. Discrete actions are labelled points (their index); a
continuous space is a stippled rectangle with a solid outline. A racing line's planned
(steering, speed) points, when given, are single dots under the actions.
"""

from __future__ import annotations

import math

from rich.text import Text

from drtui.plots.axes import fmt_number, x_axis, y_axis
from drtui.plots.braille import BrailleCanvas

MAX_STEER = 30.0
DEFAULT_STYLES: dict[str, str] = {
    "axis": "grey50",
    "tick": "grey70",
    "title": "italic grey62",
    "action": "bold cyan",
    "label": "bold yellow",
    "range": "green",
    "range_edge": "bold green",
    "line": "magenta",
}

Range = tuple[float, float]


def action_space_canvas(discrete: list[tuple[float, float]] | None,
                        continuous: tuple[Range, Range] | None,
                        width: int, height: int,
                        line: list[tuple[float, float]] | None = None) -> BrailleCanvas:
    """Draw the space into a width x height cell canvas.

    `discrete` holds (steering degrees, speed m/s) per action, in action-index order;
    `continuous` is ((steer_lo, steer_hi), (speed_lo, speed_hi)); `line` the (steering,
    speed) a racing line plans at each of its points.
    """
    # Half-typed values (nan, inf) are left out rather than failing the whole picture;
    # discrete actions keep their index.
    actions = [(i, a) for i, a in enumerate(discrete or []) if all(map(math.isfinite, a))]
    if continuous is not None and not all(map(math.isfinite, (*continuous[0], *continuous[1]))):
        continuous = None
    line = [p for p in line or [] if all(map(math.isfinite, p))]
    canvas = BrailleCanvas(width, height)
    speeds = [s for _, (_, s) in actions] + (list(continuous[1]) if continuous else []) + \
        [s for _, s in line]
    top = max(math.ceil(max(speeds, default=1.0) * 2) / 2, 0.5)  # next 0.5 m/s up

    axes = width >= 16 and height >= 5
    titled = axes and height >= 8
    y_ticks = [0.0, top / 2, top] if height >= 9 else [0.0, top]
    label_w = max(len(f"{v:.1f}") for v in y_ticks) if axes else 0
    plot_left = label_w + 1 if axes else 0  # first plot cell column, right of the axis line
    plot_rows = height - (2 if axes else 0) - (1 if titled else 0)

    # Dot extents of the plot, padded so points on the edge keep off the axes.
    x0, x1 = 2 * plot_left + 2, 2 * width - 3
    y0, y1 = 2, 4 * plot_rows - 1

    def x_of(steer: float) -> int:
        steer = min(max(steer, -MAX_STEER), MAX_STEER)
        return round(x0 + (MAX_STEER - steer) / (2 * MAX_STEER) * (x1 - x0))

    def y_of(speed: float) -> int:
        return round(y1 - min(max(speed, 0.0), top) / top * (y1 - y0))

    if continuous is not None:
        (s_lo, s_hi), (v_lo, v_hi) = continuous
        xa, xb, ya, yb = x_of(s_hi), x_of(s_lo), y_of(v_hi), y_of(v_lo)
        canvas.fill_rect(xa, ya, xb, yb, "range", step=2)
        canvas.polyline([xa, xb, xb, xa], [ya, ya, yb, yb], "range_edge", closed=True)

    if line:
        canvas.set([x_of(s) for s, _ in line], [y_of(v) for _, v in line], "line")
    for index, (steer, speed) in actions:
        x, y = x_of(steer), y_of(speed)
        cx, cy = x & ~1, y & ~1  # a 2 x 2 dot block that never straddles two cells
        canvas.fill_rect(cx, cy, cx + 1, cy + 1, "action")
        label = str(index)
        col = (x >> 1) + 1
        if col + len(label) > width:  # no room on the right: label on the left
            col = (x >> 1) - len(label)
        canvas.text(col, y >> 2, label, "label")

    if axes:
        y_axis(canvas, label_w, 0, plot_rows - 1,
               {y_of(v) >> 2: f"{v:.1f}" for v in y_ticks})
        steers = (30.0, 15.0, 0.0, -15.0, -30.0) if width - plot_left >= 25 else (30.0, 0.0, -30.0)
        x_axis(canvas, plot_rows, label_w, width - 1,
               {x_of(s) >> 1: fmt_number(s) for s in steers})
    if titled:
        title = "speed m/s · steering ° (◂ left | right ▸)"[: width - plot_left]
        start = plot_left + max((width - plot_left - len(title)) // 2, 0)
        canvas.text(start, height - 1, title, "title")
    return canvas


def action_space_rows(discrete: list[tuple[float, float]] | None,
                      continuous: tuple[Range, Range] | None,
                      width: int, height: int,
                      line: list[tuple[float, float]] | None = None) -> list[str]:
    return action_space_canvas(discrete, continuous, width, height, line).rows()


def action_space_plot(discrete: list[tuple[float, float]] | None,
                      continuous: tuple[Range, Range] | None,
                      width: int, height: int, *, styles: dict[str, str] | None = None,
                      line: list[tuple[float, float]] | None = None) -> Text:
    canvas = action_space_canvas(discrete, continuous, width, height, line)
    return canvas.to_rich_text(DEFAULT_STYLES if styles is None else styles)

