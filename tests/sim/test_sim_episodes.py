"""Episodes: each reset rule ends an episode with its status; starts advance round-robin."""

from __future__ import annotations

import math

import pytest
import torch
from sim_helpers import sim_config

from drtui.sim import env as sim_env
from drtui.sim.env import DeepRacerSim
from drtui.sim.episode import StartRule
from drtui.sim.objects import ObjectsConfig

STRAIGHT = ((0.0, 1.0), (0.0, 2.0), (0.0, 4.0))


def run_until_done(sim, action, limit=400):
    """Step with one action until the first episode ends; returns its EpisodeEnd."""
    for _ in range(limit):
        _, _, term, trunc, info = sim.step([action] * sim.n)
        if info["episodes"]:
            return info["episodes"][0], bool(term[0]), bool(trunc[0])
    raise AssertionError("no episode ended")


def pursuit(sim, lookahead=0.8):
    """A pure-pursuit driver: steering (deg) towards the centre line `lookahead` m ahead."""
    lines = sim.track.forward
    c = sim.car
    origin = torch.stack([c.x, c.y], -1).double()
    along, _ = lines.centre.project(origin.float())
    target = lines.centre.interpolate(torch.remainder(along + lookahead, sim.track.length))
    dx, dy = float(target[0, 0]) - float(c.x[0]), float(target[0, 1]) - float(c.y[0])
    alpha = math.atan2(dy, dx) - float(c.yaw[0])
    alpha = (alpha + math.pi) % (2 * math.pi) - math.pi
    steer = math.degrees(math.atan(2 * 0.164 * math.sin(alpha) / lookahead))
    return max(-30.0, min(30.0, steer * 1.5))


def test_lap_complete(oval):
    sim = DeepRacerSim(sim_config(oval, actions=None, speed_range=(0.5, 2.0)), lambda p: 1.0)
    sim.reset()
    for _ in range(600):
        _, _, term, _, info = sim.step([[pursuit(sim), 2.0]])
        if info["episodes"]:
            break
    end = info["episodes"][0]
    assert end.status == "lap_complete" and bool(term[0])
    assert end.progress == 100.0 and sim.last.progress[0] == 100.0
    laptime = end.steps / 15
    assert 10 < laptime < 30  # 21.4 m at up to 2 m/s
    assert end.reward == pytest.approx(end.steps - 1)  # 1 per step, 0 on the prepare step


def test_off_track(oval):
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT), lambda p: 1.0)
    sim.reset()
    sim.place([[3.0, 0.9, 0.0]])  # every wheel beyond the 0.5 m half width
    end, term, trunc = run_until_done(sim, 0)
    assert (end.status, end.steps, term, trunc) == ("off_track", 2, True, False)


def test_off_track_needs_every_wheel_off(oval):
    """One wheel still on the road: not off track (but not all wheels on track)."""
    seen = []
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT), lambda p: seen.append(p) or 1.0)
    sim.reset()
    sim.step([0])
    sim.place([[3.0, 0.55, math.radians(20)]])  # the rear right wheel is just inside
    _, _, term, _, _ = sim.step([0])
    assert not term[0]
    assert seen[-1]["all_wheels_on_track"] is False and seen[-1]["is_offtrack"] is False


def test_reversed(oval):
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT), lambda p: 1.0)
    sim.reset()
    sim.place([[4.0, 0.0, math.pi]])  # facing backwards on the first straight
    end, term, _ = run_until_done(sim, 0)
    assert end.status == "reversed" and term
    assert 16 <= end.steps <= 18  # 15 steps of falling progress after the car starts moving


def test_immobilized(oval, monkeypatch):
    monkeypatch.setattr(sim_env, "drive", lambda *a, **k: None)  # a car stuck where it is
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT), lambda p: 1.0)
    sim.reset()
    end, term, _ = run_until_done(sim, 0)
    assert end.status == "immobilized" and term
    assert end.steps == 16  # steps 2..16 moved no more than 0.0003 m


def test_crashed_into_a_box(oval):
    objects = ObjectsConfig("boxes", 1, positions=((0.1, 1),))  # inner lane, 2.14 m along
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT, objects=objects), lambda p: 1.0)
    sim.reset()
    assert float(sim.car.y[0]) == 0.0  # more than 1 m from the box: starts on the centre line
    end, term, _ = run_until_done(sim, 1)
    assert end.status == "crashed" and term
    assert 1.5 < float(sim.last.x[0]) < 2.2


def test_time_up_truncates(oval):
    sim = DeepRacerSim(sim_config(oval, actions=STRAIGHT, max_steps=5), lambda p: 1.0)
    sim.reset()
    end, term, trunc = run_until_done(sim, 0)
    assert (end.status, end.steps, term, trunc) == ("time_up", 5, False, True)


def test_round_robin_start_and_alternate_direction(oval):
    start = StartRule(
        change_start=True,
        round_robin_advance_dist=0.1,
        start_position_offset=0.05,
        alternate_direction=True,
    )
    sim = DeepRacerSim(sim_config(oval, num_cars=2, actions=STRAIGHT, start=start), lambda p: 1.0)
    sim.reset()
    assert sim.start_ndist.tolist() == pytest.approx([0.05, 0.15])  # car i: i advances along
    length = sim.track.length
    starts, directions = [], []
    for _ in range(4):
        sim.place([[3.0, 0.9, 0.0]], cars=[0])  # end car 0's episode at once
        end, _, _ = run_until_done(sim, 0)
        while end.car != 0:
            end, _, _ = run_until_done(sim, 0)
        lines = sim.track.lines(bool(sim.reverse[0]))
        along, _ = lines.centre.project(torch.stack([sim.car.x[:1], sim.car.y[:1]], -1))
        starts.append(float(along[0]) / length)
        directions.append(bool(sim.reverse[0]))
    assert starts == pytest.approx([0.15, 0.25, 0.35, 0.45], abs=1e-4)  # on each direction's line
    assert directions == [True, False, True, False]


def test_no_change_of_start(oval):
    start = StartRule(change_start=False, start_position_offset=0.3)
    sim = DeepRacerSim(sim_config(oval, num_cars=3, actions=STRAIGHT, start=start), lambda p: 1.0)
    sim.reset()
    assert sim.start_ndist.tolist() == pytest.approx([0.3] * 3)
    sim.place([[3.0, 0.9, 0.0]] * 3)
    run_until_done(sim, 0)
    assert sim.start_ndist.tolist() == pytest.approx([0.3] * 3)
