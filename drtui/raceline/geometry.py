"""Track geometry for racing lines, in numpy: the route resampled into evenly spaced cross
sections (inner point, outer point), how far each section's points may go towards either
border for a given margin, signed curvature, and distances to polylines.

A point of the line is `inner + t * (outer - inner)` for its section's lane `t` in 0..1, so a
line is its lanes, and keeping it inside the borders is clamping each lane to its interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LANE_GRID = 33  # lanes tried per section when measuring the margin (1/32 of the width apart)
BORDER_WINDOW = 8  # route border segments either side of the one a section meets, searched
TARGET_SPACING_M = 0.1  # cross sections about this far apart along the centre line
TANGENT_SPAN_M = 0.8  # the centre line's direction at a section: from points this far either side


@dataclass(frozen=True)
class Sections:
    """Cross sections of a route: (N, 2) inner and outer points, (N,) lane bounds.

    For a loop the first section is not repeated at the end (index arithmetic wraps)."""

    inner: np.ndarray
    outer: np.ndarray
    lo: np.ndarray  # smallest lane whose point keeps the margin from both borders
    hi: np.ndarray  # largest such lane
    is_loop: bool
    margin: float

    def __len__(self) -> int:
        return len(self.inner)

    def points(self, lanes: np.ndarray) -> np.ndarray:
        return self.inner + lanes[:, None] * (self.outer - self.inner)

    @property
    def centre(self) -> np.ndarray:
        return self.points(np.full(len(self), 0.5))


def resample(waypoints: np.ndarray, spacing: float = TARGET_SPACING_M
             ) -> tuple[np.ndarray, bool, np.ndarray]:
    """The route's rows (centre, inner, outer) at evenly spaced arc lengths of the centre
    line, at least as many as the route has; whether it is a loop (a loop's closing row
    dropped); and the route segment each resampled row lies on."""
    wp = np.asarray(waypoints, dtype=np.float64)[:, :6]
    is_loop = bool(np.hypot(*(wp[0, :2] - wp[-1, :2])) < 1e-6)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(wp[:, :2], axis=0).T))])
    n = max(len(wp) - 1, int(np.ceil(s[-1] / spacing)))
    at = np.linspace(0.0, s[-1], n + 1)
    rows = np.stack([np.interp(at, s, wp[:, k]) for k in range(6)], axis=1)
    seg = np.clip(np.searchsorted(s, at, side="right") - 1, 0, len(wp) - 2)
    if is_loop:
        return rows[:-1], True, seg[:-1]
    return rows, False, seg


def point_segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points (..., 2) to segments a-b (..., 2), broadcast. (Worked on x and y
    planes apart: a trailing axis of 2 makes numpy several times slower here.)"""
    px, py = points[..., 0], points[..., 1]
    ax, ay = a[..., 0], a[..., 1]
    ex, ey = b[..., 0] - ax, b[..., 1] - ay
    rx, ry = px - ax, py - ay
    len2 = ex * ex + ey * ey
    t = np.clip((rx * ex + ry * ey) / np.where(len2 > 0, len2, 1.0), 0.0, 1.0)
    rx -= t * ex
    ry -= t * ey
    return np.sqrt(rx * rx + ry * ry)


def polyline_distance(points: np.ndarray, line: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Distance from each of points (M, 2) to the polyline (V, 2), searching every segment."""
    a, b = line[:-1][None], line[1:][None]
    out = np.empty(len(points))
    for i in range(0, len(points), chunk):
        out[i:i + chunk] = point_segment_distance(points[i:i + chunk, None], a, b).min(1)
    return out


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def _windowed_distance(points: np.ndarray, border: np.ndarray, seg: np.ndarray,
                       is_loop: bool) -> np.ndarray:
    """Distance from points (N, G, 2) of section i to the border's segments within
    BORDER_WINDOW of segment seg[i] (the one its section meets)."""
    count = len(border) - 1
    idx = seg[:, None] + np.arange(-BORDER_WINDOW, BORDER_WINDOW + 1)
    idx = idx % count if is_loop else np.clip(idx, 0, count - 1)
    a, b = border[idx][:, None], border[idx + 1][:, None]  # (N, 1, 2W+1, 2)
    return point_segment_distance(points[:, :, None], a, b).min(-1)


def square_sections(rows: np.ndarray, waypoints: np.ndarray, seg: np.ndarray,
                    is_loop: bool) -> tuple[np.ndarray, np.ndarray]:
    """(inner, outer) points of cross sections square to the centre line's direction, one
    through each resampled centre point, reaching as far towards each border as the border's
    nearest point is (so a section never leaves the road: the disc of that radius holds no
    border point).

    A route's own inner-outer pairs may cross the road at a slant (Tokyo_Training_track's
    hairpins lean up to 75 degrees) and neighbouring ones cross each other there; a line
    through such sections doubles back on itself, a kink of very high curvature. The
    direction is taken over TANGENT_SPAN_M either side, so the sections fan round a sharp
    corner of a coarse route instead of crossing."""
    centre, inner = rows[:, 0:2], rows[:, 2:4]
    step = float(np.mean(segment_lengths(centre, is_loop)[: len(centre) - (not is_loop)]))
    before, after = neighbours(len(centre), is_loop, max(1, round(TANGENT_SPAN_M / step)))
    tangent = centre[after] - centre[before]
    tangent /= np.maximum(np.hypot(*tangent.T), 1e-12)[:, None]
    left = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    # which side the inner border lies on holds for the whole route: a vote, not per point
    side = 1.0 if np.median(((inner - rows[:, 4:6]) * left).sum(1)) >= 0 else -1.0
    towards_inner = side * left
    to_inner = _windowed_distance(centre[:, None], waypoints[:, 2:4], seg, is_loop)[:, 0]
    to_outer = _windowed_distance(centre[:, None], waypoints[:, 4:6], seg, is_loop)[:, 0]
    return (centre + to_inner[:, None] * towards_inner,
            centre - to_outer[:, None] * towards_inner)


def sections(waypoints: np.ndarray, margin: float,
             spacing: float = TARGET_SPACING_M) -> Sections:
    """Cross sections of a route (square to its centre line, see square_sections) and the
    lanes that keep `margin` metres from both borders.

    Each section's interval comes from measured distances to the route's border segments
    near it, not from its length alone. Where the road is narrower than twice the margin
    the interval closes on the section's roomiest point."""
    wp = np.asarray(waypoints, dtype=np.float64)
    rows, is_loop, seg = resample(wp, spacing)
    inner, outer = square_sections(rows, wp, seg, is_loop)
    grid = np.linspace(0.0, 1.0, LANE_GRID)
    pts = inner[:, None] + grid[None, :, None] * (outer - inner)[:, None]  # (N, G, 2)
    room = np.minimum(_windowed_distance(pts, wp[:, 2:4], seg, is_loop),
                      _windowed_distance(pts, wp[:, 4:6], seg, is_loop))
    ok = room >= margin
    has = ok.any(1)
    lo = np.where(has, grid[np.argmax(ok, 1)], grid[np.argmax(room, 1)])
    hi = np.where(has, grid[LANE_GRID - 1 - np.argmax(ok[:, ::-1], 1)], lo)
    return Sections(inner, outer, lo, hi, is_loop, float(margin))


def signed_curvature(prev: np.ndarray, mid: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Menger curvature (1/m) of the circle through three points (..., 2): positive for a
    left (counter-clockwise) turn, 0 for collinear or repeated points."""
    u, v, w = mid - prev, nxt - mid, nxt - prev
    cross = _cross(u, v)
    denom = (np.hypot(u[..., 0], u[..., 1]) * np.hypot(v[..., 0], v[..., 1])
             * np.hypot(w[..., 0], w[..., 1]))
    return np.where(denom > 1e-12, 2.0 * cross / np.where(denom > 1e-12, denom, 1.0), 0.0)


def neighbours(n: int, is_loop: bool, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices k before and k after each of n points (an open line repeats its ends)."""
    i = np.arange(n)
    if is_loop:
        return (i - k) % n, (i + k) % n
    return np.clip(i - k, 0, n - 1), np.clip(i + k, 0, n - 1)


def curvature(points: np.ndarray, is_loop: bool) -> np.ndarray:
    """Signed curvature at each point of a line, from it and its two neighbours."""
    p, q = neighbours(len(points), is_loop)
    return signed_curvature(points[p], points, points[q])


def segment_lengths(points: np.ndarray, is_loop: bool) -> np.ndarray:
    """Length of the segment from each point to the next (a loop closes; an open line's
    last entry is 0)."""
    ds = np.hypot(*(np.roll(points, -1, axis=0) - points).T)
    if not is_loop:
        ds[-1] = 0.0
    return ds
