"""A top-down grey-level picture of a track: the texture the camera samples, and the map under
an episode picture. Drawn once per track with numpy: floor, road surface between the borders,
white border lines, a dashed centre line (DeepRacer tracks: 5 cm white borders, dashed yellow
centre line, which is light grey once converted to Y).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from drtui.sim.raster import Raster, draw_polyline, fill_even_odd

# grey levels in 0..1 (the camera scales them to 0..255)
FLOOR = 0.42
ROAD = 0.16
BORDER = 0.95
CENTRE_LINE = 0.72
SKY = 0.80  # above the horizon: the venue's walls and sky, one flat level
BORDER_WIDTH_M = 0.05
CENTRE_WIDTH_M = 0.03
DASH_M = 0.15  # centre-line dashes: 15 cm painted, 15 cm gap
MARGIN_M = 2.0


def draw_track(route: np.ndarray, res: float = 0.01, margin: float = MARGIN_M) -> Raster:
    """The top-down picture of a route (N, 6) at `res` metres per pixel."""
    xy = route[:, :6].reshape(-1, 2)
    x0, y0 = xy.min(0) - margin
    x1, y1 = xy.max(0) + margin
    w, h = int(np.ceil((x1 - x0) / res)) + 1, int(np.ceil((y1 - y0) / res)) + 1
    image = np.full((h, w), FLOOR, dtype=np.float32)
    centre, inner, outer = route[:, 0:2], route[:, 2:4], route[:, 4:6]
    if np.array_equal(route[0], route[-1]):
        fill_even_odd(image, [outer, inner], ROAD, x0, y0, res)
    else:
        fill_even_odd(image, [np.vstack([outer, inner[::-1], outer[:1]])], ROAD, x0, y0, res)
    for border in (inner, outer):
        draw_polyline(image, border, BORDER_WIDTH_M / 2, BORDER, x0, y0, res)
    draw_polyline(image, centre, CENTRE_WIDTH_M / 2, CENTRE_LINE, x0, y0, res, dash=DASH_M)
    return Raster(image, float(x0), float(y0), res)


@cache
def track_raster(track, res: float = 0.01) -> Raster:
    """The (cached) picture of a drtui.sim.track.Track."""
    return draw_track(track.route, res)
