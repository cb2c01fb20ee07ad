"""Starter sessions: a sensible model for each scenario, the first thing `drtui new` writes."""

from __future__ import annotations

from drtui.catalog.algorithms import defaults
from drtui.session import actions
from drtui.session.model import (
    Algorithm,
    Car,
    Hyperparameters,
    ModelInfo,
    Race,
    RaceType,
    Reward,
    Session,
    Track,
    Training,
)

SCENARIOS = tuple(actions.PRESETS)
_RACE: dict[str, RaceType] = {"object_avoidance": "OBJECT_AVOIDANCE", "head_to_head": "HEAD_TO_BOT"}
_SENSORS = {"object_avoidance": ["STEREO_CAMERAS"],
            "head_to_head": ["FRONT_FACING_CAMERA", "SECTOR_LIDAR"]}
_WORLD = {"object_avoidance": "reInvent2019_wide", "head_to_head": "reInvent2019_wide"}


def starter(name: str = "my-first-model", scenario: str = "centerline",
            algorithm: Algorithm = "clipped_ppo") -> Session:
    """Time trial on reInvent2019_track, front camera, clipped_ppo, centerline reward,
    embedded backend, unless the scenario says otherwise."""
    if scenario not in actions.PRESETS:
        raise KeyError(f"unknown scenario {scenario!r}; choose from {', '.join(SCENARIOS)}")
    space = actions.preset(scenario)
    return Session(
        model=ModelInfo(name=name, description=actions.PRESETS[scenario][0]),
        track=Track(world=_WORLD.get(scenario, "reInvent2019_track")),
        race=Race(type=_RACE.get(scenario, "TIME_TRIAL")),
        car=Car(sensors=_SENSORS.get(scenario, ["FRONT_FACING_CAMERA"])),
        action_space=space,
        training=Training(algorithm=algorithm),
        hyperparameters=Hyperparameters(**defaults(algorithm)),
        reward=Reward(template=scenario),
    )
