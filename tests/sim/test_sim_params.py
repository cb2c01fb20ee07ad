"""The params dict the simulator hands to reward functions."""

from __future__ import annotations

import math

import pytest
import torch
from sim_helpers import sim_config

from drtui.sim.env import DeepRacerSim
from drtui.sim.params import PARAM_KEYS, progress

TYPES = {
    "all_wheels_on_track": bool,
    "x": float,
    "y": float,
    "heading": float,
    "distance_from_center": float,
    "is_left_of_center": bool,
    "is_reversed": bool,
    "is_offtrack": bool,
    "is_crashed": bool,
    "progress": float,
    "speed": float,
    "steering_angle": float,
    "steps": int,
    "track_length": float,
    "track_width": float,
    "waypoints": list,
    "closest_waypoints": list,
    "projection_distance": float,
    "sim_time": float,
    "closest_objects": list,
    "objects_location": list,
    "objects_left_of_center": list,
    "objects_heading": list,
    "objects_speed": list,
    "objects_distance": list,
    "objects_distance_from_center": list,
    "object_in_camera": bool,
}


class Recorder:
    def __init__(self, value=1.0):
        self.calls: list[dict] = []
        self.value = value

    def __call__(self, params):
        self.calls.append(params)
        return self.value


def test_first_steps_match_a_real_log():
    """reinvent_base, start line 0: the real simulator logged x 3.1999, y 0.6831, progress
    0.7915 and closest waypoint 1 on the prepare step of its first episode."""
    rec = Recorder()
    sim = DeepRacerSim(sim_config("reinvent_base", actions=((20.0, 1.0), (-10.0, 2.0))), rec)
    sim.reset()
    sim.step([0])  # prepare: the reward function is not called
    assert rec.calls == []
    first = sim.last
    assert float(first.x[0]) == pytest.approx(3.1999, abs=2e-3)
    assert float(first.y[0]) == pytest.approx(0.6831, abs=2e-3)
    assert float(first.progress[0]) == pytest.approx(0.7915, abs=0.01)
    assert int(first.closest_waypoint[0]) == 1
    sim.step([1])
    p = rec.calls[0]
    assert set(p) == set(PARAM_KEYS) and len(PARAM_KEYS) == 27
    for key, kind in TYPES.items():
        assert type(p[key]) is kind, key
    assert (p["steps"], p["speed"], p["steering_angle"]) == (2, 2.0, -10.0)  # commanded action
    assert p["progress"] == pytest.approx(0.7915, abs=0.01)
    assert p["closest_waypoints"] == [0, 1] and p["track_length"] == pytest.approx(17.709, abs=1e-3)
    assert p["waypoints"][0] == p["waypoints"][-1] and len(p["waypoints"]) == 119
    assert p["all_wheels_on_track"] and not p["is_offtrack"] and not p["is_reversed"]
    assert p["distance_from_center"] < 0.01 and p["track_width"] == pytest.approx(0.76, abs=0.02)
    assert p["sim_time"] == pytest.approx(1 / 15)


def test_front_point_side_and_heading_on_the_oval(oval):
    rec = Recorder()
    sim = DeepRacerSim(sim_config(oval), rec)
    sim.reset()
    # origin 0.2 m left of the centre line on the first straight, facing +x
    sim.place([[2.0, 0.2, 0.0]])
    sim.step([1])
    sim.place([[2.0, 0.2, 0.0]])
    sim.step([1])
    p = rec.calls[-1]
    assert (p["x"], p["y"]) == pytest.approx((2.14, 0.2), abs=1e-5)
    assert p["is_left_of_center"] is True and p["distance_from_center"] == pytest.approx(
        0.2, abs=1e-5
    )
    assert p["heading"] == pytest.approx(0.0, abs=1e-5) and p["track_width"] == pytest.approx(
        1.0, abs=1e-4
    )
    assert p["projection_distance"] == pytest.approx(2.14, abs=1e-4)
    sim.place([[2.0, -0.2, math.pi]])
    sim.step([1])
    p = rec.calls[-1]
    assert p["is_left_of_center"] is False and p["heading"] == pytest.approx(180.0, abs=1e-3)


def test_progress_wraps_as_simapp_computes_it():
    def t(*v):
        return torch.tensor(v, dtype=torch.float64)

    start = t(0.0, 0.0, 0.5, 0.9, 0.0)
    ndist = t(0.02, 0.999, 0.49, 0.05, 0.001)
    prev = t(1.0, 0.0, 0.0, 10.0, 99.8)
    out = progress(ndist, start, prev).tolist()
    assert out[0] == pytest.approx(2.0)  # plain
    assert out[1] == pytest.approx(-0.1)  # just behind the start line
    assert out[2] == pytest.approx(-1.0)  # start mid-lap, reversing
    assert out[3] == pytest.approx(15.0)  # crossed the track's own start line
    assert out[4] == 100.0  # finished the lap: capped at 100


def test_batched_cars_match_single_cars(oval):
    """Each car of a batch gets what it would alone, with the same start line and actions."""
    actions = ((-20.0, 1.0), (0.0, 2.0), (20.0, 1.5))
    g = torch.Generator().manual_seed(3)
    seq = torch.randint(3, (60, 4), generator=g)
    batch = DeepRacerSim(sim_config(oval, num_cars=4, actions=actions), lambda p: p["progress"])
    batch.reset()
    singles = [
        DeepRacerSim(sim_config(oval, actions=actions), lambda p: p["progress"]) for _ in range(4)
    ]
    for i, s in enumerate(singles):  # car i of a batch starts i round-robin advances along
        s.start_ndist[:] = batch.start_ndist[i]
        s.reset()
    for t in range(60):
        _, rb, db, _, _ = batch.step(seq[t])
        for i, s in enumerate(singles):
            _, r1, d1, _, _ = s.step(seq[t, i : i + 1])
            assert float(rb[i]) == pytest.approx(float(r1[0]), abs=1e-4), (t, i)
            assert bool(db[i]) == bool(d1[0])
            assert float(batch.car.x[i]) == pytest.approx(float(s.car.x[0]), abs=1e-5)
            assert float(batch.car.yaw[i]) == pytest.approx(float(s.car.yaw[0]), abs=1e-5)
