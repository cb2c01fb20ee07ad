"""Small line charts and sparklines for training metrics (reward, progress... by iteration)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.text import Text

from drtui.plots.axes import fmt_number, y_axis
from drtui.plots.braille import BrailleCanvas

PALETTE = ("cyan", "magenta", "yellow", "green", "red", "blue")
_SPARK = "▁▂▃▄▅▆▇█"


def series_layer(i: int) -> str:
    return f"series{i}"


def default_styles(n_series: int) -> dict[str, str]:
    styles = {"axis": "grey50", "tick": "grey70"}
    styles.update({series_layer(i): PALETTE[i % len(PALETTE)] for i in range(n_series)})
    return styles


def _y_range(arrays: list[np.ndarray]) -> tuple[float, float]:
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if len(a)]
    if not finite:
        return 0.0, 1.0
    lo = min(float(a.min()) for a in finite)
    hi = max(float(a.max()) for a in finite)
    if hi <= lo:  # a flat series still needs a band to sit in
        pad = max(abs(lo) * 0.05, 0.5)
        lo, hi = lo - pad, hi + pad
    return lo, hi


# how each series looks without colour: the first is the braille line alone, the others
# also put their symbol on every point (where points are fewer than about one per cell)
MARKS = ("⠒", "+", "◆", "×", "○", "▲")


def series_marks(n_series: int) -> tuple[str, ...]:
    """Each series' legend symbol: ■ for a chart of one series, else MARKS."""
    return ("■",) if n_series == 1 else tuple(MARKS[i % len(MARKS)] for i in range(n_series))


def legend_entries(names: Sequence[str], marks: Sequence[str], widths: Sequence[int],
                   short: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """(which of `widths`, entries) for a legend of "<mark> <name>" entries, one space
    between: in the first width that takes the full names, else the short ones; else the
    short ones cut to an equal share of the last width."""
    short = short or {}
    for k, width in enumerate(widths):
        for labels in (list(names), [short.get(n, n) for n in names]):
            entries = [f"{m} {label}" for m, label in zip(marks, labels)]
            if sum(map(len, entries)) + len(entries) - 1 <= width:
                return k, entries
    share = max(1, (widths[-1] - (len(names) - 1)) // max(1, len(names)) - 2)
    return len(widths) - 1, [f"{m} {short.get(n, n)[:share]}" for m, n in zip(marks, names)]


def line_chart_canvas(series: dict[str, Sequence[float]], width: int, height: int, *,
                      x: Sequence[float] | None = None,
                      y_range: tuple[float, float] | None = None,
                      short: dict[str, str] | None = None) -> BrailleCanvas:
    """One polyline per series, y labelled with its min and max, x with its first and last
    value (iteration numbers 0..n-1 unless `x` gives them). Axes and a legend appear only
    where the size leaves room; series are tagged `series0`, `series1`, ... in dict order.
    With several series, the second and later also mark their points with a symbol (MARKS),
    so they are told apart without colour; the legend names each with its symbol, with the
    `short` names where the full ones do not fit."""
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in series.values()]
    n = max((len(a) for a in arrays), default=0)
    xs = np.arange(n, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)[:n]
    arrays = [a[: len(xs)] for a in arrays]  # a caller's x may be shorter than a series
    lo, hi = y_range if y_range is not None and y_range[1] > y_range[0] else _y_range(arrays)
    canvas = BrailleCanvas(width, height)

    axes = width >= 12 and height >= 4
    legend = axes and height >= 6 and any(series)
    top_labels = (fmt_number(hi), fmt_number(lo))
    label_w = max(map(len, top_labels)) if axes else 0
    plot_left = label_w + 1 if axes else 0
    plot_top = 1 if legend else 0
    plot_bottom = height - 1 if axes else height  # exclusive: the last row holds x labels

    x0, x1 = 2 * plot_left, 2 * width - 1
    y0, y1 = 4 * plot_top, 4 * plot_bottom - 1
    x_lo, x_hi = (float(xs[0]), float(xs[-1])) if len(xs) else (0.0, 1.0)
    x_span = (x_hi - x_lo) or 1.0
    marks = series_marks(len(arrays))
    points: list[tuple[np.ndarray, np.ndarray, int]] = []
    for i, values in enumerate(arrays):
        if not len(values):
            continue
        px = x0 + (xs[: len(values)] - x_lo) / x_span * (x1 - x0)
        py = np.clip(y1 - (values - lo) / (hi - lo) * (y1 - y0), y0, y1)
        # Values outside a caller's y_range are clipped to the frame rather than dropped.
        canvas.polyline(px, py, series_layer(i))
        if i and len(arrays) > 1:
            points.append((px, py, i))
    for px, py, i in points:  # over every line, so no later line hides a symbol
        ok = np.isfinite(py)
        cols, rows = (px[ok] // 2).astype(np.int64), (py[ok] // 4).astype(np.int64)
        # more points than cells: one symbol a cell (its last point's), every other cell
        cells = dict(zip(cols.tolist(), rows.tolist()))
        step = 2 if len(cells) < len(cols) else 1
        for k, (col, row) in enumerate(sorted(cells.items())):
            if k % step == 0:
                canvas.text(col, row, marks[i], series_layer(i))

    if axes:
        y_axis(canvas, label_w, plot_top, plot_bottom - 1,
               {plot_top: top_labels[0], plot_bottom - 1: top_labels[1]})
        first, last = fmt_number(x_lo), fmt_number(x_hi)
        canvas.text(plot_left, height - 1, first, "tick")
        if len(first) + len(last) < width - plot_left:
            canvas.text(width - len(last), height - 1, last, "tick")
    if legend:
        # from the plot's left edge, else over the y labels
        k, entries = legend_entries(list(series), marks, (width - plot_left, width), short)
        col = (plot_left, 0)[k]
        for i, entry in enumerate(entries):
            canvas.text(col, 0, entry, series_layer(i))
            col += len(entry) + 1
    return canvas


def line_chart(series: dict[str, Sequence[float]], width: int, height: int, *,
               x: Sequence[float] | None = None, y_range: tuple[float, float] | None = None,
               styles: dict[str, str] | None = None,
               short: dict[str, str] | None = None) -> Text:
    canvas = line_chart_canvas(series, width, height, x=x, y_range=y_range, short=short)
    return canvas.to_rich_text(default_styles(len(series)) if styles is None else styles)


def sparkline(values: Sequence[float], width: int | None = None) -> str:
    """One-row chart with block characters; averages into `width` buckets when longer."""
    a = np.asarray(values, dtype=np.float64).ravel()
    if width is not None and len(a) > width > 0:
        edges = np.linspace(0, len(a), width + 1).astype(np.int64)
        a = np.array([np.nanmean(a[s:e]) if np.isfinite(a[s:e]).any() else np.nan
                      for s, e in zip(edges[:-1], edges[1:])])
    ok = np.isfinite(a)
    if not ok.any():
        return " " * len(a)
    lo, hi = a[ok].min(), a[ok].max()
    scaled = np.where(ok, (np.nan_to_num(a, nan=lo) - lo) / ((hi - lo) or 1.0), 0.0)
    level = np.rint(scaled * (len(_SPARK) - 1)).astype(np.int64)
    return "".join(_SPARK[lv] if good else " " for lv, good in zip(level, ok))
