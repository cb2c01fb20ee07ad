"""Obstacles and bot cars: placement, motion and the object keys of the params."""

from __future__ import annotations

import math

import pytest
import torch
from sim_helpers import sim_config

from drtui.sim.env import DeepRacerSim, SimConfig
from drtui.sim.objects import ObjectsConfig

STRAIGHT = ((0.0, 1.0),)


class Last:
    def __init__(self):
        self.params = None

    def __call__(self, params):
        self.params = params
        return 1.0


def test_fixed_obstacles_and_their_params(oval):
    # lane 1 is the inner lane (left on a ccw track), -1 the outer one, as simapp reads them
    objects = ObjectsConfig("boxes", 2, positions=((0.64, 1), (0.9, -1)))
    last = Last()
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT, objects=objects), last)
    sim.reset()
    length = sim.track.length
    sim.step([0])
    sim.step([0])
    p = last.params
    assert p["objects_distance"] == pytest.approx([0.64 * length, 0.9 * length], abs=0.02)
    assert p["objects_left_of_center"] == [True, False]
    assert p["objects_distance_from_center"] == pytest.approx([0.25, 0.25], abs=2e-3)
    assert p["objects_speed"] == [0.0, 0.0] and p["objects_heading"] == [0.0, 0.0]
    assert p["closest_objects"] == [1, 0]  # behind the car: the last one; ahead: the first
    assert len(p["objects_location"]) == 2 and p["is_crashed"] is False
    assert p["object_in_camera"] is False  # on the back straight, 45 degrees off the nose
    sim.place([[5.0, 3.0, math.pi]])  # on the back straight, 2 m behind the next box
    sim.step([0])
    assert last.params["closest_objects"] == [1, 0] and last.params["object_in_camera"] is True


def test_evenly_spread_obstacles_alternate_lanes(oval):
    objects = ObjectsConfig("boxes", 4, min_distance=10.0)  # simapp: percent of the lap
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT, objects=objects), Last())
    sim.reset()
    length = sim.track.length
    expect = torch.linspace(0.1 * length, length - 1.0, 4)
    assert torch.allclose(sim.objects.base_dist[0], expect)
    assert sim.objects.inner[0].tolist() == [True, False, True, False]


def test_random_obstacles_keep_their_distance(oval):
    objects = ObjectsConfig("boxes", 3, min_distance=10.0, randomize=True)
    sim = DeepRacerSim(sim_config(oval, num_cars=8, actions=STRAIGHT, objects=objects), None)
    sim.reset()
    d = sim.objects.base_dist
    assert (d.diff(dim=1) >= 0.1 * sim.track.length - 1e-4).all()
    assert len({tuple(row) for row in d.tolist()}) > 1  # each car's world drawn anew


def test_start_moves_to_the_free_lane_beside_an_object(oval):
    objects = ObjectsConfig("boxes", 1, positions=((0.02, 1),))  # inner lane, 0.43 m ahead
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT, objects=objects), None)
    sim.reset()
    assert float(sim.car.y[0]) == pytest.approx(-0.25, abs=0.01)  # outer lane


def test_bot_cars_drive_their_lanes(oval):
    objects = ObjectsConfig("bots", 2, min_distance=3.0, bot_speed=0.6)
    last = Last()
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT, objects=objects), last)
    sim.reset()
    start = sim.objects.centre_dist(torch.zeros(1)).clone()
    for _ in range(31):
        sim.step([0])
    p = last.params
    assert p["objects_speed"] == [0.6, 0.6]
    moved = torch.remainder(
        sim.objects.centre_dist(torch.full((1,), 30 / 15)) - start, sim.track.length
    )
    assert moved.tolist()[0] == pytest.approx([1.2, 1.2], abs=1e-4)
    assert p["objects_distance"][0] == pytest.approx(3.0 + 1.2, abs=0.05)
    assert p["objects_heading"][0] == pytest.approx(0.0, abs=1e-3)  # along the first straight
    assert p["objects_left_of_center"] == [True, False]


def test_bot_lane_change(oval):
    objects = ObjectsConfig(
        "bots",
        1,
        min_distance=1.5,
        bot_speed=1.0,
        lane_change=True,
        lane_change_times=(1.0, 1.0),
        lane_change_distance=1.0,
    )
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT, objects=objects), None)
    sim.reset()
    ys = {}
    for t in (0.0, 0.9, 1.5, 2.0, 2.5):  # the change starts after 1 s and takes 1 m at 1 m/s
        sim.objects.update(torch.full((1,), t))
        ys[t] = float(sim.objects.y[0, 0])
    assert ys[0.0] == ys[0.9] == pytest.approx(0.25)
    assert ys[1.5] == pytest.approx(0.0, abs=1e-4) and ys[2.5] == pytest.approx(-0.25)
    assert bool(sim.objects.inner[0, 0]) is False  # now in the outer lane


def test_crash_into_a_bot_ahead_ends_the_episode(oval):
    objects = ObjectsConfig("bots", 1, min_distance=1.6, bot_speed=0.1)
    sim = DeepRacerSim(sim_config(oval, actions=((0.0, 3.0),), objects=objects), Last())
    sim.reset()
    # behind the bot, 5 cm off its lane's line (footprints exactly side by side touch only
    # on their edges, which simapp's strict containment test does not count)
    sim.place([[1.0, 0.30, 0.0]])
    for _ in range(60):
        info = sim.step([0])[-1]
        if info["episodes"]:
            break
    assert info["episodes"][0].status == "crashed"


def test_session_race_settings(oval):
    from drtui.session.model import HeadToBot, ObjectAvoidance, ObjectPosition, Race

    race = Race(
        type="OBJECT_AVOIDANCE",
        object_avoidance=ObjectAvoidance(object_positions=[ObjectPosition(progress=0.3, lane=-1)]),
    )
    cfg = ObjectsConfig.from_race(race)
    assert (cfg.kind, cfg.count, cfg.positions) == ("boxes", 1, ((0.3, -1),))
    race = Race(
        type="HEAD_TO_BOT",
        head_to_bot=HeadToBot(number_of_bot_cars=2, bot_car_speed=1.5, is_lane_change=True),
    )
    cfg = ObjectsConfig.from_race(race)
    assert (cfg.kind, cfg.count, cfg.bot_speed, cfg.lane_change) == ("bots", 2, 1.5, True)
    assert ObjectsConfig.from_race(Race()).kind == "none"


def test_config_from_a_session():
    from drtui.session.starter import starter

    session = starter("sim-test")
    cfg = SimConfig.from_session(session, num_cars=4, camera_size=(80, 60))
    assert cfg.num_cars == 4 and cfg.world == session.track.world
    assert cfg.sensors == tuple(session.car.sensors) and cfg.camera_size == (80, 60)
    assert cfg.actions is None or len(cfg.actions) == len(session.action_space.discrete_actions())
    assert cfg.start.round_robin_advance_dist == session.training.round_robin_advance_dist
    assert math.isfinite(cfg.speed_range[0])
