# Over 450 lines: one simulator step in simapp's order (params, reset rules, reward, physics,
# restart, observe), read top to bottom.
"""The batched simulator: N cars, each in its own copy of a DeepRacer world, stepping together.

One `step(actions)` is one DeepRacer step (1/15 s) for every car, in simapp's order:

1. the reward params are measured at the car's current pose with the action just chosen
   (simapp reads the pose while physics is paused, before the action takes effect);
2. the reset rules run, the user's reward_function is called with a fresh params dict per car
   (not on the prepare step, whose reward is 0), and the step is recorded;
3. physics advances every car 1/15 s under its action (held still on the prepare step);
4. cars whose episode ended start their next one (the start line advances round-robin), and the
   observations of the new poses are rendered.

So a done at step t concerns the pose the policy saw at step t-1, as in DeepRacer; the
observation returned with done is the first one of the car's next episode.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from drtui.catalog import tracks
from drtui.errors import DrtuiError
from drtui.sim import episode as ep
from drtui.sim.car import (
    FRONT_OFFSET_M,
    STEP_S,
    CarState,
    body_points,
    clip_action,
    drive,
    footprint_corners,
    wheel_offsets,
)
from drtui.sim.objects import CLOSEST_OBJ_GAP_M, Objects, ObjectsConfig
from drtui.sim.params import Measure, ParamsBuilder, measure, progress
from drtui.sim.track import Track, load_track

CAMERAS = {"FRONT_FACING_CAMERA": (0.0,), "LEFT_CAMERA": (0.03,), "STEREO_CAMERAS": (0.03, -0.03)}
LIDARS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
REWARD_LIMIT = 1e5


class RewardFunctionError(DrtuiError):
    """The user's reward_function raised or returned an invalid reward; the run stops."""

    def __init__(self, problem: str, *, step: int, episode: int, car: int, params: dict,
                 line: int | None = None):
        self.problem, self.step, self.episode, self.car = problem, step, episode, car
        self.params, self.line = params, line
        shown = {k: (f"<{len(v)} waypoints>" if k == "waypoints" else v) for k, v in params.items()}
        where = f" (reward_function.py line {line})" if line else ""
        super().__init__(f"reward_function failed at step {step} of episode {episode} "
                         f"(car {car}){where}: {problem}\nparams: {shown}")


@dataclass
class SimConfig:
    """Everything the simulator needs; `from_session` reads it from a drtui Session."""

    world: str = "reInvent2019_track"
    num_cars: int = 1
    reverse: bool = False
    sensors: tuple[str, ...] = ("FRONT_FACING_CAMERA",)
    lidar_config: tuple[int, int, float] = (8, 8, 2.0)  # DISCRETIZED_SECTOR_LIDAR settings
    # discrete: a list of (steering deg, speed m/s); continuous: None and the two ranges
    actions: tuple[tuple[float, float], ...] | None = ((-30.0, 1.0), (0.0, 1.0), (30.0, 1.0))
    steering_range: tuple[float, float] = (-30.0, 30.0)
    speed_range: tuple[float, float] = (0.5, 1.0)
    start: ep.StartRule = field(default_factory=ep.StartRule)
    objects: ObjectsConfig = field(default_factory=ObjectsConfig)
    max_steps: int = ep.MAX_STEPS
    camera_size: tuple[int, int] = (160, 120)  # a smaller size renders faster, for CPU training
    camera_filter: str = "bilinear"  # or "nearest": about twice as fast, blockier up close
    lidar_walls: bool = False
    lidar_noise: float = 0.01
    seed: int | None = None
    record_paths: bool = False  # keep each episode's front points (episode pictures)
    # domain randomisation (drtui.sim.randomize); from_session leaves it off: the trainer
    # turns it on for its training cars only, evaluation stays clean
    randomization: object | None = None

    @classmethod
    def from_session(cls, session, num_cars: int = 1, **overrides) -> SimConfig:
        """The simulator settings of a drtui.session.model.Session."""
        space = session.action_space
        t, car = session.training, session.car
        lc = car.lidar_config
        discrete = space.type == "discrete"
        values = {
            # a session's own route file (resolved by the run folder that holds it) or its world
            "world": tracks.route_source(session.track), "num_cars": num_cars,
            "reverse": session.track.reverse,
            "sensors": tuple(car.sensors),
            "lidar_config": ((lc.num_sectors, lc.num_values_per_sector, lc.clipping_dist)
                             if lc else (8, 8, 2.0)),
            "actions": (tuple((a.steering_angle, a.speed) for a in space.discrete_actions())
                        if discrete else None),
            "steering_range": ((-30.0, 30.0) if discrete
                               else (space.steering_angle.low, space.steering_angle.high)),
            "speed_range": space.speed_bounds(),
            "start": ep.StartRule(t.change_start_position, t.round_robin_advance_dist,
                                  t.start_position_offset, t.alternate_direction),
            "objects": ObjectsConfig.from_race(session.race),
            "seed": t.seed,
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class StepRecord:
    """One step of every car, as the simtrace records it (tensors/lists of length N)."""

    episode: torch.Tensor
    steps: torch.Tensor
    x: torch.Tensor  # front point
    y: torch.Tensor
    yaw_deg: torch.Tensor
    steer: torch.Tensor
    throttle: torch.Tensor
    action: list  # discrete index, or "[steer speed]"
    reward: torch.Tensor
    done: torch.Tensor
    all_wheels_on_track: torch.Tensor
    progress: torch.Tensor
    closest_waypoint: torch.Tensor
    tstamp: torch.Tensor
    status: torch.Tensor  # episode status codes (drtui.sim.episode)
    track_length: float
    wall_clock: float


@dataclass
class EpisodeEnd:
    car: int
    episode: int
    steps: int
    progress: float
    reward: float
    status: str
    start_time: float  # sim seconds
    end_time: float
    reversed: bool
    path: list[tuple[float, float]] | None = None  # front points, with record_paths


def _load_reward(reward_function) -> Callable[[dict], float] | None:
    if reward_function is None or callable(reward_function):
        return reward_function
    from drtui.reward.check import load_reward_function

    return load_reward_function(reward_function if isinstance(reward_function, os.PathLike)
                                else str(reward_function))


class DeepRacerSim:
    """N cars on one track. `reset()` then `step(actions)` repeatedly; see the module doc."""

    def __init__(self, config: SimConfig,
                 reward_function: Callable | str | os.PathLike | None = None):
        self.cfg = config
        n = self.n = config.num_cars
        self.track: Track = load_track(config.world, torch.float32)
        self.dtype = self.track.dtype
        self.gen = torch.Generator().manual_seed(config.seed if config.seed is not None else 0)
        self.reward_function = _load_reward(reward_function)
        self.builder = ParamsBuilder(self.track)
        self.car = CarState.zeros(n, self.dtype)
        self.rules = ep.ResetRules.zeros(n, self.dtype)
        self.objects = Objects(config.objects, self.track, n, self.gen)
        self._body = torch.cat([torch.tensor([[FRONT_OFFSET_M, 0.0]], dtype=self.dtype),
                                wheel_offsets(self.dtype)])
        self._corners = footprint_corners(self.dtype)
        self.steps = torch.zeros(n, dtype=torch.long)
        self.episode = torch.zeros(n, dtype=torch.long)
        self.start_ndist = config.start.first_starts(n, self.dtype)
        self.reverse = torch.full((n,), bool(config.reverse))
        self.prev_progress = torch.zeros(n, dtype=self.dtype)
        self.sim_time = torch.zeros(n, dtype=torch.float64)
        self.episode_start = torch.zeros(n, dtype=torch.float64)
        self.episode_reward = torch.zeros(n, dtype=torch.float64)
        self._paths: list[list[tuple[float, float]]] = [[] for _ in range(n)]
        self._pose_cache: dict[tuple[float, bool], list[float]] = {}
        self.last: StepRecord | None = None
        if config.actions is not None:
            self.action_table = torch.tensor(config.actions, dtype=self.dtype)
        self._sensors = self._make_sensors()
        self.randomizer = None
        if config.randomization is not None:
            from drtui.sim.randomize import Randomizer

            self.randomizer = Randomizer(config.randomization, n, self.gen)

    # -- sensors ---------------------------------------------------------------------------

    def _make_sensors(self) -> dict[str, object]:
        from drtui.sim.sensors.camera import Camera
        from drtui.sim.sensors.lidar import Lidar

        sensors: dict[str, object] = {}
        unknown = [s for s in self.cfg.sensors if s not in CAMERAS and s not in LIDARS]
        if unknown:
            raise ValueError(f"unknown sensor(s) {', '.join(unknown)}; known: "
                             f"{', '.join([*CAMERAS, *LIDARS])}")
        for name in self.cfg.sensors:
            if name in CAMERAS:
                sensors[name] = Camera(self.track, self.cfg.camera_size, CAMERAS[name],
                                       filter=self.cfg.camera_filter)
        if any(s in LIDARS for s in self.cfg.sensors):
            self._lidar = Lidar(self.track, self.cfg.lidar_walls, self.cfg.lidar_noise, self.gen)
        return sensors

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        w, h = self.cfg.camera_size
        shapes = {}
        for name in self.cfg.sensors:
            if name in CAMERAS:
                shapes[name] = (len(CAMERAS[name]), h, w)
            elif name == "LIDAR":
                shapes[name] = (64,)
            elif name == "SECTOR_LIDAR":
                shapes[name] = (8,)
            else:
                shapes[name] = (self.cfg.lidar_config[0] * self.cfg.lidar_config[1],)
        return shapes

    def observe(self) -> dict[str, torch.Tensor]:
        """Observations of every car at its current pose."""
        from drtui.sim.sensors import lidar as L

        c, objs, rnd = self.car, self.objects, self.randomizer
        if rnd is None:
            obs = {name: cam.render(c.x, c.y, c.yaw, objs) for name, cam in self._sensors.items()}
        else:
            pose = rnd.camera_pose(c.x, c.y, c.yaw)
            obs = {name: rnd.image(cam.render(*pose, objs))
                   for name, cam in self._sensors.items()}
        lidars = [s for s in self.cfg.sensors if s in LIDARS]
        if lidars:
            ranges = self._lidar.ranges(c.x, c.y, c.yaw, objs)
            for name in lidars:
                if name == "LIDAR":
                    obs[name] = L.lidar_observation(ranges)
                elif name == "SECTOR_LIDAR":
                    obs[name] = L.sector_observation(ranges)
                else:
                    s, v, d = self.cfg.lidar_config
                    obs[name] = L.sector_observation(ranges, s, v, d)
        return obs

    # -- episodes --------------------------------------------------------------------------

    def reset(self) -> dict[str, torch.Tensor]:
        """Start every car's first episode; returns the observations."""
        self.episode = torch.zeros_like(self.episode)
        self._start_episodes(torch.ones(self.n, dtype=torch.bool))
        return self.observe()

    def _start_episodes(self, mask: torch.Tensor) -> None:
        """Put the masked cars at their start lines, at rest, with fresh episode counters."""
        idx = mask.nonzero().flatten()
        self.objects.reset(mask, self.reverse)
        self.car.place(idx, self._start_poses(idx))
        self.rules.restart(mask)
        self.steps = self.steps.masked_fill(mask, 0)
        self.prev_progress = self.prev_progress.masked_fill(mask, 0.0)
        self.episode_start = torch.where(mask, self.sim_time, self.episode_start)
        self.episode_reward = self.episode_reward.masked_fill(mask, 0.0)
        for i in idx.tolist():
            self._paths[i] = []
        if self.randomizer is not None:
            self.randomizer.new_episodes(mask)

    def _start_poses(self, idx: torch.Tensor) -> torch.Tensor:
        """(k, 3) start poses x, y, yaw of cars idx. Without random object placement a start
        pose depends only on the start line and direction, so poses are cached."""
        # start lines advance by float additions: key them to a millionth of a lap
        keys = [(round(s, 6), r) for s, r in zip(self.start_ndist[idx].tolist(),
                                                 self.reverse[idx].tolist())]
        if self.cfg.objects.randomize:
            return self._compute_start_poses(idx)
        missing = [i for i, key in zip(idx.tolist(), keys) if key not in self._pose_cache]
        if missing:
            fresh = self._compute_start_poses(torch.tensor(missing)).tolist()
            for i, pose in zip(missing, fresh, strict=True):
                key = (round(float(self.start_ndist[i]), 6), bool(self.reverse[i]))
                self._pose_cache[key] = pose
        return torch.tensor([self._pose_cache[key] for key in keys], dtype=self.dtype)

    def _compute_start_poses(self, idx: torch.Tensor) -> torch.Tensor:
        """simapp's _get_car_start_model_state (training): the centre line at the start line,
        facing its next waypoint; the lane away from an object within 1 m of the start line."""
        out = torch.zeros((len(idx), 3), dtype=self.dtype)
        length = self.track.length
        start_dist = self.start_ndist[idx] * length
        reverse = self.reverse[idx]
        for direction in (False, True):
            sel = reverse == direction
            if not bool(sel.any()):
                continue
            lines = self.track.lines(direction)
            pos, heading = lines.pose_at(lines.centre, start_dist[sel])
            if self.objects.m:
                cars = idx[sel]
                gap = (self.objects.base_dist[cars] - start_dist[sel, None]).abs().remainder(length)
                blocked = (gap < CLOSEST_OBJ_GAP_M).any(1)
                if bool(blocked.any()):
                    closest = gap.argmin(1, keepdim=True)
                    obj_inner = self.objects.inner[cars].gather(1, closest).squeeze(1)
                    for lane, use in ((lines.outer_lane, blocked & obj_inner),
                                      (lines.inner_lane, blocked & ~obj_inner)):
                        if bool(use.any()):
                            along, _ = lane.project(pos[use])
                            pos[use], heading[use] = lines.pose_at(lane, along)
            out[sel] = torch.stack([pos[:, 0], pos[:, 1], heading], -1)
        return out

    def place(self, poses, cars=None) -> dict[str, torch.Tensor]:
        """Move cars (all, or the indices `cars`) to poses (k, 3) of origin x, y and yaw (rad),
        at rest, within their current episodes; returns the observations. For tests and
        "what does the car see here" tools."""
        idx = torch.arange(self.n) if cars is None else torch.as_tensor(cars).reshape(-1)
        self.car.place(idx, torch.as_tensor(poses, dtype=self.dtype).reshape(-1, 3))
        return self.observe()

    # -- stepping --------------------------------------------------------------------------

    def _commands(self, actions) -> tuple[torch.Tensor, torch.Tensor, list]:
        """Commanded steering (deg) and speed per car, and the simtrace's action field."""
        if self.cfg.actions is not None:
            idx = torch.as_tensor(actions, dtype=torch.long).reshape(self.n)
            row = self.action_table.index_select(0, idx)
            return row[:, 0], row[:, 1], idx.tolist()
        a = torch.as_tensor(actions, dtype=self.dtype).reshape(self.n, 2)
        steer = a[:, 0].clamp(*self.cfg.steering_range)
        speed = a[:, 1].clamp(*self.cfg.speed_range)
        labels = [f"[{s} {v}]" for s, v in zip(steer.double().tolist(), speed.double().tolist())]
        return steer, speed, labels

    def _measure(self, front: torch.Tensor, wheels: torch.Tensor) -> Measure:
        """simapp's geometry for every car, each on its own driving direction."""
        rev = self.reverse
        if not bool(rev.any()) or bool(rev.all()):
            return measure(self.track, self.track.lines(bool(rev[0])), front, self.car.yaw, wheels)
        parts = {r: measure(self.track, self.track.lines(r), front[rev == r],
                            self.car.yaw[rev == r], wheels[rev == r]) for r in (False, True)}
        merged = {}
        for key in Measure.__dataclass_fields__:
            a, b = getattr(parts[False], key), getattr(parts[True], key)
            out = torch.empty((self.n, *a.shape[1:]), dtype=a.dtype)
            out[~rev], out[rev] = a, b
            merged[key] = out
        return Measure(**merged)

    def step(self, actions) -> tuple[dict, torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        """Advance every car one step. Returns (observations, reward, terminated, truncated,
        info); info["episodes"] lists the EpisodeEnd of the cars whose episode ended."""
        c, n = self.car, self.n
        steer, speed, labels = self._commands(actions)
        self.steps = self.steps + 1  # state tensors are replaced, not changed: records keep them
        running = self.steps > 1
        points = body_points(c.x, c.y, c.yaw, self._body)  # front point, then the 4 wheels
        m = self._measure(points[:, 0], points[:, 1:])
        prog = progress(m.ndist, self.start_ndist, self.prev_progress)

        crashed = torch.zeros(n, dtype=torch.bool)
        object_keys = None
        if self.objects.m:
            objs = self.objects
            if objs.cfg.moving:  # bots drive from the episode's start (still on the prepare step)
                objs.update((self.steps - 1).to(self.dtype) * STEP_S)
            if self.reward_function is not None:
                object_keys = objs.reward_keys(m.along, c.x, c.y, c.yaw)
            hits = objs.hit_by(body_points(c.x, c.y, c.yaw, self._corners))
            if objs.cfg.moving:  # only a crash into a bot the car is behind counts
                own = torch.remainder(prog + self.start_ndist * 100.0, 100.0)
                hits &= own.unsqueeze(1) < objs.progress
            crashed = hits.any(1)

        status = self.rules.update(running=running, x=c.x, y=c.y, progress=prog,
                                   prev_progress=self.prev_progress, wheels_on=m.wheels_on,
                                   crashed=crashed, steps=self.steps, max_steps=self.cfg.max_steps)
        done = running & (status != ep.IN_PROGRESS)
        reward = self._rewards(m, prog, steer, speed, running, crashed, object_keys)
        self.episode_reward = self.episode_reward + reward
        self.prev_progress = torch.where(prog == 100.0, 0.0, prog)
        self.last = StepRecord(
            episode=self.episode, steps=self.steps, x=m.front[:, 0], y=m.front[:, 1],
            yaw_deg=m.heading_deg, steer=steer, throttle=speed, action=labels, reward=reward,
            done=done, all_wheels_on_track=m.wheels_on.all(-1), progress=prog,
            closest_waypoint=m.closest_waypoint, tstamp=self.sim_time, status=status,
            track_length=self.track.length, wall_clock=time.time())
        if self.cfg.record_paths:
            for i, (px, py) in enumerate(m.front.double().tolist()):
                self._paths[i].append((px, py))

        # physics: the action acts for one step; the prepare step holds the car
        if self.randomizer is not None:  # the car carries out a disturbed command
            steer_c, speed_c = clip_action(*self.randomizer.actuate(steer, speed))
        else:
            steer_c, speed_c = clip_action(steer, speed)
        drive(c, steer_c, speed_c, moving=running)
        self.sim_time = self.sim_time + STEP_S

        ends = self._finish(done, status, prog) if bool(done.any()) else []
        truncated = done & (status == ep.TIME_UP)
        return self.observe(), reward, done & ~truncated, truncated, {"episodes": ends}

    def _rewards(self, m, prog, steer, speed, running, crashed, object_keys) -> torch.Tensor:
        """Call the reward function for every running car; 0 on the prepare step."""
        if self.reward_function is None or not bool(running.any()):
            return torch.zeros(self.n, dtype=torch.float64)

        def build():
            return self.builder.build(m, prog, steer, speed, self.steps, self.sim_time,
                                      self.reverse, crashed, object_keys)

        fn, values = self.reward_function, []
        for i, (p, run) in enumerate(zip(build(), running.tolist())):
            if not run:
                values.append(0.0)
                continue
            try:
                values.append(_checked_reward(fn, p))
            except _BadReward as bad:
                # show the params as built: the function may have changed its copy
                raise RewardFunctionError(bad.problem, step=int(self.steps[i]),
                                          episode=int(self.episode[i]), car=i, params=build()[i],
                                          line=bad.line) from bad.__cause__
        return torch.tensor(values, dtype=torch.float64)

    def _finish(self, done: torch.Tensor, status: torch.Tensor,
                prog: torch.Tensor) -> list[EpisodeEnd]:
        """Close the ended episodes and start the cars' next ones."""
        idx = done.nonzero().flatten()
        values = torch.stack([self.episode.double(), self.steps.double(), prog.double(),
                              self.episode_reward, status.double(), self.episode_start,
                              self.sim_time, self.reverse.double()], 1)[idx].tolist()
        paths = self._paths if self.cfg.record_paths else [None] * self.n
        ends = [EpisodeEnd(car=i, episode=int(e), steps=int(k), progress=p, reward=r,
                           status=ep.STATUS_NAMES[int(s)], start_time=t0, end_time=t1 - STEP_S,
                           reversed=bool(rev), path=paths[i])
                for i, (e, k, p, r, s, t0, t1, rev) in zip(idx.tolist(), values, strict=True)]
        start = self.cfg.start
        self.start_ndist, self.reverse = start.advance(self.start_ndist, self.reverse, done)
        self.episode = self.episode + done
        self._start_episodes(done)
        return ends


class _BadReward(Exception):
    def __init__(self, problem: str, line: int | None = None):
        super().__init__(problem)
        self.problem, self.line = problem, line


def _checked_reward(fn: Callable[[dict], float], params: dict) -> float:
    """simapp's checks: float(reward), finite, within +-1e5."""
    try:
        value = float(fn(params))
    except Exception as exc:
        raise _BadReward(f"{type(exc).__name__}: {exc}", _user_line(exc)) from exc
    if not math.isfinite(value):
        raise _BadReward(f"it returned {value}, which is not finite")
    if not -REWARD_LIMIT <= value <= REWARD_LIMIT:
        raise _BadReward(f"it returned {value:g}, outside the simulator's range [-1e5, 1e5]")
    return value


def _user_line(exc: BaseException) -> int | None:
    """Line in the user's reward_function.py of the innermost frame running it."""
    from drtui.reward.check import FILENAME

    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename == FILENAME or f.filename.endswith("reward_function.py")]
    return frames[-1].lineno if frames else None
