"""Every simapp world trains on the embedded simulator: its route loads, the simulator steps
cars on it and hands the reward function params measured on that world's own route."""

from __future__ import annotations

import numpy as np
import pytest

from drtui.catalog.tracks import catalogue, load_waypoints, sanitize
from drtui.session.starter import starter
from drtui.sim.env import DeepRacerSim, SimConfig

# one of each kind: the plain world of 2023 logs, a _cw and a _ccw route, a plain route wound
# clockwise, simapp's open road
SAMPLE = ["2022_reinvent_champ", "reInvent2019_wide_cw", "2024_reinvent_champ_ccw", "Albert",
          "Straight_track"]


def _drive(world: str, steps: int = 4) -> None:
    session = starter("smoke")
    session.track.world = world
    cfg = SimConfig.from_session(session, 2, sensors=(), seed=1)
    seen: list[dict] = []
    sim = DeepRacerSim(cfg, lambda p: seen.append(p) or 1.0)
    route = sanitize(load_waypoints(world))
    assert np.array_equal(sim.track.route, route)  # the world's own file, not a reversal
    length = float(np.linalg.norm(np.diff(route[:, :2], axis=0), axis=1).sum())
    sim.reset()
    for t in range(steps):
        sim.step([t % len(cfg.actions), (t + 1) % len(cfg.actions)])
    assert len(seen) >= 2 * (steps - 1)  # (the first step only places the cars)
    for p in seen:
        assert p["track_length"] == pytest.approx(length, rel=1e-5), world
        assert len(p["waypoints"]) == len(route)
        prev_wp, next_wp = p["closest_waypoints"]
        assert 0 <= prev_wp < len(route) and 0 <= next_wp < len(route)
        assert 0.0 <= p["progress"] <= 100.0 and np.isfinite(p["distance_from_center"])
        assert p["is_reversed"] is False and 0.5 < p["track_width"] < 1.6


@pytest.mark.parametrize("world", SAMPLE)
def test_each_kind_of_world_steps(world):
    _drive(world)


@pytest.mark.slow  # about 1 s a world on a 2-core machine: 2-3 minutes for all 128
@pytest.mark.parametrize("world", [w for w in catalogue() if w not in SAMPLE])
def test_every_simapp_world_steps(world):
    _drive(world)
