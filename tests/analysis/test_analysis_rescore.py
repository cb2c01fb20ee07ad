"""Re-scoring a log with the reward function that made it gives back the logged rewards;
another function gives other totals; a broken one is refused with exit 2."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from drtui.analysis import tables
from drtui.analysis.load import load
from drtui.analysis.rescore import new_rewards, rescore
from drtui.cli import main


def test_logged_reward_function_reproduces_logged_rewards(sim_run):
    loaded = load(sim_run)
    steps = loaded.steps
    per_step = new_rewards(steps, loaded.world, sim_run.parent / "reward_function.py")
    logged = steps["reward"].to_numpy(float)
    assert (logged[steps["episode_status"] == "prepare"] == 0).all()
    assert np.abs(logged).sum() > 10  # the run was scored: this is no all-zeros comparison
    np.testing.assert_allclose(per_step, logged, atol=1e-4)
    eps = tables.episodes(steps)
    out, _ = rescore(steps, eps, loaded.world, sim_run.parent / "reward_function.py")
    np.testing.assert_allclose(out["new_reward"], out["reward"], atol=1e-3)


def test_another_reward_changes_the_totals(sim_run, tmp_path):
    other = tmp_path / "speed.py"
    other.write_text("def reward_function(params):\n    return params['speed'] ** 2\n")
    loaded = load(sim_run)
    out, per_step = rescore(loaded.steps, tables.episodes(loaded.steps), loaded.world, other)
    speeds = loaded.steps["speed"].to_numpy(float)
    scored = (loaded.steps["episode_status"] != "prepare").to_numpy()
    np.testing.assert_allclose(per_step[scored], speeds[scored] ** 2)
    assert not np.allclose(out["new_reward"], out["reward"])


def test_broken_reward_file_exits_2(sim_run, tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def reward_function(params):\n    return params['nope']\n")
    assert main(["analyze", str(sim_run), "--reward", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "--reward" in err and "KeyError" in err and "step" in err
    syntax = tmp_path / "syntax.py"
    syntax.write_text("def reward_function(params):\n    return (\n")
    assert main(["analyze", str(sim_run), "--reward", str(syntax)]) == 2


@pytest.mark.parametrize("returned, rule", [("None", "must return a number, not NoneType"),
                                            ("float('nan')", "must be finite"),
                                            ("True", "must return a number, not bool"),
                                            ("2e5", "within ±1e5")])
def test_a_reward_that_is_not_a_finite_number_exits_2(sim_run, tmp_path, capsys, returned,
                                                      rule):
    """As in the simulator: a reward is a real number, finite and within ±1e5."""
    bad = tmp_path / "bad.py"
    bad.write_text(f"def reward_function(params):\n    return {returned}\n")
    assert main(["analyze", str(sim_run), "--reward", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "--reward: reward_function returned" in err and rule in err
    assert "internal error" not in err


def test_a_printing_reward_keeps_json_whole(layouts, tmp_path, capsys):
    """Reward functions print (params, debugging): their lines go to stderr, `--json` on stdout
    stays one document. On a real DRfC simtrace of reinvent_base."""
    import json

    loud = tmp_path / "loud.py"
    loud.write_text("print('loading my reward')\n"
                    "def reward_function(params):\n"
                    "    print('progress', params['progress'])\n"
                    "    return 1.0\n")
    assert main(["analyze", str(layouts["drfc-single"]), "--world", "reinvent_base",
                 "--reward", str(loud), "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert len(data["rescored"]) == len(data["episodes"]) > 0
    assert "loading my reward" in err and "progress " in err
