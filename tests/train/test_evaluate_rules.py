"""Continuous evaluation's reset and the laptime best-model metric, on the real simulator:
a car that leaves the road is put back where simapp's rollout_agent_ctrl puts it (the lap
point of the step before, or reset_behind_dist behind a box within 1 m of it); laptime picks
the fastest mean lap as simapp's s3_metrics does (999999 ms for an episode without a lap)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from drtui.sim.env import DeepRacerSim, EpisodeEnd, SimConfig  # noqa: E402
from drtui.sim.objects import ObjectsConfig  # noqa: E402
from drtui.train.evaluate import ResetBehind  # noqa: E402
from drtui.train.trainer import better_eval_metric, eval_metric_values  # noqa: E402


def drive_off(objects: ObjectsConfig | None = None, behind: float = 1.0):
    """One car steering hard left at 1 m/s until it leaves the road: (the progress of the
    step before it left, the start line before and after the reset, the rule)."""
    rule = ResetBehind(change_start=False, start_position_offset=0.25)
    cfg = SimConfig(world="reinvent_base", sensors=(), actions=((30.0, 1.0),), start=rule,
                    objects=objects or ObjectsConfig())
    sim = DeepRacerSim(cfg)
    rule.sim, rule.behind, rule.prev = sim, behind, torch.zeros(1)
    sim.reset()
    before = float(sim.start_ndist[0])
    for _ in range(200):
        prev = float(rule.prev[0])
        _, _, term, _, info = sim.step([0])
        rule.prev = sim.last.progress
        if info["episodes"]:
            assert info["episodes"][0].status == "off_track"
            return prev, before, float(sim.start_ndist[0]), rule, sim
    raise AssertionError("the car never left the road")


def test_an_off_track_car_restarts_at_the_step_before():
    prev, before, after, rule, _ = drive_off()
    assert prev > 0.5  # it drove a little before it left
    assert float(rule.spawn[0]) == pytest.approx(prev)
    assert after == pytest.approx((before + prev / 100.0) % 1.0, abs=1e-6)


def test_a_box_near_the_reset_point_moves_it_behind_the_box():
    free, before, _, _, sim = drive_off()
    length = sim.track.length
    # a box 0.5 m ahead of where the free reset would be: the reset goes 1 m behind the box
    box_at = (before * length + free / 100.0 * length + 0.5) / length
    objects = ObjectsConfig(kind="boxes", count=1, positions=((box_at, 1),))
    prev, before, after, rule, sim = drive_off(objects)
    if abs(prev - free) > 1e-6:
        pytest.skip("the box changed the drive before the reset")
    got = float(rule.spawn[0]) / 100.0 * length
    assert got == pytest.approx(free / 100.0 * length + 0.5 - 1.0, abs=0.05)


def ends(*laps):
    """Evaluation EpisodeEnds: a float is a lap of that many seconds, None no lap."""
    return [EpisodeEnd(car=0, episode=0, steps=10, progress=100.0 if t else 40.0, reward=1.0,
                       status="lap_complete" if t else "off_track", start_time=2.0,
                       end_time=2.0 + (t or 1.0), reversed=False) for t in laps]


def test_laptime_metric_is_simapps():
    assert eval_metric_values("laptime", ends(12.5, None)) == [12500, 999_999]
    assert eval_metric_values("progress", ends(12.5, None)) == [100.0, 40.0]
    assert better_eval_metric("laptime", 12000.0, 12500.0)
    assert better_eval_metric("laptime", 12500.0, 12500.0)  # simapp keeps the later on a tie
    assert not better_eval_metric("laptime", 13000.0, 12500.0)
    assert better_eval_metric("progress", 60.0, 40.0) and not better_eval_metric(
        "progress", 40.0, 40.0)
