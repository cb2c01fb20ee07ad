# Over 450 lines: simapp's TrackData geometry in one place: borders, lanes, projection and
# containment must agree with each other to the digit.
"""Track geometry as the DeepRacer simulator measures it (deepracer-simapp TrackData).

simapp builds shapely lines from a route's waypoints (centre, inner and outer border, and the
two lanes midway between the centre and each border) and measures the car against them with
`project`, `interpolate` and polygon `contains`. Those few calls are reimplemented here on torch
tensors, batched over points: float64 reproduces a real log to the digit (`drtui sim trace`),
float32 is what the simulator steps on. drtui.reward.params has numpy versions of the same
calls for one-off previews; the simulator needs batched torch ones that run every step.

A route is sanitised as simapp does it (consecutive duplicate centre points dropped, the closing
row kept), so waypoint indices match the simulator's. Driving a track in reverse uses the same
route with its rows reversed; each direction is a `TrackLines`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np
import torch

from drtui.catalog.tracks import sanitize  # noqa: F401  (simapp's route cleaning, here too)

ROAD_CELL_M = 0.01
BORDER_TABLE_STEP_M = 0.001
GRID_CELL_M, GRID_REACH_M, GRID_CANDIDATES = 0.04, 1.5, 16  # SegmentGrid
INDEXED_SEARCH_WORK = 150_000  # points x segments above which the SegmentGrid search wins
ROAD_IN, ROAD_NEAR_BORDER = 1, 2


@dataclass(frozen=True, eq=False)  # not slotted: cached_property needs a __dict__
class Polyline:
    """A polyline's segments, ready for batched projection (shapely LineString semantics)."""

    points: torch.Tensor  # (V, 2) vertices; a loop repeats its first vertex last
    start: torch.Tensor  # (S, 2) segment start points
    vec: torch.Tensor  # (S, 2) segment vectors
    seg_len: torch.Tensor  # (S,)
    inv_len2: torch.Tensor  # (S,) 1/|vec|^2, 0 for a zero-length segment
    cum: torch.Tensor  # (V,) arc length at each vertex
    length: float

    @classmethod
    def of(cls, points: np.ndarray, dtype: torch.dtype) -> Polyline:
        p = torch.as_tensor(np.ascontiguousarray(points), dtype=torch.float64)
        vec = p[1:] - p[:-1]
        len2 = (vec * vec).sum(-1)
        seg_len = len2.sqrt()
        cum = torch.cat([torch.zeros(1, dtype=torch.float64), seg_len.cumsum(0)])
        inv = torch.where(len2 > 0, 1.0 / torch.where(len2 > 0, len2, 1.0), 0.0)
        return cls(p.to(dtype), p[:-1].to(dtype), vec.to(dtype), seg_len.to(dtype),
                   inv.to(dtype), cum.to(dtype), float(cum[-1]))

    def project(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Arc length from the start to the nearest point of the line, and that point, for
        points (..., 2). Ties go to the first segment, as in GEOS (shapely's `project`)."""
        flat = p.reshape(-1, 2)
        sx, sy, vx, vy = self._xy
        px, py = flat.unsqueeze(-1).unbind(1)  # (M, 1) each
        rx, ry = px - sx, py - sy  # (M, S) the point relative to each segment's start
        t = (rx * vx).addcmul_(ry, vy).mul_(self.inv_len2).clamp_(0.0, 1.0)
        ex = rx.addcmul_(t, vx, value=-1.0)  # offset from each segment's nearest point
        ey = ry.addcmul_(t, vy, value=-1.0)
        seg = argmin_last(ex.mul_(ex).addcmul_(ey, ey))
        ts = t.gather(1, seg.unsqueeze(1))  # (M, 1)
        # (index_select is several times faster than advanced indexing on CPU)
        x0, y0, dx, dy, length, cum = self._table.index_select(1, seg).unsqueeze(-1).unbind(0)
        along = cum.addcmul(ts, length).view(p.shape[:-1])
        near = torch.cat([x0.addcmul(ts, dx), y0.addcmul(ts, dy)], 1).view(p.shape)
        return along, near

    @cached_property
    def _table(self) -> torch.Tensor:
        """(6, S): segment start x, y, vector x, y, length, arc length at its start."""
        return torch.stack([self.start[:, 0], self.start[:, 1], self.vec[:, 0], self.vec[:, 1],
                            self.seg_len, self.cum[:-1]])

    @cached_property
    def _xy(self) -> tuple[torch.Tensor, ...]:
        return (self.start[:, 0].contiguous(), self.start[:, 1].contiguous(),
                self.vec[:, 0].contiguous(), self.vec[:, 1].contiguous())

    def project_fast(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`project` for points (M, 2), by whichever search is cheaper for this many points:
        on CPU the cost is the number of tensor operations until the tensors grow large,
        which makes the full search faster below about INDEXED_SEARCH_WORK point-segments."""
        if len(p) * len(self.start) < INDEXED_SEARCH_WORK:
            return self.project(p)
        return self.project_indexed(p)

    def project_indexed(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`project` for points (M, 2) near the line, searching only the few segments that
        can be nearest for the grid cell each point is in (SegmentGrid): the same result,
        for a fraction of the work. Points off the grid get the full search."""
        grid = self._grid
        px, py = p.unsqueeze(-1).unbind(1)  # (M, 1) each
        col = (px - grid.x0).mul_(1.0 / grid.cell).clamp_(0, grid.w - 1)
        row = (py - grid.y0).mul_(1.0 / grid.cell).clamp_(0, grid.h - 1)
        cell = row.trunc_().mul_(grid.w).add_(col).long().squeeze(1)  # far points: edge cells
        # (advanced indexing is several times slower than index_select on CPU)
        cand = grid.candidates.index_select(0, cell)  # (M, K) segments, ascending; S: search all
        m, k_max = cand.shape
        sx, sy, vx, vy, inv, seg_len, cum = grid.table.index_select(1, cand.view(-1)).view(
            7, m, k_max).unbind(0)
        rx, ry = px - sx, py - sy
        t = (rx * vx).addcmul_(ry, vy).mul_(inv).clamp_(0.0, 1.0)
        ex = rx.addcmul_(t, vx, value=-1.0)
        ey = ry.addcmul_(t, vy, value=-1.0)
        k = argmin_last(ex.mul_(ex).addcmul_(ey, ey)).unsqueeze(1)
        ts = t.gather(1, k)
        along = cum.gather(1, k).addcmul_(ts, seg_len.gather(1, k)).squeeze(1)
        near = torch.cat([sx.gather(1, k).addcmul_(ts, vx.gather(1, k)),
                          sy.gather(1, k).addcmul_(ts, vy.gather(1, k))], 1)
        far = (cand[:, 0] == grid.full).nonzero().flatten()
        if len(far):
            along[far], near[far] = self.project(p[far])
        return along, near

    @cached_property
    def _grid(self) -> SegmentGrid:
        return SegmentGrid.build(self)


    def _segment_at(self, s: torch.Tensor) -> torch.Tensor:
        """Index of the segment holding arc length s (zero-length segments skipped)."""
        seg = torch.searchsorted(self.cum, s.contiguous(), right=True) - 1
        return seg.clamp_(0, len(self.start) - 1)

    def interpolate(self, along: torch.Tensor) -> torch.Tensor:
        """The points at arc lengths `along` (clamped to the line), like shapely's
        `interpolate`; zero-length segments are skipped."""
        s = along.clamp(0.0, self.length)
        seg = self._segment_at(s)
        frac = ((s - self.cum[seg]) / self.seg_len[seg].clamp(min=1e-12)).clamp_(0.0, 1.0)
        return self.start[seg] + frac.unsqueeze(-1) * self.vec[seg]


@dataclass(frozen=True, eq=False)
class SegmentGrid:
    """Candidate nearest segments of a polyline per grid cell.

    For a cell with centre c and half diagonal r, any segment nearest to a point of the cell
    lies within dmin(c) + 2r of c (triangle inequality), so the cell lists those segments in
    index order and a search over them finds the same first minimum as a search over all.
    Cells farther than GRID_REACH_M from the line, or needing more than GRID_CANDIDATES
    segments, are marked for a full search.
    """

    candidates: torch.Tensor  # (cells, K) segment indices; `full` for "search them all"
    table: torch.Tensor  # (7, S + 1): start x, y, vec x, y, 1/len^2, length, cum per segment
    x0: float
    y0: float
    cell: float
    w: int
    h: int
    full: int  # S, a dummy segment index

    @classmethod
    def build(cls, line: Polyline) -> SegmentGrid:
        pts = line.points.double().numpy()
        a, v = pts[:-1], pts[1:] - pts[:-1]
        len2 = (v * v).sum(1)
        cell, reach, k_max = GRID_CELL_M, GRID_REACH_M, GRID_CANDIDATES
        x0, y0 = pts.min(0) - reach
        w, h = (np.ceil((pts.max(0) + reach - (x0, y0)) / cell).astype(int) + 1)
        xs, ys = x0 + cell * (np.arange(w) + 0.5), y0 + cell * (np.arange(h) + 0.5)  # centres

        def window(i):  # cells around segment i, and their centres' distances to it
            lo = np.floor((np.minimum(a[i], a[i] + v[i]) - reach - (x0, y0)) / cell).astype(int)
            hi = np.ceil((np.maximum(a[i], a[i] + v[i]) + reach - (x0, y0)) / cell).astype(int)
            c0, r0 = max(lo[0], 0), max(lo[1], 0)
            c1, r1 = min(hi[0], w - 1), min(hi[1], h - 1)
            px, py = np.meshgrid(xs[c0:c1 + 1] - a[i, 0], ys[r0:r1 + 1] - a[i, 1])
            t = np.clip((px * v[i, 0] + py * v[i, 1]) / len2[i], 0, 1) if len2[i] > 0 else 0 * px
            dist = np.hypot(px - t * v[i, 0], py - t * v[i, 1])
            return (slice(r0, r1 + 1), slice(c0, c1 + 1)), dist

        dmin = np.full((h, w), np.inf)
        windows = [window(i) for i in range(len(a))]
        for (rows, cols), d in windows:
            np.minimum(dmin[rows, cols], d, out=dmin[rows, cols])
        cand = np.full((h, w, k_max), -1, dtype=np.int64)
        count = np.zeros((h, w), dtype=np.int64)
        slack = 2 * (cell / math.sqrt(2)) + 1e-9
        for i, ((rows, cols), d) in enumerate(windows):
            rr, cc = np.nonzero(d <= dmin[rows, cols] + slack)
            rr, cc = rr + rows.start, cc + cols.start
            k = count[rr, cc]
            ok = k < k_max
            cand[rr[ok], cc[ok], k[ok]] = i
            count[rr, cc] += 1
        first = np.repeat(cand[..., :1], k_max, axis=2)
        cand = np.where(cand < 0, first, cand)  # pad with the first candidate: same minimum
        # a cell is only sure to have seen every candidate if they all lie within reach;
        # edge cells also stand for every point beyond the grid
        full = (count > k_max) | (dmin + slack > reach)
        full[[0, -1], :] = full[:, [0, -1]] = True
        cand[full] = len(a)  # a dummy segment: "search them all"
        inv = np.where(len2 > 0, 1.0 / np.where(len2 > 0, len2, 1.0), 0.0)
        cum = np.concatenate([[0.0], np.cumsum(np.sqrt(len2))])[:-1]
        table = np.vstack([a.T, v.T, inv, np.sqrt(len2), cum])  # (7, S)
        table = np.hstack([table, table[:, :1]])
        return cls(torch.from_numpy(cand.reshape(h * w, k_max)),
                   torch.from_numpy(table).to(line.points.dtype), float(x0), float(y0), cell,
                   int(w), int(h), len(a))


def argmin_last(x: torch.Tensor) -> torch.Tensor:
    """argmin over the last dimension, first minimum on ties. numpy's is several times faster
    than torch's on CPU for the (cars, segments) shapes here; it shares the tensor's memory."""
    return torch.from_numpy(x.numpy().argmin(-1))


@dataclass(frozen=True, eq=False)
class Rings:
    """The edges of one or more closed rings, for even-odd point-in-polygon tests: a point is
    inside when a ray from it to +x crosses an odd number of edges. A ring inside another
    is a hole, so the road (outer ring, inner ring) is one Rings."""

    x1: torch.Tensor  # (E,) edge start x
    y1: torch.Tensor  # (E,) edge start y
    y2: torch.Tensor  # (E,) edge end y
    slope: torch.Tensor  # (E,) dx / dy (0 for horizontal edges, which never cross)

    @classmethod
    def of(cls, *rings: Polyline) -> Rings:
        start = torch.cat([r.start for r in rings])
        vec = torch.cat([r.vec for r in rings])
        dy = vec[:, 1]
        slope = torch.where(dy != 0, vec[:, 0] / torch.where(dy != 0, dy, 1.0), 0.0)
        return cls(start[:, 0].contiguous(), start[:, 1].contiguous(),
                   (start[:, 1] + dy).contiguous(), slope)

    def contains(self, points: torch.Tensor) -> torch.Tensor:
        """Even-odd test of points (..., 2); points on an edge may go either way."""
        flat = points.reshape(-1, 2)
        px, py = flat[:, :1], flat[:, 1:]
        crosses = (self.y1 > py) != (self.y2 > py)
        x_at = (py - self.y1).mul_(self.slope).add_(self.x1)
        inside = (crosses & (px < x_at)).sum(-1).remainder_(2).bool()
        return inside.reshape(points.shape[:-1])


def _signed_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2.0)


@dataclass(frozen=True, eq=False)  # not slotted: cached_property needs a __dict__
class TrackLines:
    """The lines of one driving direction, as simapp's TrackData holds them when REVERSE_DIR
    is set or not: everything indexed and measured from this direction's start."""

    centre: Polyline
    inner: Polyline  # border on the inside of the loop (left of travel when ccw)
    outer: Polyline
    inner_lane: Polyline  # midway between centre and inner border: bot cars and starts drive here
    outer_lane: Polyline
    ndists: torch.Tensor  # (V,) normalised position of each centre waypoint, last one 1.0
    is_ccw: bool
    reversed: bool
    waypoints: tuple[tuple[float, float], ...]  # params["waypoints"] (immutable, shared)

    def nearest_on_borders(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The nearest points of the inner and of the outer border to points (M, 2): two
        shapely projections done as one batched one (the borders have as many segments)."""
        sx, sy, vx, vy, inv = self._borders
        rx = p[:, :1, None] - sx  # (M, 2, S)
        ry = p[:, 1:, None] - sy
        t = (rx * vx).addcmul_(ry, vy).mul_(inv).clamp_(0.0, 1.0)
        ex = rx.addcmul_(t, vx, value=-1.0)
        ey = ry.addcmul_(t, vy, value=-1.0)
        seg = argmin_last(ex.mul_(ex).addcmul_(ey, ey))  # (M, 2)
        rows = self._border_segments[torch.arange(2), seg]  # (M, 2, 4): start x, y, vec x, y
        ts = t.gather(2, seg.unsqueeze(-1))  # (M, 2, 1)
        near = rows[..., 0:2] + ts * rows[..., 2:4]
        return near[:, 0], near[:, 1]

    @cached_property
    def _border_segments(self) -> torch.Tensor:
        return torch.stack([torch.cat([b.start, b.vec], -1) for b in (self.inner, self.outer)])

    @cached_property
    def _borders(self) -> tuple[torch.Tensor, ...]:
        a, b = self.inner, self.outer
        return tuple(torch.stack([x, y]) for x, y in zip(
            (*a._xy, a.inv_len2), (*b._xy, b.inv_len2)))

    def borders_at(self, along: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """nearest_on_borders of the centre-line points at arc lengths `along`, looked up in a
        table of exact projections every BORDER_TABLE_STEP_M (nearest sample): within a
        millimetre of the exact points, for a fraction of the cost of projecting each step."""
        table = self._border_table
        k = (along * (1.0 / BORDER_TABLE_STEP_M)).round_().clamp_(0, len(table) - 1).long()
        row = table.index_select(0, k)
        return row[:, 0:2], row[:, 2:4]

    @cached_property
    def _border_table(self) -> torch.Tensor:
        centre = Polyline.of(self.centre.points.double().numpy(), torch.float64)
        lines = TrackLines(centre, *(Polyline.of(line.points.double().numpy(), torch.float64)
                                     for line in (self.inner, self.outer, self.inner_lane,
                                                  self.outer_lane)),
                           self.ndists, self.is_ccw, self.reversed, self.waypoints)
        s = torch.arange(0.0, centre.length + BORDER_TABLE_STEP_M, BORDER_TABLE_STEP_M,
                         dtype=torch.float64)
        # the SegmentGrid search: the same nearest points as nearest_on_borders, for a
        # fraction of the work on long tracks (90 m: 4 s -> well under 1 s)
        rows = [torch.cat([line.project_indexed(pts)[1] for line in (lines.inner, lines.outer)], -1)
                for pts in (centre.interpolate(chunk) for chunk in s.split(8192))]
        return torch.cat(rows).to(self.centre.points.dtype)

    def prev_next(self, ndist: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """closest_waypoints: simapp's find_prev_next (bisect_right, wrapping at both ends)."""
        nxt = torch.searchsorted(self.ndists, ndist.contiguous(), right=True)
        n = len(self.ndists)
        return (nxt - 1).remainder_(n), nxt.remainder(n)  # -1 -> last, n -> 0

    def pose_at(self, line: Polyline, along: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """simapp's interpolate_pose with FORWARD_DIFFERENCE: the point at `along` on `line`,
        heading (rad) towards the line's next waypoint after it."""
        pos = line.interpolate(along)
        s = along.clamp(0.0, line.length)
        nxt = torch.searchsorted(line.cum / line.length, (s / line.length).contiguous(), right=True)
        nxt = torch.where(nxt >= len(line.points), torch.zeros_like(nxt), nxt)
        target = line.points[nxt]
        yaw = torch.atan2(target[..., 1] - pos[..., 1], target[..., 0] - pos[..., 0])
        return pos, yaw


class Track:
    """A world's route in both driving directions, at one float precision.

    `forward` is the route as its file stores it (a `_cw` world has its own file, as in
    simapp), `backward` the same route driven the other way (REVERSE_DIR). Road and lane
    polygons do not depend on the direction.
    """

    def __init__(self, name: str, waypoints: np.ndarray, dtype: torch.dtype = torch.float32,
                 keep_duplicates: bool = False):
        self.name = name
        self.dtype = dtype
        # simapp before 6.0.2 kept duplicate rows, so its logs index waypoints without dropping
        self.route = (np.asarray(waypoints, dtype=np.float64)[:, :6] if keep_duplicates
                      else sanitize(waypoints))
        self.is_loop = bool(np.array_equal(self.route[0], self.route[-1]))
        self.forward = self._lines(self.route, reversed=False)
        self.length = self.forward.centre.length
        # road polygon = outer ring minus inner ring; the "inner half" (objects_left_of_center)
        # = centre ring minus inner ring. Open routes close the ring through both borders.
        if self.is_loop:
            self._road = (self.forward.outer, self.forward.inner)
            self._inner_half = (self.forward.centre, self.forward.inner)
        else:
            road = np.vstack([self.route[:, 4:6], self.route[::-1, 2:4], self.route[:1, 4:6]])
            half = np.vstack([self.route[:, 0:2], self.route[::-1, 2:4], self.route[:1, 0:2]])
            self._road = (Polyline.of(road, dtype), None)
            self._inner_half = (Polyline.of(half, dtype), None)

    @cached_property
    def backward(self) -> TrackLines:
        return self._lines(self.route[::-1], reversed=True)

    def lines(self, reverse: bool) -> TrackLines:
        return self.backward if reverse else self.forward

    def _lines(self, wp: np.ndarray, reversed: bool) -> TrackLines:
        wp = np.ascontiguousarray(wp)
        centre, inner, outer = (Polyline.of(wp[:, i:i + 2], self.dtype) for i in (0, 2, 4))
        lanes = [Polyline.of((wp[:, i:i + 2] + wp[:, 0:2]) / 2, self.dtype) for i in (2, 4)]
        c64 = Polyline.of(wp[:, 0:2], torch.float64)
        ndists = torch.cat([c64.project(c64.points[:-1])[0] / c64.length,
                            torch.ones(1, dtype=torch.float64)])
        is_ccw = (_signed_area(wp[:, 0:2]) > 0) if self.is_loop else True
        waypoints = tuple((float(x), float(y)) for x, y in wp[:, 0:2])
        return TrackLines(centre, inner, outer, lanes[0], lanes[1], ndists.to(self.dtype),
                          is_ccw, reversed, waypoints)

    def on_road(self, points: torch.Tensor) -> torch.Tensor:
        """Inside the road polygon (simapp's points_on_track), for points (..., 2).

        A 1 cm grid answers for points in cells that no border passes near; only the few
        points near a border get the exact polygon test."""
        flat = points.reshape(-1, 2)
        grid, x0, y0, w, h = self._road_grid
        # the grid's outermost cells are off the road, so clamping keeps far points off it
        col = ((flat[:, 0] - x0) * (1.0 / ROAD_CELL_M)).round_().clamp_(0, w - 1)
        row = ((flat[:, 1] - y0) * (1.0 / ROAD_CELL_M)).round_().clamp_(0, h - 1)
        cell = grid.index_select(0, row.mul_(w).add_(col).long())
        inside = cell == ROAD_IN
        near = (cell == ROAD_NEAR_BORDER).nonzero().flatten()
        if len(near):
            inside[near] = self._on_road_exact(flat[near])
        return inside.reshape(points.shape[:-1])

    def _on_road_exact(self, points: torch.Tensor) -> torch.Tensor:
        return self._road_rings.contains(points)

    @cached_property
    def _road_rings(self) -> Rings:
        return Rings.of(*(r for r in self._road if r is not None))

    @cached_property
    def _road_grid(self) -> tuple[torch.Tensor, float, float, int, int]:
        """Cells (centred on a 1 cm grid, flattened row by row): ROAD_IN or 0 where the whole
        cell is on or off the road, ROAD_NEAR_BORDER where a border passes within its reach."""
        from drtui.sim.raster import draw_polyline, fill_even_odd

        x0, y0, x1, y1 = self.bounds(margin=2 * ROAD_CELL_M)
        w = int(np.ceil((x1 - x0) / ROAD_CELL_M)) + 1
        h = int(np.ceil((y1 - y0) / ROAD_CELL_M)) + 1
        grid = np.zeros((h, w), dtype=np.uint8)
        rings = [r.points.double().numpy() for r in self._road if r is not None]
        fill_even_odd(grid, rings, ROAD_IN, x0, y0, ROAD_CELL_M)
        # a point is within half a cell diagonal (0.71 cell) of its cell's centre
        for ring in rings:
            draw_polyline(grid, ring, 0.75 * ROAD_CELL_M, ROAD_NEAR_BORDER, x0, y0, ROAD_CELL_M)
        grid[[0, -1], :] = grid[:, [0, -1]] = 0
        return torch.from_numpy(grid.reshape(-1)), x0, y0, w, h

    def in_inner_half(self, points: torch.Tensor) -> torch.Tensor:
        """Between the centre line and the inner border (simapp's _inner_poly_)."""
        return self._inner_half_rings.contains(points)

    @cached_property
    def _inner_half_rings(self) -> Rings:
        return Rings.of(*(r for r in self._inner_half if r is not None))

    def bounds(self, margin: float = 0.0) -> tuple[float, float, float, float]:
        xy = self.route[:, :6].reshape(-1, 2)
        lo, hi = xy.min(0) - margin, xy.max(0) + margin
        return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def load_route(world_or_path: str | os.PathLike) -> tuple[str, np.ndarray]:
    """(name, waypoints) of a world name, or of a route .npy file (checked as simapp reads
    it; drtui.catalog.tracks.RouteError says what is wrong)."""
    from drtui.catalog.tracks import waypoints_of

    name = Path(world_or_path).stem if Path(world_or_path).suffix == ".npy" else str(world_or_path)
    return name, waypoints_of(world_or_path)


@cache
def load_track(world_or_path: str, dtype: torch.dtype = torch.float32,
               keep_duplicates: bool = False) -> Track:
    """The Track of a world name or a route .npy path (cached: tracks are read-only)."""
    name, waypoints = load_route(world_or_path)
    return Track(name, waypoints, dtype, keep_duplicates)
