"""The user's reward_function: called unmodified with a fresh params dict per car and step; a
failure stops the run with a message naming the step and the params."""

from __future__ import annotations

import pytest
from sim_helpers import sim_config

from drtui.sim.env import DeepRacerSim, RewardFunctionError

STRAIGHT = ((0.0, 1.0),)


def make(oval, source, n=1):
    sim = DeepRacerSim(sim_config(oval, num_cars=n, actions=STRAIGHT), source)
    sim.reset()
    return sim


def test_reward_code_from_source_and_template(oval, tmp_path):
    from drtui.reward.templates import render

    path = tmp_path / "reward_function.py"
    path.write_text(render("centerline", {}))
    for source in (render("centerline", {}), path):
        sim = make(oval, source)
        sim.step([0])
        _, reward, _, _, _ = sim.step([0])
        assert float(reward[0]) == 1.0  # on the centre line


def test_a_raising_reward_names_step_episode_line_and_params(oval):
    code = (
        "def reward_function(params):\n"
        "    if params['steps'] > 3:\n"
        "        return 1 / 0\n"
        "    return 1.0\n"
    )
    sim = make(oval, code, n=2)
    for _ in range(3):
        sim.step([0, 0])
    with pytest.raises(RewardFunctionError) as err:
        sim.step([0, 0])
    e = err.value
    assert (e.step, e.episode, e.car, e.line) == (4, 0, 0, 3)
    text = str(e)
    assert "step 4 of episode 0" in text and "ZeroDivisionError" in text and "line 3" in text
    assert "'distance_from_center'" in text and "<" in text and "waypoints>" in text
    assert e.params["steps"] == 4 and len(e.params) == 27


@pytest.mark.parametrize(
    "value, words",
    [
        ("float('nan')", "not finite"),
        ("float('inf')", "not finite"),
        ("1e6", "outside"),
        ("-100001", "outside"),
        ("'high'", "ValueError"),
    ],
)
def test_invalid_rewards_stop_the_run(oval, value, words):
    sim = make(oval, f"def reward_function(params):\n    return {value}\n")
    sim.step([0])  # prepare: not called
    with pytest.raises(RewardFunctionError, match=words):
        sim.step([0])


def test_params_are_a_fresh_copy_each_call(oval):
    seen = []

    def vandal(params):
        seen.append((len(params["waypoints"]), list(params["closest_waypoints"])))
        params["waypoints"].clear()
        params["closest_waypoints"].append(99)
        return 0.5

    sim = make(oval, vandal)
    for _ in range(4):
        sim.step([0])
    n = len(sim.track.forward.waypoints)
    assert [count for count, _ in seen] == [n, n, n]
    assert all(len(closest) == 2 for _, closest in seen)


def test_reward_is_zero_on_prepare_and_summed_per_episode(oval):
    sim = make(oval, lambda p: 2.0)
    _, r1, *_ = sim.step([0])
    _, r2, *_ = sim.step([0])
    assert (float(r1[0]), float(r2[0])) == (0.0, 2.0)
    assert float(sim.episode_reward[0]) == 2.0
