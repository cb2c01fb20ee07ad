"""The analysis plots as PNG files, drawn with numpy into drtui's own PNG writer (no
matplotlib): training progress, lap-time histogram, reward heatmap on the track, the best
laps' paths and actions per track section. A 3x5 pixel font labels the axes' ranges."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

BG, AXIS, GRID = (255, 255, 255), (60, 60, 60), (225, 225, 225)
SERIES = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189),
          (23, 190, 207)]
_GLYPHS = {  # 3x5, rows top to bottom
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    " ": "000000000000000", "e": "000111111100111", "+": "000010111010000",
}


def text(img: np.ndarray, x: int, y: int, s: str, colour=AXIS, scale: int = 2) -> None:
    """Numbers in the 3x5 font, top-left at (x, y); characters without a glyph are skipped."""
    for ch in s:
        glyph = _GLYPHS.get(ch)
        if glyph is None:
            continue
        g = np.array([int(b) for b in glyph], bool).reshape(5, 3)
        big = np.kron(g, np.ones((scale, scale), bool))
        h, w = big.shape
        ys, xs = slice(max(y, 0), min(y + h, img.shape[0])), slice(max(x, 0),
                                                                  min(x + w, img.shape[1]))
        sub = big[ys.start - y:ys.stop - y, xs.start - x:xs.stop - x]
        img[ys, xs][sub] = colour
        x += w + scale


def fmt(v: float) -> str:
    if v != v:
        return ""
    if abs(v) >= 1000 or (abs(v) < 0.01 and v != 0):
        return f"{v:.2e}"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def line(img: np.ndarray, p0, p1, colour, radius: int = 1) -> None:
    """A thick segment between pixel points (col, row)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    n = int(max(abs(p1 - p0).max(), 1))
    pts = p0 + (p1 - p0) * (np.arange(n + 1)[:, None] / n)
    h, w = img.shape[:2]
    for dc in range(-radius, radius + 1):
        for dr in range(-radius, radius + 1):
            if dc * dc + dr * dr <= radius * radius:
                c = np.clip(np.round(pts[:, 0]).astype(int) + dc, 0, w - 1)
                r = np.clip(np.round(pts[:, 1]).astype(int) + dr, 0, h - 1)
                img[r, c] = colour


def _canvas(w: int, h: int) -> np.ndarray:
    return np.full((h, w, 3), BG, np.uint8)


def _frame(img, box, lo: float, hi: float, xlo: float, xhi: float) -> None:
    x0, y0, x1, y1 = box
    for k in range(1, 4):
        yy = y0 + (y1 - y0) * k // 4
        img[yy, x0:x1] = GRID
    img[y0:y1 + 1, x0] = AXIS
    img[y1, x0:x1 + 1] = AXIS
    text(img, 4, y0, fmt(hi))
    text(img, 4, y1 - 10, fmt(lo))
    text(img, x0, y1 + 6, fmt(xlo))
    label = fmt(xhi)
    text(img, x1 - 8 * len(label), y1 + 6, label)


def chart(series: list[tuple[np.ndarray, np.ndarray]], w: int = 640, h: int = 220) -> np.ndarray:
    """Line chart panel of (x, y) series on shared axes."""
    img = _canvas(w, h)
    box = (70, 10, w - 10, h - 24)
    xs = np.concatenate([s[0] for s in series]) if series else np.array([0.0])
    ys = np.concatenate([s[1] for s in series]) if series else np.array([0.0])
    ok = np.isfinite(ys)
    lo, hi = (float(ys[ok].min()), float(ys[ok].max())) if ok.any() else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    xlo, xhi = float(xs.min()), float(xs.max())
    if xhi - xlo < 1e-9:
        xlo, xhi = xlo - 1, xhi + 1
    _frame(img, box, lo, hi, xlo, xhi)
    x0, y0, x1, y1 = box
    for i, (x, y) in enumerate(series):
        px = x0 + (np.asarray(x, float) - xlo) / (xhi - xlo) * (x1 - x0)
        py = y1 - (np.asarray(y, float) - lo) / (hi - lo) * (y1 - y0)
        pts = [(a, b) for a, b in zip(px, py) if np.isfinite(b)]
        for a, b in pairwise(pts):
            line(img, a, b, SERIES[i % len(SERIES)])
        for p in pts:
            line(img, p, p, SERIES[i % len(SERIES)], 2)
    return img


PROGRESS_PANELS = (  # top to bottom; blue the training figure, red the evaluation's
    ("reward_mean", "train_reward", "eval_reward"),
    ("progress_mean", "train_completion", "eval_completion"),
    ("completion_rate", "train_completed", "eval_completed"),
)


def progress_picture(iters) -> np.ndarray:
    """Three stacked panels per iteration: mean reward, mean progress, completion rate (the
    in-training evaluation's beside the training's where the input has it)."""
    x = iters["iteration"].to_numpy(float)
    panels = []
    for cols in PROGRESS_PANELS:
        series = [(x, iters[c].to_numpy(float)) for c in cols if c in iters]
        if series:
            panels.append(chart(series))
    return np.concatenate(panels or [chart([])], axis=0)


def histogram_picture(edges: np.ndarray, counts: np.ndarray, w: int = 640,
                      h: int = 260) -> np.ndarray:
    img = _canvas(w, h)
    box = (70, 10, w - 10, h - 24)
    x0, y0, x1, y1 = box
    top = max(int(counts.max()) if len(counts) else 1, 1)
    _frame(img, box, 0, top, float(edges[0]) if len(edges) else 0,
           float(edges[-1]) if len(edges) else 1)
    n = len(counts)
    for i, c in enumerate(counts):
        a = x0 + 1 + (x1 - x0 - 1) * i // n
        b = x0 + (x1 - x0 - 1) * (i + 1) // n
        t = y1 - int(round((y1 - y0) * c / top))
        img[t:y1, a:max(a + 1, b - 1)] = SERIES[0]
    return img


def _track_base(route: np.ndarray, res: float):
    from drtui.sim.sensors.texture import draw_track

    raster = draw_track(route, res, margin=0.3)
    grey = (raster.image * 255).round().astype(np.uint8)
    return raster, np.repeat(grey[..., None], 3, axis=2)


def _hot(v: np.ndarray) -> np.ndarray:
    """0..1 -> black-red-yellow-white, matplotlib's 'hot' (deepracer-utils' plot_track)."""
    v = np.clip(v, 0, 1)
    r = np.clip(v / 0.375, 0, 1)
    g = np.clip((v - 0.375) / 0.375, 0, 1)
    b = np.clip((v - 0.75) / 0.25, 0, 1)
    return (np.stack([r, g, b], -1) * 255).round().astype(np.uint8)


def heatmap_picture(route: np.ndarray, heat, res: float = 0.02) -> np.ndarray:
    """The track with each heatmap cell that saw steps painted by its mean reward."""
    raster, img = _track_base(route, res)
    mean = heat.mean
    ok = np.isfinite(mean)
    if ok.any():
        lo, hi = float(mean[ok].min()), float(mean[ok].max())
        norm = (mean - lo) / (hi - lo) if hi > lo else np.ones_like(mean)
        colours = _hot(0.25 + 0.75 * np.nan_to_num(norm))
        h, w = img.shape[:2]
        for iy, ix in zip(*np.nonzero(ok)):
            cx0 = heat.x0 + ix * heat.cell
            cy0 = heat.y0 + iy * heat.cell
            (c0, r0), (c1, r1) = raster.to_pixel(np.array([[cx0, cy0],
                                                             [cx0 + heat.cell, cy0 + heat.cell]]))
            c0, c1 = sorted((int(c0), int(c1)))
            r0, r1 = sorted((int(r0), int(r1)))
            img[max(r0, 0):min(r1, h), max(c0, 0):min(c1, w)] = colours[iy, ix]
    return img[::-1].copy()


def paths_picture(route: np.ndarray, paths: dict[int, np.ndarray], res: float = 0.02):
    raster, img = _track_base(route, res)
    for i, (_, pts) in enumerate(sorted(paths.items())):
        if not len(pts):
            continue
        px = raster.to_pixel(np.asarray(pts, float))
        colour = SERIES[i % len(SERIES)]
        for a, b in pairwise(px):
            line(img, a, b, colour)
        line(img, px[0], px[0], colour, 4)
    return img[::-1].copy()


def actions_picture(table, cell: int = 24) -> np.ndarray:
    """Actions (rows) x sections (columns): each cell shaded by the share of its section's
    steps that took that action."""
    counts = table.to_numpy(float)
    share = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    rows, cols = counts.shape
    img = _canvas(cols * cell + 2, rows * cell + 2)
    colours = _hot(1 - 0.85 * share)
    for r in range(rows):
        for c in range(cols):
            img[1 + r * cell:(r + 1) * cell, 1 + c * cell:(c + 1) * cell] = colours[r, c]
    return img


def write_all(out: Path, report) -> list[Path]:
    """Every picture a drtui.analysis.report.Report allows, into `out`; the files written."""
    from drtui.sim.png import write_png

    out.mkdir(parents=True, exist_ok=True)
    r, written = report, []
    if len(r.iterations):
        written.append(write_png(out / "training-progress.png", progress_picture(r.iterations)))
    if len(r.histogram[1]):
        written.append(write_png(out / "lap-times.png", histogram_picture(*r.histogram)))
    if r.route is not None and r.heat is not None:
        written.append(write_png(out / "reward-heatmap.png", heatmap_picture(r.route, r.heat)))
    if r.route is not None and r.best:
        written.append(write_png(out / "best-laps.png", paths_picture(r.route, r.best)))
    if len(r.actions):
        written.append(write_png(out / "actions-per-section.png", actions_picture(r.actions)))
    return written
