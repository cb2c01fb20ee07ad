"""The reward function's params, computed as deepracer-simapp computes them, batched over cars.

`measure` does simapp's `set_reward_and_metrics` geometry for N car poses at once (front point,
projection on the centre line, nearest border points, wheels on the road, closest waypoints);
`progress` is its `compute_current_prog`; `ParamsBuilder` turns the batch into the 27-key dicts
a reward_function receives, one per car, cheaply: numbers leave torch in one `tolist()` and
each dict is a literal over shared immutable values (the waypoints are a tuple of tuples that
each dict gets a fresh list of, so a reward function cannot corrupt the next call's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from drtui.sim.track import Track, TrackLines

PARAM_KEYS = (
    "all_wheels_on_track", "x", "y", "heading", "distance_from_center", "is_left_of_center",
    "is_reversed", "is_offtrack", "is_crashed", "progress", "speed", "steering_angle", "steps",
    "track_length", "track_width", "waypoints", "closest_waypoints", "projection_distance",
    "sim_time", "closest_objects", "objects_location", "objects_left_of_center",
    "objects_heading", "objects_speed", "objects_distance", "objects_distance_from_center",
    "object_in_camera",
)


@dataclass
class Measure:
    """What the simulator measures from N car poses; tensors of shape (N,) unless noted."""

    front: torch.Tensor  # (N, 2) the reward's x, y
    heading_deg: torch.Tensor
    along: torch.Tensor  # projection_distance, m from this direction's start
    ndist: torch.Tensor  # along / track length
    distance_from_center: torch.Tensor
    is_left_of_center: torch.Tensor  # bool
    track_width: torch.Tensor
    prev_wp: torch.Tensor  # closest_waypoints (long)
    next_wp: torch.Tensor
    closest_waypoint: torch.Tensor  # simtrace's closest_waypoint: the nearer of prev/next
    wheels_on: torch.Tensor  # (N, 4) bool, or None when no wheel points were given


def measure(track: Track, lines: TrackLines, front: torch.Tensor, yaw: torch.Tensor,
            wheels: torch.Tensor | None, exact: bool = False) -> Measure:
    """simapp's geometry for cars whose front points are `front` (N, 2), facing `yaw` (rad),
    on `lines`. `wheels` (N, 4, 2) are the wheel points for all_wheels_on_track.

    Unless `exact` (a trace: every projection over every segment, as simapp does), many cars'
    front points are projected through the centre line's SegmentGrid (same result, less work)
    and the border points nearest a centre-line point come from a 1 mm table.
    """
    centre = lines.centre
    # shapely: project, then interpolate back; the projection's nearest point is that point
    along, near_c = centre.project(front) if exact else centre.project_fast(front)
    ndist = along / centre.length
    near_in, near_out = lines.nearest_on_borders(near_c) if exact else lines.borders_at(along)
    prev_wp, next_wp = lines.prev_next(ndist)
    d_in, d_out, d_c, d_prev, d_next = _distances(front, torch.stack([
        near_in, near_out, near_c, centre.points.index_select(0, prev_wp),
        centre.points.index_select(0, next_wp)]))
    # (d_in < d_out) XOR (not is_ccw), without a bool-to-tensor conversion
    left = d_in < d_out if lines.is_ccw else d_in >= d_out
    return Measure(
        front=front,
        heading_deg=yaw * (180.0 / math.pi),
        along=along,
        ndist=ndist,
        distance_from_center=d_c,
        is_left_of_center=left,
        track_width=_distances(near_in, near_out.unsqueeze(0))[0],
        prev_wp=prev_wp,
        next_wp=next_wp,
        closest_waypoint=torch.where(d_next < d_prev, next_wp, prev_wp),
        wheels_on=None if wheels is None else track.on_road(wheels),
    )


def _distances(p: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """Distances (K, M) from points p (M, 2) to each of K point sets (K, M, 2)."""
    d = others - p
    return torch.hypot(d[..., 0], d[..., 1])


def progress(ndist: torch.Tensor, start_ndist: torch.Tensor,
             prev_progress: torch.Tensor) -> torch.Tensor:
    """Percent of the lap since the episode's start line (simapp's compute_current_prog).

    simapp adds 100 to a progress <= 0, then moves it by 100 towards the previous step's
    progress when they are more than 50 apart: a car just behind its start line reads slightly
    negative, one that crosses the finish line keeps counting up to 100 (the cap). Between
    steps a car moves far less than half a lap, so that is the previous progress plus the
    change wrapped into [-50, 50): one remainder, whatever the start line.
    """
    change = (ndist - start_ndist).mul_(100.0).sub_(prev_progress).add_(50.0).remainder_(100.0)
    return change.add_(prev_progress).sub_(50.0).clamp_(max=100.0)


class ParamsBuilder:
    """Builds one params dict per car from batched tensors."""

    def __init__(self, track: Track):
        self.track_length = float(track.length)
        self._waypoints = {False: list(track.forward.waypoints)}
        self._track = track

    def _waypoint_list(self, reverse: bool) -> list:
        if reverse not in self._waypoints:
            self._waypoints[reverse] = list(self._track.lines(reverse).waypoints)
        return self._waypoints[reverse]

    def build(self, m: Measure, progress: torch.Tensor, steer: torch.Tensor, speed: torch.Tensor,
              steps: torch.Tensor, sim_time: torch.Tensor, reverse: torch.Tensor,
              crashed: torch.Tensor, objects: list[dict] | None = None) -> list[dict]:
        """The params dicts of all cars (fresh lists inside: safe to hand to user code)."""
        # leave torch in as few conversions as possible: floats, ints, bools
        xs, ys, heading, dist_c, prog, width, along, steer_l, speed_l, time_l = torch.stack([
            m.front[:, 0], m.front[:, 1], m.heading_deg, m.distance_from_center, progress,
            m.track_width, m.along, steer, speed, sim_time.to(progress.dtype)]).double().tolist()
        prev_wp, next_wp, steps_l = torch.stack([m.prev_wp, m.next_wp, steps]).tolist()
        all_on, left, offtrack, crashed_l, rev = torch.stack([
            m.wheels_on.all(-1), m.is_left_of_center, ~m.wheels_on.any(-1), crashed, reverse,
        ]).tolist()
        length = self.track_length
        waypoints = {r: self._waypoint_list(r) for r in set(rev)}
        out = []
        for i in range(len(xs)):
            p = {
                "all_wheels_on_track": all_on[i],
                "x": xs[i],
                "y": ys[i],
                "heading": heading[i],
                "distance_from_center": dist_c[i],
                "is_left_of_center": left[i],
                "is_reversed": rev[i],
                "is_offtrack": offtrack[i],
                "is_crashed": crashed_l[i],
                "progress": prog[i],
                "speed": speed_l[i],
                "steering_angle": steer_l[i],
                "steps": steps_l[i],
                "track_length": length,
                "track_width": width[i],
                "waypoints": list(waypoints[rev[i]]),
                "closest_waypoints": [prev_wp[i], next_wp[i]],
                "projection_distance": along[i],
                "sim_time": time_l[i],
                "closest_objects": [0, 0],
                "objects_location": [],
                "objects_left_of_center": [],
                "objects_heading": [],
                "objects_speed": [],
                "objects_distance": [],
                "objects_distance_from_center": [],
                "object_in_camera": False,
            }
            if objects is not None:
                p.update(objects[i])  # Objects.reward_keys builds fresh lists for every car
            out.append(p)
        return out
