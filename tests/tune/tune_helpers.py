"""Tiny real trials for the tune tests: the short reinvent_base track, 4 cars, a 48x36
internal camera, 2-4 episodes per iteration, 2 evaluation episodes, no teacher warm start
(the DRTUI_* settings tests/train/test_trainer_process.py uses)."""

from __future__ import annotations

import os
from pathlib import Path

FAST = {"DRTUI_CARS": "4", "DRTUI_CAMERA_SIZE": "48x36", "DRTUI_TEACHER": "off",
        "DRTUI_THREADS": "1"}

SPACE = """\
[hyperparameters]
lr = { low = 1e-5, high = 1e-3, log = true }
num_episodes_between_training = { low = 2, high = 4 }
batch_size = { choices = [32, 64] }
[action_space]
max_speed = { low = 1.0, high = 2.0 }
[reward.params]
marker_1 = { low = 0.05, high = 0.2 }
"""


def tiny_session(name: str = "tiny"):
    from drtui.session.starter import starter

    s = starter(name)
    s.track.world = "reinvent_base"
    s.training.min_eval_trials = 2
    s.evaluation.max_resets = 2  # an untrained policy's evaluation ends soon
    s.hyperparameters.num_epochs = 2
    s.hyperparameters.num_episodes_between_training = 2
    return s


def write_tiny(folder: Path, name: str = "tiny") -> tuple[Path, Path]:
    """tiny.toml and space.toml in folder."""
    from drtui.session import store

    session_path, space_path = folder / f"{name}.toml", folder / "space.toml"
    store.save(tiny_session(name), session_path)
    space_path.write_text(SPACE, encoding="utf-8")
    return session_path, space_path


def fast_environ() -> dict[str, str]:
    return {**os.environ, **FAST}


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().split(b")")[-1].split()[0] != b"Z"
    except OSError:
        return False
