"""Action spaces: a discrete list of (steering, speed) actions, a generator of steering x
speed levels, or continuous ranges; plus named presets for common scenarios.

Limits are the simulator's: steering is clipped to -30..30 degrees and speed to 0.1..4.0 m/s
at run time (deepracer-simapp agent_ctrl/constants.py); DeepRacer on AWS allows 2-30
discrete actions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import Field, model_validator

from drtui.session.base import Section

MIN_SPEED, MAX_SPEED = 0.1, 4.0
MAX_STEERING = 30.0
MIN_ACTIONS, MAX_ACTIONS = 2, 30


class Action(Section):
    """One discrete action. Its limits are rules of the session check (validate.py), not of
    the field: simapp clips an imported model's speed or steering at run time, so there they
    are warnings, while a new session keeps them as errors."""

    steering_angle: float = Field(allow_inf_nan=False, description="degrees, positive turns left")
    speed: float = Field(allow_inf_nan=False, description="m/s")


class Range(Section):
    low: float
    high: float

    @model_validator(mode="after")
    def _low_below_high(self) -> Range:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low:g}) must be less than high ({self.high:g})")
        return self


class Generator(Section):
    """steering_levels evenly spaced in -max..+max, speed_levels evenly spaced in min..max."""

    steering_levels: int = Field(default=5, ge=1, le=15)
    max_steering: float = Field(default=30.0, gt=0, le=MAX_STEERING)
    speed_levels: int = Field(default=2, ge=1, le=10)
    min_speed: float = Field(default=0.5, ge=MIN_SPEED, le=MAX_SPEED)
    max_speed: float = Field(default=1.0, ge=MIN_SPEED, le=MAX_SPEED)

    @model_validator(mode="after")
    def _consistent(self) -> Generator:
        if self.speed_levels > 1 and self.min_speed >= self.max_speed:
            raise ValueError(f"min_speed ({self.min_speed:g}) must be less than max_speed "
                             f"({self.max_speed:g}) when speed_levels > 1")
        count = self.steering_levels * self.speed_levels
        if not MIN_ACTIONS <= count <= MAX_ACTIONS:
            raise ValueError(f"steering_levels x speed_levels = {count} actions; DeepRacer "
                             f"allows {MIN_ACTIONS}..{MAX_ACTIONS}")
        return self

    def actions(self) -> list[Action]:
        def levels(lo: float, hi: float, n: int) -> list[float]:
            if n == 1:
                return [round(hi, 4)]
            return [round(lo + (hi - lo) * i / (n - 1), 4) for i in range(n)]

        steer = levels(-self.max_steering, self.max_steering, self.steering_levels)
        if self.steering_levels == 1:
            steer = [0.0]
        speed = levels(self.min_speed, self.max_speed, self.speed_levels)
        return [Action(steering_angle=s + 0.0, speed=v) for s in steer for v in speed]


class ActionSpace(Section):
    type: Literal["discrete", "continuous"] = "discrete"
    # discrete: explicit actions, or a generator that produces them
    actions: list[Action] | None = None
    generator: Generator | None = None
    # continuous
    steering_angle: Range | None = None
    speed: Range | None = None
    # write each discrete entry's "index" as the console did (kept when imported)
    write_index: bool = False

    @model_validator(mode="after")
    def _shape(self) -> ActionSpace:
        if self.type == "discrete":
            if self.steering_angle is not None or self.speed is not None:
                raise ValueError("steering_angle/speed ranges belong to a continuous action "
                                 "space; a discrete one lists actions or a generator")
            if (self.actions is None) == (self.generator is None):
                raise ValueError("a discrete action space needs exactly one of 'actions' or "
                                 "'generator'")
        else:
            if self.actions is not None or self.generator is not None:
                raise ValueError("a continuous action space has steering_angle and speed "
                                 "ranges, not 'actions' or 'generator'")
            if self.steering_angle is None or self.speed is None:
                raise ValueError("a continuous action space needs both steering_angle and "
                                 "speed ranges")
        return self

    def ranges(self) -> tuple[Range, Range]:
        """(steering_angle, speed) of a continuous space (its validator requires both)."""
        if self.steering_angle is None or self.speed is None:
            raise ValueError("a discrete action space has no steering_angle/speed ranges")
        return self.steering_angle, self.speed

    def limit_problems(self) -> list[tuple[str, str]]:
        """(path below action_space, message) for each simulator limit the space exceeds:
        the action count DeepRacer allows, steering and speed beyond what simapp clips to."""
        out: list[tuple[str, str]] = []
        if self.type == "continuous":
            s, v = self.ranges()
            if not (-MAX_STEERING <= s.low and s.high <= MAX_STEERING):
                out.append(("", f"steering_angle range must lie within -30..30 degrees "
                                 f"(got {s.low:g}..{s.high:g})"))
            if not (MIN_SPEED <= v.low and v.high <= MAX_SPEED):
                out.append(("", f"speed range must lie within 0.1..4.0 m/s "
                                 f"(got {v.low:g}..{v.high:g})"))
            return out
        if self.actions is None:
            return out  # a generator's own fields hold its limits
        if not MIN_ACTIONS <= len(self.actions) <= MAX_ACTIONS:
            out.append(("", f"a discrete action space has {MIN_ACTIONS}..{MAX_ACTIONS} "
                            f"actions (got {len(self.actions)})"))
        for i, a in enumerate(self.actions):
            if not -MAX_STEERING <= a.steering_angle <= MAX_STEERING:
                bound = "at least -30" if a.steering_angle < 0 else "at most 30"
                out.append((f"actions[{i}].steering_angle",
                            f"must be {bound} degrees (got {a.steering_angle:g})"))
            if not MIN_SPEED <= a.speed <= MAX_SPEED:
                bound = "at least 0.1" if a.speed < MIN_SPEED else "at most 4"
                out.append((f"actions[{i}].speed", f"must be {bound} m/s (got {a.speed:g})"))
        return out

    def discrete_actions(self) -> list[Action]:
        if self.type != "discrete":
            raise ValueError("continuous action spaces have no action list")
        if self.actions is not None:
            return list(self.actions)
        if self.generator is None:  # the validator requires one of the two
            raise ValueError("a discrete action space needs 'actions' or 'generator'")
        return self.generator.actions()

    def speed_bounds(self) -> tuple[float, float]:
        if self.type == "continuous":
            speed = self.ranges()[1]
            return speed.low, speed.high
        speeds = [a.speed for a in self.discrete_actions()]
        return min(speeds), max(speeds)


def _discrete(pairs: list[tuple[float, float]]) -> ActionSpace:
    return ActionSpace(type="discrete",
                       actions=[Action(steering_angle=s, speed=v) for s, v in pairs])


def _continuous(steer: float, lo: float, hi: float) -> ActionSpace:
    return ActionSpace(type="continuous", steering_angle=Range(low=-steer, high=steer),
                       speed=Range(low=lo, high=hi))


# Presets for the scenarios drtui ships reward templates for.
PRESETS: dict[str, tuple[str, Callable[[], ActionSpace]]] = {
    "centerline": ("Gentle steering at modest speed: learns to follow the centre line fast.",
                   lambda: ActionSpace(type="discrete", generator=Generator(
                       steering_levels=5, max_steering=30.0, speed_levels=2,
                       min_speed=0.5, max_speed=1.0))),
    "speed": ("Fast straights, slower corners: more speed levels for lap-time work.",
              lambda: _discrete([(-30, 1.0), (-20, 1.5), (-10, 2.5), (0, 3.0), (0, 4.0),
                                 (10, 2.5), (20, 1.5), (30, 1.0)])),
    "object_avoidance": ("Sharp steering at moderate speed to swerve around boxes.",
                         lambda: _discrete([(-30, 0.8), (-15, 1.2), (0, 1.5), (0, 2.0),
                                            (15, 1.2), (30, 0.8)])),
    "head_to_head": ("Continuous control for overtaking bot cars.",
                     lambda: _continuous(30.0, 0.8, 2.5)),
    "time_trial": ("Continuous steering and speed: the racer's choice for time trials.",
                   lambda: _continuous(30.0, 1.0, 4.0)),
}


def preset(name: str) -> ActionSpace:
    try:
        return PRESETS[name][1]()
    except KeyError:
        raise KeyError(f"unknown action-space preset {name!r}; choose from "
                       f"{', '.join(PRESETS)}") from None
