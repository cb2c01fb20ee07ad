"""Pictures of a racing line coloured by planned speed: braille text for the terminal (the
track map's heat layer, slow blue to fast red) and a PNG (drtui's own writer)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np

from drtui.raceline.line import RacingLine

DENSIFY = 4  # points per line segment drawn, so the dots join up on a fine canvas


def _dense(line: RacingLine) -> tuple[np.ndarray, np.ndarray]:
    """The line's points and speeds, DENSIFY times as many (a loop closed)."""
    pts, v = line.points, line.speed
    if line.is_loop:
        pts, v = np.vstack([pts, pts[:1]]), np.append(v, v[0])
    f = np.arange((len(pts) - 1) * DENSIFY + 1) / DENSIFY
    i = np.minimum(f.astype(int), len(pts) - 2)
    w = (f - i)[:, None]
    return pts[i] * (1 - w) + pts[i + 1] * w, v[i] * (1 - w[:, 0]) + v[i + 1] * w[:, 0]


def line_text(waypoints: np.ndarray, line: RacingLine, width: int = 80, height: int = 24):
    """rich Text: the track with the line drawn by speed (five colours, slow to fast)."""
    from drtui.plots.track_map import DEFAULT_STYLES, track_map

    canvas = track_map(waypoints, width, height, heat=_dense(line))
    return canvas.to_rich_text(DEFAULT_STYLES)


def speed_colour(speed: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """RGB (M, 3) from blue (lo) through green to red (hi)."""
    f = np.clip((np.asarray(speed, float) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    r = np.clip(2 * f - 1, 0, 1)
    b = np.clip(1 - 2 * f, 0, 1)
    g = 1 - r - b
    return (np.stack([r, g, b], 1) * 215 + 40).astype(np.uint8)


def line_picture(waypoints: np.ndarray, line: RacingLine, res: float = 0.02) -> np.ndarray:
    """RGB picture (north up) of the track with the line coloured by speed."""
    from drtui.sim.png import _line as stamp  # the episode picture's thick segment
    from drtui.sim.sensors.texture import draw_track

    raster = draw_track(np.asarray(waypoints, float), res, margin=0.3)
    grey = (raster.image * 255).round().astype(np.uint8)
    img = np.repeat(grey[..., None], 3, axis=2)
    pts, v = _dense(line)
    colours = speed_colour(v, float(line.speed.min()), float(line.speed.max()))
    px = raster.to_pixel(pts)
    for k, (a, b) in enumerate(pairwise(px)):
        stamp(img, a, b, tuple(int(c) for c in colours[k]), 1)
    return img[::-1].copy()  # raster rows go up in y; pictures go down


def write_line_png(path: str | Path, waypoints: np.ndarray, line: RacingLine) -> Path:
    from drtui.sim.png import write_png

    return write_png(path, line_picture(waypoints, line))
