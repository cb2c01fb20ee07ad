"""Rasters of world geometry: filled polygons and thick polylines drawn into numpy images on a
metric grid. Used for the camera's track texture, the episode picture and the road lookup
that speeds up the wheels-on-track test."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass(frozen=True, eq=False)
class Raster:
    """image[i, j] is the grey level at x = x0 + j * res, y = y0 + i * res (rows go up in y)."""

    image: np.ndarray  # (H, W) float32
    x0: float
    y0: float
    res: float

    @property
    def extent(self) -> tuple[float, float, float, float]:
        h, w = self.image.shape
        return self.x0, self.y0, self.x0 + (w - 1) * self.res, self.y0 + (h - 1) * self.res

    def to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """(col, row) float pixel coordinates of world points (..., 2)."""
        return (np.asarray(xy) - (self.x0, self.y0)) / self.res


def fill_even_odd(image: np.ndarray, rings: list[np.ndarray], value: float,
                   x0: float, y0: float, res: float) -> None:
    """Fill the inside of closed rings (even-odd rule, so a ring inside another is a hole)."""
    edges = np.concatenate([np.stack([r[:-1], r[1:]], 1) for r in rings])  # (E, 2, 2)
    (ax, ay), (bx, by) = edges[:, 0].T, edges[:, 1].T
    xs = x0 + res * np.arange(image.shape[1])
    for i in range(image.shape[0]):
        y = y0 + i * res
        cross = (ay > y) != (by > y)
        if not cross.any():
            continue
        a_x, a_y, b_x, b_y = ax[cross], ay[cross], bx[cross], by[cross]
        x_at = np.sort(a_x + (y - a_y) * (b_x - a_x) / (b_y - a_y))
        # pixels with an odd number of crossings to their left are inside
        inside = np.searchsorted(x_at, xs) % 2 == 1
        image[i, inside] = value


def draw_polyline(image: np.ndarray, pts: np.ndarray, half_width: float, value: float,
                   x0: float, y0: float, res: float, dash: float | None = None) -> None:
    """Paint pixels within half_width of the polyline; with `dash`, only where the arc length
    falls in the painted half of each 2*dash period."""
    h, w = image.shape
    along0 = 0.0
    for a, b in pairwise(pts):
        seg = b - a
        seg_len = float(np.hypot(*seg))
        if seg_len == 0:
            continue
        lo = np.floor((np.minimum(a, b) - half_width - (x0, y0)) / res).astype(int)
        hi = np.ceil((np.maximum(a, b) + half_width - (x0, y0)) / res).astype(int)
        c0, r0 = max(lo[0], 0), max(lo[1], 0)
        c1, r1 = min(hi[0], w - 1), min(hi[1], h - 1)
        if c0 > c1 or r0 > r1:
            along0 += seg_len
            continue
        cx = x0 + res * np.arange(c0, c1 + 1)
        cy = y0 + res * np.arange(r0, r1 + 1)
        px, py = np.meshgrid(cx - a[0], cy - a[1])
        t = np.clip((px * seg[0] + py * seg[1]) / seg_len ** 2, 0.0, 1.0)
        near = np.hypot(px - t * seg[0], py - t * seg[1]) <= half_width
        if dash is not None:
            near &= ((along0 + t * seg_len) % (2 * dash)) < dash
        image[r0:r1 + 1, c0:c1 + 1][near] = value
        along0 += seg_len
