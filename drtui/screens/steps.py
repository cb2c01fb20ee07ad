"""The wizard's steps in order: which session sections each one edits, and where its screen lives.

Screens are imported when first shown, so opening the app does not import all eight.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module


@dataclass(frozen=True)
class StepInfo:
    key: str
    short: str  # for the step bar
    title: str
    sections: tuple[str, ...]  # session-file tables whose problems this step shows
    module: str
    screen: str


STEPS: tuple[StepInfo, ...] = (
    StepInfo("track", "Track", "Track and race type", ("track", "race"), "track", "TrackStep"),
    StepInfo("sensors", "Sensors", "Sensors", ("car",), "sensors", "SensorsStep"),
    StepInfo("actions", "Actions", "Action space", ("action_space",), "action_space",
             "ActionSpaceStep"),
    StepInfo("network", "Network", "Network and algorithm",
             ("network", "training", "research", "workers"), "network", "NetworkStep"),
    StepInfo("hyper", "Hyper", "Hyperparameters", ("hyperparameters",), "hyperparameters",
             "HyperparametersStep"),
    StepInfo("reward", "Reward", "Reward function", ("reward",), "reward", "RewardStep"),
    StepInfo("backend", "Backend", "Backend", ("backend",), "backend", "BackendStep"),
    # everything no other step owns (model name, evaluation...) shows on the review
    StepInfo("review", "Review", "Review and write", (), "review", "ReviewStep"),
)
REVIEW = len(STEPS) - 1


def step_screen(index: int):
    info = STEPS[index]
    cls = getattr(import_module(f"drtui.screens.{info.module}"), info.screen)
    return cls()


def step_of(path: str) -> int:
    """The step that owns a problem's key path."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    for index, info in enumerate(STEPS):
        if head in info.sections:
            return index
    return REVIEW


def owns(index: int, path: str) -> bool:
    return step_of(path) == index
