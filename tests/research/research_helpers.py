"""A tiny trained run shared by the research tests: reinvent_base, camera + lidar, 4 cars, a
48x36 internal camera, 4 episodes per iteration, no teacher warm start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

FAST = {"DRTUI_CARS": "4", "DRTUI_CAMERA_SIZE": "48x36", "DRTUI_TEACHER": "off",
        "DRTUI_THREADS": "1"}


def tiny_session(name: str = "research-test", iterations: int = 1):
    from drtui.session.starter import starter

    s = starter(name)
    s.track.world = "reinvent_base"
    s.car.sensors = ["FRONT_FACING_CAMERA", "LIDAR"]
    s.training.seed = 3
    s.training.min_eval_trials = 2
    s.evaluation.max_resets = 2
    h = s.hyperparameters
    h.num_episodes_between_training, h.num_epochs, h.term_cond_max_episodes = 4, 2, iterations
    return s


def create_run(workspace: Path, session):
    from drtui.files import render
    from drtui.runstore import store

    return store.create(workspace, session, render.render(session), provider="local",
                        runner="embedded")


def train(run, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """The trainer as the embedded runner starts it, to the end (its iteration limit)."""
    with open(run.log_path, "ab") as log:
        proc = subprocess.run([sys.executable, "-m", "drtui.train", str(run.path), *args],
                              stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env={**os.environ, **FAST}, timeout=timeout)
    assert proc.returncode == 0, run.log_path.read_text()[-3000:]
    return proc
