"""Obstacles (OBJECT_AVOIDANCE) and bot cars (HEAD_TO_BOT), as deepracer-simapp places and
moves them (agent_ctrl/obstacles_agent_ctrl.py, bot_cars_agent_ctrl.py), and the object keys
of the reward params (TrackData.get_object_reward_params).

Every car in a batch drives its own copy of the world, so object state is (N cars, M objects).
Objects sit on the lanes midway between the centre line and a border; a lane point is found at
the same segment and fraction as the centre-line point it stands for, which is what simapp's
lane splines and projections amount to. Placement rules (simapp's, including its quirks):

- obstacles at fixed `object_positions` (lap fraction, lane: -1 outer lane, else inner), or
  `count` of them spread from min_distance % of the lap to 1 m before its end, in alternating
  lanes starting inside, or (randomize) jittered between their neighbours in random lanes;
- bot cars spread from min_distance m to 1 m before the end, alternating lanes, driving at
  bot_car_speed from the episode start; with lane changes every lower..upper seconds they
  move to the other lane over lane_change_distance metres.

Footprints for collisions are simapp's ObstacleDimensions (obstacles include a 0.1 m buffer per
side); bodies for the camera and the lidar are the models' physical sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from drtui.sim.car import FRONT_OFFSET_M, body_points, footprint_corners
from drtui.sim.track import Polyline, Track, TrackLines

# ObstacleDimensions (width across, length along) as simapp's get_object_bounding_rect uses them.
BOX_FOOTPRINT_M = (0.4, 0.5)
BOT_FOOTPRINT_M = (0.1961, 0.32352)
# Physical bodies (length along, width across, height), from the models' SDF; the bot car's
# height is the DeepRacer shell's, so the lidar (0.18 m up) sees it.
BOX_BODY_M = (0.4, 0.3, 0.25)
BOT_BODY_M = (0.32, 0.2, 0.2)
BOX_Z_M, BOT_Z_M = 0.1, 0.0  # object position heights (OBSTACLE_Z, BOT_CAR_Z)
CLOSEST_OBJ_GAP_M = 1.0  # a training start this close to an object moves to the other lane
# Camera frustum for object_in_camera (markov/cameras/frustum.py)
FRUSTUM_NEAR_M, FRUSTUM_FAR_M = 0.2, 300.0
CAMERA_HFOV_RAD = 1.13
CAMERA_VIEW_RATIO = 480.0 / 640.0
CAMERA_OFFSET_M = (0.14529379, 0.0, 0.13032555)
CAMERA_PITCH_RAD = 0.2618


@dataclass
class ObjectsConfig:
    """What the race puts on the track; kind "none", "boxes" (static) or "bots" (moving)."""

    kind: str = "none"
    count: int = 0
    positions: tuple[tuple[float, int], ...] = ()  # (lap fraction, lane) for fixed obstacles
    min_distance: float = 2.0  # obstacles: percent of the lap (simapp's unit); bots: metres
    randomize: bool = False
    bot_body: bool = False  # obstacles that are parked bot cars (IS_OBSTACLE_BOT_CAR)
    bot_speed: float = 0.2
    lane_change: bool = False
    lane_change_times: tuple[float, float] = (3.0, 5.0)
    lane_change_distance: float = 1.0

    @property
    def moving(self) -> bool:
        return self.kind == "bots"

    @property
    def footprint(self) -> tuple[float, float]:
        return BOT_FOOTPRINT_M if (self.moving or self.bot_body) else BOX_FOOTPRINT_M

    @property
    def body(self) -> tuple[float, float, float]:
        return BOT_BODY_M if (self.moving or self.bot_body) else BOX_BODY_M

    @classmethod
    def from_race(cls, race) -> ObjectsConfig:
        """From a session's `race` section (drtui.session.model.Race)."""
        if race.type == "OBJECT_AVOIDANCE":
            oa = race.object_avoidance
            positions = tuple((p.progress, p.lane) for p in oa.object_positions)
            return cls("boxes", len(positions) or oa.number_of_obstacles, positions,
                       oa.min_distance_between_obstacles, oa.randomize_obstacle_locations,
                       oa.is_obstacle_bot_car)
        if race.type == "HEAD_TO_BOT":
            h = race.head_to_bot
            return cls("bots", h.number_of_bot_cars, (), h.min_distance_between_bot_cars,
                       h.randomize_bot_car_locations, False, h.bot_car_speed, h.is_lane_change,
                       (h.lower_lane_change_time, h.upper_lane_change_time),
                       h.lane_change_distance)
        return cls()


def lane_point(lines: TrackLines, lane: Polyline, centre_dist: torch.Tensor) -> torch.Tensor:
    """The point of `lane` that stands for the centre-line point at arc length centre_dist."""
    c = lines.centre
    s = torch.remainder(centre_dist, c.length)
    seg = (torch.searchsorted(c.cum, s.contiguous(), right=True) - 1).clamp_(0, len(c.start) - 1)
    frac = ((s - c.cum[seg]) / c.seg_len[seg].clamp(min=1e-12)).clamp_(0.0, 1.0)
    return lane.start[seg] + frac.unsqueeze(-1) * lane.vec[seg]


class Objects:
    """The objects of N cars' worlds: positions (N, M), yaw, and their lanes."""

    def __init__(self, cfg: ObjectsConfig, track: Track, n: int, generator: torch.Generator):
        self.cfg, self.track, self.n, self.gen = cfg, track, n, generator
        self.m = cfg.count if cfg.kind != "none" else 0
        dt = track.dtype
        shape = (n, self.m)
        self.base_dist = torch.zeros(shape, dtype=dt)  # centre-line arc length at episode start
        self.inner = torch.ones(shape, dtype=torch.bool)  # the lane an object drives in
        self.change_at = torch.full(shape, math.inf, dtype=dt)  # episode time of next lane change
        self.x = torch.zeros(shape, dtype=dt)
        self.y = torch.zeros(shape, dtype=dt)
        self.yaw = torch.zeros(shape, dtype=dt)
        self.reverse = torch.zeros(n, dtype=torch.bool)
        self.pd = torch.zeros(shape, dtype=dt)  # projection on the centre line (objects_distance)
        self.cdist = torch.zeros(shape, dtype=dt)  # objects_distance_from_center
        self.left = torch.zeros(shape, dtype=torch.bool)  # objects_left_of_center
        self.progress = torch.zeros(shape, dtype=dt)  # bots: progress from the track's start
        fw, fl = cfg.footprint
        self._corners = footprint_corners(dt, fw, fl)
        self._templates: dict[bool, dict[str, torch.Tensor]] = {}

    # -- placement -------------------------------------------------------------------------

    def _uniform(self, shape, lo=0.0, hi=1.0) -> torch.Tensor:
        u = torch.rand(shape, generator=self.gen, dtype=torch.float64).to(self.track.dtype)
        return lo + (hi - lo) * u

    def _spread(self, k: int, start: float, end: float) -> torch.Tensor:
        """simapp's linspace placement, optionally jittered between neighbours (per car)."""
        dists = torch.linspace(start, end, self.m, dtype=self.track.dtype).expand(k, -1).clone()
        if not self.cfg.randomize:
            return dists
        gap = self._gap()
        for row in range(k):  # sequential by construction: each draw depends on its neighbours
            for i in torch.randperm(self.m, generator=self.gen).tolist():
                lo = start if i == 0 else float(dists[row, i - 1]) + gap
                hi = end if i == self.m - 1 else float(dists[row, i + 1]) - gap
                if lo < hi:
                    dists[row, i] = lo + (hi - lo) * float(self._uniform(()))
        return dists

    def _gap(self) -> float:
        c = self.cfg
        return c.min_distance / 100.0 * self.track.length if c.kind == "boxes" else c.min_distance

    STATE = ("base_dist", "inner", "x", "y", "yaw", "pd", "cdist", "left", "progress")

    def reset(self, mask: torch.Tensor, reverse: torch.Tensor) -> None:
        """New episode for the masked cars: objects back to their (re)drawn start places."""
        if self.m == 0 or not bool(mask.any()):
            return
        self.reverse = torch.where(mask, reverse, self.reverse)
        self.change_at[mask] = self._next_change_time((int(mask.sum()), self.m), 0.0)
        if self.cfg.randomize:
            self._place(mask)
            return
        # fixed placement: every episode starts the same on a direction; copy it
        for direction in (False, True):
            sel = (mask & (self.reverse == direction)).unsqueeze(1)
            if bool(sel.any()):
                for name, row in self._template(direction).items():
                    setattr(self, name, torch.where(sel, row, getattr(self, name)))

    def _template(self, direction: bool) -> dict[str, torch.Tensor]:
        """The start state of a world driven in `direction` (fixed placement), computed once."""
        if direction not in self._templates:
            one = Objects(self.cfg, self.track, 1, self.gen)
            one.reverse[:] = direction
            one._place(torch.ones(1, dtype=torch.bool))
            self._templates[direction] = {name: getattr(one, name)[0] for name in self.STATE}
        return self._templates[direction]

    def _place(self, mask: torch.Tensor) -> None:
        """Draw the masked cars' objects' start places (simapp's placement rules)."""
        k = int(mask.sum())
        c, length = self.cfg, self.track.length
        if c.positions:
            dist = torch.tensor([p for p, _ in c.positions], dtype=self.track.dtype) * length
            dist = dist.expand(k, -1).clone()
            inner = torch.tensor([lane != -1 for _, lane in c.positions]).expand(k, -1).clone()
        else:
            dist = self._spread(k, self._gap(), length - 1.0)
            if c.randomize:
                inner = torch.rand((k, self.m), generator=self.gen) < 0.5
            else:
                inner = (torch.arange(self.m) % 2 == 0).expand(k, -1).clone()
        self.base_dist[mask] = dist
        self.inner[mask] = inner
        self.update(torch.zeros(self.n, dtype=self.track.dtype), mask)

    def _next_change_time(self, shape, now) -> torch.Tensor:
        if not (self.cfg.moving and self.cfg.lane_change):
            return torch.full(shape, math.inf, dtype=self.track.dtype)
        lo, hi = self.cfg.lane_change_times
        return now + self._uniform(shape, lo, hi)

    # -- motion ----------------------------------------------------------------------------

    def centre_dist(self, t: torch.Tensor) -> torch.Tensor:
        """Centre-line arc length of each object at episode time t (N,)."""
        if not self.cfg.moving:
            return self.base_dist
        travelled = self.cfg.bot_speed * t.unsqueeze(-1)
        return (self.base_dist + travelled).remainder(self.track.length)

    def update(self, t: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Poses at episode time t (N,), for all cars or the masked ones."""
        if self.m == 0:
            return
        if mask is None:
            mask = torch.ones(self.n, dtype=torch.bool)
        self._finish_lane_changes(t)
        d = self.centre_dist(t)
        blend = self._lane_blend(t)
        ahead_d = d + 0.05  # yaw: direction of travel over the next 5 cm
        ahead_blend = self._lane_blend(t + 0.05 / max(self.cfg.bot_speed, 1e-6))
        for reverse in (False, True):
            sel = mask & (self.reverse == reverse)
            if not bool(sel.any()):
                continue
            lines = self.track.lines(reverse)
            p = self._point(lines, d[sel], self.inner[sel], blend[sel])
            ahead = self._point(lines, ahead_d[sel], self.inner[sel], ahead_blend[sel])
            self.x[sel], self.y[sel] = p[..., 0], p[..., 1]
            self.yaw[sel] = torch.atan2(ahead[..., 1] - p[..., 1], ahead[..., 0] - p[..., 0])
            self._measure(lines, sel)

    def _measure(self, lines: TrackLines, sel: torch.Tensor) -> None:
        """What simapp measures of the objects of the selected cars' worlds, on `lines`: the
        projection on the centre line, the distance to it, the side, and (bots) progress."""
        p = torch.stack([self.x[sel], self.y[sel]], -1)
        along, near = lines.centre.project(p)
        self.pd[sel] = along
        self.cdist[sel] = (p - near).norm(dim=-1)
        inner = self.track.in_inner_half(p)
        self.left[sel] = inner if lines.is_ccw else ~inner
        if self.cfg.moving:  # a bot's progress is measured at its front point
            yaw = self.yaw[sel]
            front = p + FRONT_OFFSET_M * torch.stack([torch.cos(yaw), torch.sin(yaw)], -1)
            self.progress[sel] = lines.centre.project(front)[0] * (100.0 / self.track.length)

    def _duration(self) -> float:
        return self.cfg.lane_change_distance / max(self.cfg.bot_speed, 1e-6)

    def _lane_blend(self, t: torch.Tensor) -> torch.Tensor:
        """(N, M): 0 in the object's lane, rising smoothly to 1 in the other lane while it
        changes lanes."""
        u = ((t.unsqueeze(-1) - self.change_at) / self._duration()).clamp(0.0, 1.0)
        return u * u * (3 - 2 * u)

    def _finish_lane_changes(self, t: torch.Tensor) -> None:
        """A finished change puts the object in its new lane and draws the next change time
        (simapp: uniform(lower, upper) seconds after the change ends)."""
        done = t.unsqueeze(-1) >= self.change_at + self._duration()
        if bool(done.any()):
            self.inner = self.inner ^ done
            later = self._next_change_time(done.shape, 0.0) + t.unsqueeze(-1)
            self.change_at = torch.where(done, later, self.change_at)

    def _point(self, lines, d, inner, blend) -> torch.Tensor:
        p_in = lane_point(lines, lines.inner_lane, d)
        p_out = lane_point(lines, lines.outer_lane, d)
        own = torch.where(inner.unsqueeze(-1), p_in, p_out)
        other = torch.where(inner.unsqueeze(-1), p_out, p_in)
        return own + blend.unsqueeze(-1) * (other - own)

    # -- what the car sees and hits --------------------------------------------------------

    def corners(self) -> torch.Tensor:
        """Footprint corners of every object, (N, M, 4, 2)."""
        return body_points(self.x.reshape(-1), self.y.reshape(-1), self.yaw.reshape(-1),
                           self._corners).reshape(self.n, self.m, 4, 2)

    def hit_by(self, car_corners: torch.Tensor) -> torch.Tensor:
        """(N, M) bool: a corner of the car's footprint (N, 4, 2) lies inside the object's
        footprint (simapp's get_collided_object_name test)."""
        rel = car_corners.unsqueeze(1) - torch.stack([self.x, self.y], -1).unsqueeze(2)
        c, s = torch.cos(self.yaw).unsqueeze(-1), torch.sin(self.yaw).unsqueeze(-1)
        along = rel[..., 0] * c + rel[..., 1] * s
        across = -rel[..., 0] * s + rel[..., 1] * c
        hw, hl = self.cfg.footprint[0] / 2, self.cfg.footprint[1] / 2
        return ((along.abs() < hl) & (across.abs() < hw)).any(-1)

    def in_camera(self, x: torch.Tensor, y: torch.Tensor, yaw: torch.Tensor,
                  index: torch.Tensor) -> torch.Tensor:
        """(N,) bool: object `index` (N,) of each car is in its camera frustum: its position or
        a footprint corner, at the object's height (TrackData.get_objects_in_camera_frustums)."""
        rows = torch.arange(self.n)
        pts = torch.cat([self.corners()[rows, index], torch.stack(
            [self.x[rows, index], self.y[rows, index]], -1).unsqueeze(1)], 1)  # (N, 5, 2)
        z = BOT_Z_M if (self.cfg.moving or self.cfg.bot_body) else BOX_Z_M
        cx, cy, cz = CAMERA_OFFSET_M
        c, s = torch.cos(yaw).unsqueeze(-1), torch.sin(yaw).unsqueeze(-1)
        rel_x = pts[..., 0] - (x.unsqueeze(-1) + c * cx - s * cy)
        rel_y = pts[..., 1] - (y.unsqueeze(-1) + s * cx + c * cy)
        fwd, left = rel_x * c + rel_y * s, -rel_x * s + rel_y * c
        up = torch.full_like(fwd, z - cz)
        cp, sp = math.cos(CAMERA_PITCH_RAD), math.sin(CAMERA_PITCH_RAD)
        depth = fwd * cp - up * sp  # camera pitched down: rotate into its frame
        vert = fwd * sp + up * cp
        half_w = depth * math.tan(CAMERA_HFOV_RAD / 2)
        visible = (depth >= FRUSTUM_NEAR_M) & (depth <= FRUSTUM_FAR_M) \
            & (left.abs() <= half_w) & (vert.abs() <= half_w * CAMERA_VIEW_RATIO)
        return visible.any(-1)

    def reward_keys(self, along: torch.Tensor, car_x, car_y, car_yaw) -> list[dict]:
        """The object keys of every car's params (TrackData.get_object_reward_params); `along`
        is each car's projection on its centre line."""
        n, m = self.n, self.m
        order = self.pd.argsort(dim=1, stable=True)
        ordered = self.pd.gather(1, order)
        nxt = torch.searchsorted(ordered, along.unsqueeze(1).contiguous(), right=True)
        prev = (nxt - 1).remainder_(m)  # find_prev_next: wraps at both ends
        nxt = nxt.remainder(m)
        prev_i, next_i = order.gather(1, prev).squeeze(1), order.gather(1, nxt).squeeze(1)
        in_cam = self.in_camera(car_x, car_y, car_yaw, next_i).tolist()
        speed = self.cfg.bot_speed if self.cfg.moving else 0.0
        heading = self.yaw.double().tolist() if self.cfg.moving else None
        loc = torch.stack([self.x, self.y], -1).double().tolist()
        pd_l, cd_l = self.pd.double().tolist(), self.cdist.double().tolist()
        left_l, prev_l, next_l = self.left.tolist(), prev_i.tolist(), next_i.tolist()
        # every list fresh per car (tolist() makes new ones): safe to hand to user code
        return [{
            "closest_objects": [prev_l[i], next_l[i]],
            "objects_location": loc[i],
            "objects_left_of_center": left_l[i],
            "objects_heading": heading[i] if heading else [0.0] * m,
            "objects_speed": [speed] * m,
            "objects_distance": pd_l[i],
            "objects_distance_from_center": cd_l[i],
            "object_in_camera": in_cam[i],
        } for i in range(n)]

    def bodies(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[float, float, float]]:
        """x, y, yaw (N, M) and the (length, width, height) of the objects' bodies."""
        return self.x, self.y, self.yaw, self.cfg.body
