"""Typed events: what every backend's log lines turn into, and what the monitor, the headless
printer and the run store consume. Plain dataclasses, cheap to build and to dump as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Event:
    def to_json(self) -> dict[str, Any]:
        # a shallow copy: the fields are numbers, strings, tuples and lists of numbers, and
        # dataclasses.asdict's deep copy cost about 2.5x as much per event (the follower
        # records every event)
        out = {"event": type(self).__name__}
        for name in self.__dataclass_fields__:
            out[name] = getattr(self, name)
        return out


@dataclass(slots=True)
class LogLine(Event):
    text: str
    level: str = "info"  # debug | info | warning | error
    source: str = ""  # e.g. "robomaker-1", "sagemaker", "trainer"


@dataclass(slots=True)
class Step(Event):
    """One SIM_TRACE_LOG record (15, 17, 18 or 19 fields; missing ones are None)."""

    episode: int
    steps: int
    x: float
    y: float
    yaw: float
    steer: float
    throttle: float
    action: int | tuple[float, float]
    reward: float
    done: bool
    all_wheels_on_track: bool
    progress: float
    closest_waypoint: int
    track_len: float
    tstamp: float
    episode_status: str | None = None
    pause_duration: float | None = None
    obstacle_crash_counter: int | None = None
    wall_clock: float | None = None
    worker: int = 0


@dataclass(slots=True)
class EpisodeEnd(Event):
    episode: int  # 1-based, as Training>/Testing> lines count
    phase: str  # "training" | "evaluation"
    reward: float
    steps: int | None = None
    progress: float | None = None  # percent
    status: str | None = None  # lap_complete, off_track, ...
    time_s: float | None = None  # simulation seconds
    iteration: int | None = None
    worker: int = 0

    @property
    def complete(self) -> bool:
        return self.progress is not None and self.progress >= 100.0


@dataclass(slots=True)
class PolicyUpdate(Event):
    """One `Policy training>` line: PPO prints one per epoch."""

    epoch: int
    surrogate_loss: float
    kl_divergence: float
    entropy: float
    learning_rate: float | None = None


@dataclass(slots=True)
class Checkpoint(Event):
    iteration: int
    total_steps: int
    name: str


@dataclass(slots=True)
class IterationEnd(Event):
    iteration: int  # 1-based count of completed policy updates
    episodes: int
    mean_reward: float | None
    std_reward: float | None
    mean_progress: float | None
    std_progress: float | None
    completion_rate: float | None  # 0..1
    mean_lap_time_s: float | None  # of completed laps only
    policy_loss: float | None = None  # mean over the iteration's epochs
    entropy: float | None = None
    kl_divergence: float | None = None
    total_steps: int | None = None


@dataclass(slots=True)
class EvaluationEnd(Event):
    """The in-training evaluation after an iteration (worker 0 only in DeepRacer)."""

    success_rate: float | None = None
    mean_reward: float | None = None
    mean_progress: float | None = None
    episodes: list[float] = field(default_factory=list)  # progress of each eval episode


@dataclass(slots=True)
class Status(Event):
    state: str  # starting | running | stopping | stopped | failed | finished
    message: str = ""


@dataclass(slots=True)
class StageChange(Event):
    """A curriculum stage began (drtui's trainer, [research.curriculum])."""

    index: int  # 1-based
    total: int
    name: str
    description: str = ""


@dataclass(slots=True)
class TaskIteration(Event):
    """One task's share of an iteration in multi-task training (drtui's trainer)."""

    iteration: int
    task: int  # 1-based
    total: int
    name: str
    episodes: int
    mean_progress: float | None
    completion_rate: float | None
    mean_reward: float | None


@dataclass(slots=True)
class Cost(Event):
    dollars: float
    per_hour: float


@dataclass(slots=True)
class Artifact(Event):
    kind: str  # checkpoint | model | metrics | simtrace | picture
    path: str


@dataclass(slots=True)
class CameraFrame(Event):
    """What the policy of one car saw at a step: a small grey image (drtui's trainer writes
    one every couple of seconds for the traced car; drtui.logs.camera)."""

    car: int
    episode: int
    step: int
    width: int
    height: int
    gray: str  # base64 of width*height bytes, row by row


def event_from_json(data: dict) -> Event | None:
    """An event as follow() recorded it in events.jsonl; None for an unknown kind (or a line
    that is not a JSON object)."""
    if not isinstance(data, dict):
        return None
    kind = globals().get(str(data.pop("event", "")))
    if not (isinstance(kind, type) and issubclass(kind, Event)):
        return None
    if kind is Step and isinstance(data.get("action"), list):
        data["action"] = tuple(data["action"])
    try:
        return kind(**data)
    except TypeError:  # a line from another drtui version: skip it rather than fail
        return None


def event_from_line(raw: str) -> Event | None:
    """A line of events.jsonl as its event; None for a torn last line (a killed follower), a
    line that is not JSON, or one from another drtui version."""
    try:
        return event_from_json(json.loads(raw))
    except ValueError:
        return None
