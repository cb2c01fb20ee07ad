"""The Gymnasium wrapper (when gymnasium is installed) and lazy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sim_helpers import sim_config


def _imports_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_sim_package_wrapper_and_trace_cli_import_no_heavy_dependency():
    loaded = _imports_after("import drtui.sim, drtui.sim.vec_env, drtui.sim.trace")
    assert "gymnasium" not in loaded and "torch" not in loaded


def test_vector_env(oval):
    pytest.importorskip("gymnasium")
    from drtui.sim.vec_env import make_vector_env

    cfg = sim_config(
        oval,
        num_cars=3,
        sensors=("FRONT_FACING_CAMERA", "LIDAR"),
        camera_size=(80, 60),
        actions=((-30.0, 1.0), (0.0, 2.0), (30.0, 1.0)),
    )
    env = make_vector_env(cfg, lambda p: 1.0)
    obs, _ = env.reset(seed=3)
    assert obs["FRONT_FACING_CAMERA"].shape == (3, 1, 60, 80) and obs["LIDAR"].shape == (3, 64)
    assert env.observation_space.contains(obs)
    assert env.single_action_space.n == 3
    ended = 0
    for _ in range(120):
        obs, reward, term, _, infos = env.step(np.array([2, 0, 1]))
        assert reward.shape == (3,) and term.dtype == bool and infos["progress"].shape == (3,)
        if "episode" in infos:
            ended += int(infos["_episode"].sum())
            assert set(infos["episode"]["status"][infos["_episode"]]) <= {"off_track", "reversed"}
    assert ended >= 2


def test_continuous_vector_env(oval):
    pytest.importorskip("gymnasium")
    from drtui.sim.vec_env import make_vector_env

    env = make_vector_env(
        sim_config(
            oval,
            num_cars=2,
            actions=None,
            sensors=("SECTOR_LIDAR",),
            steering_range=(-20.0, 20.0),
            speed_range=(0.5, 3.0),
        )
    )
    obs, _ = env.reset()
    assert env.action_space.shape == (2, 2) and obs["SECTOR_LIDAR"].shape == (2, 8)
    env.step(env.action_space.sample())
