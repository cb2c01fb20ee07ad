"""Reward-function `params` dicts as the DeepRacer simulator computes them, for any track.

The values follow deepracer-simapp: `set_reward_and_metrics` (bundle/markov/agent_ctrl/utils.py)
and `TrackData` (bundle/markov/track_geom/track_data.py), which measure everything on shapely
lines built from the route's waypoint array. The helpers below are numpy versions of the few
shapely calls involved (project, interpolate, contains), so a reward function sees here what it
would see in training. Shapes: points are (M, 2) arrays, lines are (N, 2) vertex arrays; a loop
repeats its first vertex last, as the route files do.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from drtui.catalog import tracks

STEPS_PER_SECOND = 15
FRONT_OFFSET_M = 0.14  # RELATIVE_POSITION_OF_FRONT_OF_CAR: x,y are the front, not the car origin
# Wheel link positions in the car frame (x forward, y left) from the DeepRacer URDF; the car
# origin (base_link) sits midway between the axles.
WHEEL_OFFSETS = np.array([[0.082311, 0.079601], [0.082311, -0.079601],
                          [-0.081663, 0.08105], [-0.081663, -0.08105]])
CAR_SIZE_M = (0.365, 0.225)  # length, width (deepracer-log-guru real_world.py)
BOX_SIZE_M = (0.24, 0.38)  # box obstacle: length along the track, width across it
BOT_CAR_SPEED = 0.2  # m/s, DRfC's DR_H2B_BOT_CAR_SPEED default
ROUND_ROBIN_ADVANCE_DIST = 0.05  # training episodes start at multiples of this lap fraction
# object_in_camera is approximated by a flat wedge: the camera's horizontal field of view
# (URDF horizontal_fov 1.13 rad) out to a few metres, instead of simapp's 3-D frustum.
CAMERA_HFOV_RAD = 1.13
CAMERA_RANGE_M = 3.0

PARAM_KEYS = (
    "all_wheels_on_track", "x", "y", "heading", "distance_from_center", "is_left_of_center",
    "is_reversed", "is_offtrack", "is_crashed", "progress", "speed", "steering_angle", "steps",
    "track_length", "track_width", "waypoints", "closest_waypoints", "projection_distance",
    "sim_time", "closest_objects", "objects_location", "objects_left_of_center",
    "objects_heading", "objects_speed", "objects_distance", "objects_distance_from_center",
    "object_in_camera",
)


# ---------------------------------------------------------------------------------- geometry

def _arc_lengths(line: np.ndarray) -> np.ndarray:
    """Cumulative length at each vertex (0 at the first)."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])


def project(points, line: np.ndarray):
    """Nearest point on a polyline for each point, like shapely's `line.project(point)`.

    Returns (segment, along, nearest, distance): the index i of the segment (vertex i to i+1)
    holding the nearest point, the arc length from the line's start to it, the nearest points
    (M, 2) and the distances to them. Ties go to the first segment, as in GEOS.
    """
    p = np.atleast_2d(np.asarray(points, dtype=float))
    a, ab = line[:-1], np.diff(line, axis=0)
    len2 = (ab * ab).sum(axis=1)
    safe = np.where(len2 > 0, len2, 1.0)  # duplicate vertices make zero-length segments
    t = np.clip(((p[:, None, :] - a) * ab).sum(axis=2) / safe, 0.0, 1.0)
    near = a + t[..., None] * ab
    d2 = ((p[:, None, :] - near) ** 2).sum(axis=2)
    seg = d2.argmin(axis=1)
    rows = np.arange(len(p))
    along = _arc_lengths(line)[seg] + t[rows, seg] * np.sqrt(len2[seg])
    return seg, along, near[rows, seg], np.sqrt(d2[rows, seg])


def signed_side(points, line: np.ndarray) -> np.ndarray:
    """+1 where a point lies left of the line's direction of travel, -1 right, 0 on it."""
    p = np.atleast_2d(np.asarray(points, dtype=float))
    seg, _, near, _ = project(p, line)
    d = np.diff(line, axis=0)[seg]
    rel = p - near
    return np.sign(d[:, 0] * rel[:, 1] - d[:, 1] * rel[:, 0])


def interpolate(line: np.ndarray, along) -> tuple[np.ndarray, np.ndarray]:
    """Points at arc lengths `along` (like shapely's `interpolate`) and the unit direction of
    the segment each lies on."""
    cum = _arc_lengths(line)
    s = np.clip(np.asarray(along, dtype=float), 0.0, cum[-1])
    # side="right" skips zero-length segments, so every direction is well defined
    i = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(line) - 2)
    ab = line[i + 1] - line[i]
    seg_len = np.linalg.norm(ab, axis=-1)
    t = (s - cum[i]) / np.where(seg_len > 0, seg_len, 1.0)
    return line[i] + t[..., None] * ab, ab / np.where(seg_len > 0, seg_len, 1.0)[..., None]


def points_in_polygon(points, ring: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of each point against a closed ring."""
    p = np.atleast_2d(np.asarray(points, dtype=float))
    x, y = p[:, :1], p[:, 1:]
    x1, y1, x2, y2 = ring[:-1, 0], ring[:-1, 1], ring[1:, 0], ring[1:, 1]
    crosses = (y1 > y) != (y2 > y)
    x_at = x1 + (y - y1) * (x2 - x1) / np.where(y2 != y1, y2 - y1, 1.0)
    return (crosses & (x < x_at)).sum(axis=1) % 2 == 1


def front_point(origin, heading_deg) -> np.ndarray:
    """The point the simulator reports as x,y: FRONT_OFFSET_M ahead of the car origin."""
    h = np.radians(np.asarray(heading_deg, dtype=float))
    return np.asarray(origin, dtype=float) + FRONT_OFFSET_M * np.stack([np.cos(h), np.sin(h)], -1)


def wheel_points(origin, heading_deg) -> np.ndarray:
    """The four wheel positions (..., 4, 2) of cars at `origin` facing `heading_deg`."""
    return _rect_points(origin, np.radians(heading_deg), WHEEL_OFFSETS)


def _rect_points(centre, yaw, local: np.ndarray) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (..., 2, 2)
    return np.asarray(centre, dtype=float)[..., None, :] + np.einsum("...ij,kj->...ki", rot, local)


def _box(length: float, width: float) -> np.ndarray:
    hl, hw = length / 2, width / 2
    return np.array([[hl, hw], [hl, -hw], [-hl, -hw], [-hl, hw]])


def _closed(ring: np.ndarray) -> np.ndarray:
    return ring if np.array_equal(ring[0], ring[-1]) else np.vstack([ring, ring[:1]])


@dataclass(frozen=True, eq=False)
class TrackGeometry:
    """A route's lines in its driving direction, as simapp's TrackData holds them."""

    world: str
    centre: np.ndarray
    inner: np.ndarray
    outer: np.ndarray
    length: float
    ndists: np.ndarray  # normalised position of each centre waypoint, last one 1.0 (TrackLine)
    is_loop: bool
    is_ccw: bool
    reversed: bool = False  # REVERSE_DIR: the route's rows driven backwards

    def on_road(self, points) -> np.ndarray:
        """Inside the road polygon: the outer border minus the inner one."""
        if self.is_loop:
            return points_in_polygon(points, self.outer) & ~points_in_polygon(points, self.inner)
        return points_in_polygon(points, _closed(np.vstack([self.outer, self.inner[::-1]])))

    def in_inner_half(self, points) -> np.ndarray:
        """Between the centre line and the inner border (simapp's `_inner_poly_`)."""
        if self.is_loop:
            return points_in_polygon(points, self.centre) & ~points_in_polygon(points, self.inner)
        return points_in_polygon(points, _closed(np.vstack([self.centre, self.inner[::-1]])))

    def prev_next(self, ndist) -> tuple[np.ndarray, np.ndarray]:
        """closest_waypoints for normalised positions (simapp's find_prev_next, wrapping)."""
        nxt = np.searchsorted(self.ndists, ndist, side="right")
        last = len(self.ndists) - 1
        return np.where(nxt == 0, last, nxt - 1), np.where(nxt > last, 0, nxt)


def track_geometry(world: str, *, route: str | os.PathLike | np.ndarray | None = None,
                   reverse: bool = False) -> TrackGeometry:
    """The geometry a reward function is measured on: `world`'s shipped route, or `route`
    (a session's own .npy file, or a waypoint array) when given; `reverse` drives it the other
    way (REVERSE_DIR). Cached per world or file (arrays are read-only). FileNotFoundError for
    an unknown world, drtui.catalog.tracks.RouteError for a route file simapp could not drive."""
    if route is None:
        return _world_geometry(world, reverse)
    if isinstance(route, np.ndarray):
        return geometry_of(world, route, reverse)
    path = Path(route).resolve()
    stat = path.stat() if path.is_file() else None  # an edited file is read again
    version = (stat.st_mtime_ns, stat.st_size) if stat else (0, 0)
    return _file_geometry(world, str(path), version, reverse)


@cache
def _world_geometry(world: str, reverse: bool) -> TrackGeometry:
    return geometry_of(world, tracks.load_waypoints(world), reverse)


@lru_cache(maxsize=8)
def _file_geometry(world: str, path: str, version: tuple[int, int],
                   reverse: bool) -> TrackGeometry:
    return geometry_of(world, tracks.read_route(path), reverse)


def geometry_of(world: str, waypoints: np.ndarray, reverse: bool = False) -> TrackGeometry:
    """The TrackGeometry of a waypoint array (sanitised as simapp does, rows reversed for
    REVERSE_DIR)."""
    wp = tracks.sanitize(waypoints)
    if reverse:
        wp = wp[::-1]
    centre, inner, outer = (np.ascontiguousarray(wp[:, i:i + 2]) for i in (0, 2, 4))
    length = float(_arc_lengths(centre)[-1])
    ndists = np.append(project(centre[:-1], centre)[1] / length, 1.0)
    x, y = centre[:, 0], centre[:, 1]
    is_loop = bool(np.array_equal(wp[0], wp[-1]))
    is_ccw = bool(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) > 0) if is_loop else True
    for a in (centre, inner, outer, ndists):
        a.setflags(write=False)
    return TrackGeometry(world, centre, inner, outer, length, ndists, is_loop, is_ccw, reverse)


# ---------------------------------------------------------------------------------- sampling

def _wrap_deg(a):
    return (np.asarray(a) + 180.0) % 360.0 - 180.0


def _place_objects(rng, count: int):
    """Lap fractions and lanes (+1 inner lane, -1 outer) of `count` objects spread over the lap,
    alternating lanes as simapp's default object placement does."""
    frac = (np.arange(count) + rng.uniform(0.3, 0.7, count)) / count
    first = rng.choice([1, -1])
    return frac, first * np.where(np.arange(count) % 2 == 0, 1, -1)


def _objects_at(geo: TrackGeometry, frac: np.ndarray, lanes: np.ndarray):
    """Positions and yaw (radians) of objects on the lane lines (midway centre-border)."""
    pos = np.empty((len(frac), 2))
    yaw = np.empty(len(frac))
    for side, border in ((1, geo.inner), (-1, geo.outer)):
        lane_line = (geo.centre + border) / 2
        sel = lanes == side
        pts, direction = interpolate(lane_line, frac[sel] % 1.0 * _arc_lengths(lane_line)[-1])
        pos[sel], yaw[sel] = pts, np.arctan2(direction[:, 1], direction[:, 0])
    return pos, yaw


def _object_params(geo, front, origin, heading_rad, model_along, pos, yaw, bots: bool) -> dict:
    """Object keys for one car, as TrackData.get_object_reward_params computes them."""
    _, pdists, _, centre_dist = project(pos, geo.centre)
    order = np.argsort(pdists, kind="stable")
    nxt = int(np.searchsorted(pdists[order], model_along, side="right"))
    prev_i, next_i = int(order[nxt - 1]), int(order[nxt % len(order)])
    left = geo.in_inner_half(pos) ^ (not geo.is_ccw)
    # is_crashed: a corner of the car's footprint inside an object's footprint
    car = _rect_points(origin, heading_rad, _box(*CAR_SIZE_M))
    size = CAR_SIZE_M if bots else BOX_SIZE_M
    crashed = any(points_in_polygon(car, _closed(_rect_points(p, a, _box(*size)))).any()
                  for p, a in zip(pos, yaw, strict=True))
    rel = pos[next_i] - front
    bearing = math.atan2(rel[1], rel[0]) - heading_rad
    bearing = (bearing + math.pi) % (2 * math.pi) - math.pi
    in_camera = abs(bearing) <= CAMERA_HFOV_RAD / 2 and math.hypot(*rel) <= CAMERA_RANGE_M
    return {
        "is_crashed": bool(crashed),
        "closest_objects": [prev_i, next_i],
        "objects_location": [[float(a), float(b)] for a, b in pos],
        "objects_left_of_center": [bool(v) for v in left],
        "objects_heading": [float(v) for v in yaw] if bots else [0.0] * len(pos),
        "objects_speed": [BOT_CAR_SPEED if bots else 0.0] * len(pos),
        "objects_distance": [float(v) for v in pdists],
        "objects_distance_from_center": [float(v) for v in centre_dist],
        "object_in_camera": bool(in_camera),
    }


def sample_params(world: str, *, n: int = 64, seed: int = 0, objects: int = 0,
                  bots: bool = False, route: str | os.PathLike | np.ndarray | None = None,
                  reverse: bool = False) -> list[dict]:
    """`n` reward-function params dicts for cars spread along `world`'s lap.

    Cars sit at stratified lap positions: about a third on the centre line, half anywhere
    across the road, the rest just over a border (some with wheels still on the road). Headings
    follow the track with 10 degrees of noise; speed and steering are commanded actions in
    0.5..4 m/s and -30..30 degrees. Each car is given an episode start (a round-robin start
    line) and pace, from which progress, steps and sim_time follow. With `objects`, boxes (or,
    with `bots`, bot cars moving at BOT_CAR_SPEED) sit in alternating lanes; bot cars are at a
    different place along their lanes in every sample. Deterministic for a given seed.
    `route` and `reverse` pick the geometry as in track_geometry (a session's own route file).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    geo = track_geometry(world, route=route, reverse=reverse)
    rng = np.random.default_rng(seed)

    # Where each car's front point goes: a lap position and a sideways offset.
    s = (np.arange(n) + rng.uniform(0.0, 1.0, n)) * geo.length / n
    on_centre, tangent = interpolate(geo.centre, s)
    half = np.interp(s, _arc_lengths(geo.centre), np.linalg.norm(geo.inner - geo.outer, axis=1)) / 2
    kind = rng.choice(3, size=n, p=[0.3, 0.55, 0.15])
    offset = np.select(
        [kind == 0, kind == 1],
        [rng.normal(0.0, 0.02, n), rng.uniform(-1.0, 1.0, n) * np.maximum(half - 0.1, 0.0)],
        rng.choice([-1.0, 1.0], n) * (half + rng.uniform(0.03, 0.3, n)))
    front = on_centre + offset[:, None] * np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    heading = _wrap_deg(np.degrees(np.arctan2(tangent[:, 1], tangent[:, 0])) + rng.normal(0, 10, n))
    heading_rad = np.radians(heading)
    origin = front - FRONT_OFFSET_M * np.stack([np.cos(heading_rad), np.sin(heading_rad)], axis=1)
    speed = rng.uniform(0.5, 4.0, n).round(2)
    steering = rng.uniform(-30.0, 30.0, n).round(1)
    start_ndist = ROUND_ROBIN_ADVANCE_DIST * rng.integers(0, round(1 / ROUND_ROBIN_ADVANCE_DIST), n)
    episode_pace = rng.uniform(1.0, 3.0, n)  # m/s averaged since the episode start
    episode_t0 = rng.uniform(0.0, 3600.0, n)

    # What the simulator measures from those poses.
    _, along, near_centre, dist_centre = project(front, geo.centre)
    ndist = along / geo.length
    near_in = project(near_centre, geo.inner)[2]
    near_out = project(near_centre, geo.outer)[2]
    d_in = np.linalg.norm(front - near_in, axis=1)
    d_out = np.linalg.norm(front - near_out, axis=1)
    left = (d_in < d_out) ^ (not geo.is_ccw)
    width = np.linalg.norm(near_in - near_out, axis=1)
    prev_wp, next_wp = geo.prev_next(ndist)
    wheels_on = geo.on_road(wheel_points(origin, heading).reshape(-1, 2)).reshape(n, 4)
    lap_frac = (ndist - start_ndist) % 1.0
    progress = np.minimum(100.0 * lap_frac, 100.0)
    steps = 1 + np.floor(lap_frac * geo.length * STEPS_PER_SECOND / episode_pace).astype(int)
    sim_time = episode_t0 + steps / STEPS_PER_SECOND

    waypoints = [(float(x), float(y)) for x, y in geo.centre]
    if objects:
        obj_frac, obj_lanes = _place_objects(rng, objects)
        obj_shift = rng.uniform(0.0, 1.0, n) if bots else np.zeros(n)
    out = []
    for i in range(n):
        p = {
            "all_wheels_on_track": bool(wheels_on[i].all()),
            "x": float(front[i, 0]),
            "y": float(front[i, 1]),
            "heading": float(heading[i]),
            "distance_from_center": float(dist_centre[i]),
            "is_left_of_center": bool(left[i]),
            "is_reversed": geo.reversed,  # REVERSE_DIR only: a _cw world is its own route
            "is_offtrack": not bool(wheels_on[i].any()),
            "is_crashed": False,
            "progress": float(progress[i]),
            "speed": float(speed[i]),
            "steering_angle": float(steering[i]),
            "steps": int(steps[i]),
            "track_length": geo.length,
            "track_width": float(width[i]),
            "waypoints": list(waypoints),
            "closest_waypoints": [int(prev_wp[i]), int(next_wp[i])],
            "projection_distance": float(along[i]),
            "sim_time": float(sim_time[i]),
            "closest_objects": [0, 0],
            "objects_location": [],
            "objects_left_of_center": [],
            "objects_heading": [],
            "objects_speed": [],
            "objects_distance": [],
            "objects_distance_from_center": [],
            "object_in_camera": False,
        }
        if objects:
            pos, yaw = _objects_at(geo, obj_frac + obj_shift[i], obj_lanes)
            p.update(_object_params(geo, front[i], origin[i], heading_rad[i], along[i],
                                    pos, yaw, bots))
        out.append(p)
    return out
