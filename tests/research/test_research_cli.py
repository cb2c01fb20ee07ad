"""`drtui method` sets research methods in a session file (checked, atomic, nothing saved on
a broken rule); `drtui research continual` compares the continual-learning methods."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from research_helpers import tiny_session  # noqa: E402

from drtui.cli import main  # noqa: E402
from drtui.session import store  # noqa: E402


@pytest.fixture
def session_file(tmp_path):
    path = tmp_path / "s.toml"
    store.save(tiny_session("cli-test"), path)
    return path


def test_method_sets_and_clears_research_tables(session_file):
    assert main(["method", str(session_file), "randomization", "strength=0.3",
                 "latency_steps=2", "lighting=false"]) == 0
    r = store.load(session_file).research.randomization
    assert (r.enabled, r.strength, r.latency_steps, r.lighting) == (True, 0.3, 2, False)
    assert main(["method", str(session_file), "curriculum", "stage=reinvent_base:1.5",
                 "stage=reInvent2019_track", "promote_iterations=3"]) == 0
    c = store.load(session_file).research.curriculum
    assert [(s.world, s.max_speed) for s in c.stages] == [("reinvent_base", 1.5),
                                                          ("reInvent2019_track", None)]
    assert c.promote_iterations == 3
    assert main(["method", str(session_file), "transfer", "from_run=runs/x"]) == 0
    assert store.load(session_file).research.active() == ["randomization", "transfer",
                                                          "curriculum"]
    assert main(["method", str(session_file), "off"]) == 0
    assert "research" not in session_file.read_text()


def test_a_broken_rule_names_its_key_and_saves_nothing(session_file, capsys):
    before = session_file.read_bytes()
    assert main(["method", str(session_file), "randomization", "strength=2", "colour=1"]) == 2
    err = capsys.readouterr().err
    assert "research.randomization.strength" in err and "research.randomization.colour" in err
    assert main(["method", str(session_file), "curriculum", "stage=nowhere"]) == 2
    assert "research.curriculum.stages[0].world" in capsys.readouterr().err
    assert main(["method", str(session_file), "randomization", "strength"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert session_file.read_bytes() == before


def test_research_methods_are_refused_on_other_runners(session_file, capsys):
    data = store.read_data(session_file)
    data["backend"] = {"runner": "drfc"}
    data["network"] = {"architecture": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"}
    session_file.write_text(__import__("tomli_w").dumps(data))
    assert main(["method", str(session_file), "randomization"]) == 2
    assert "only run on drtui's embedded trainer" in capsys.readouterr().err


def test_multitask_and_curriculum_do_not_mix(session_file, capsys):
    assert main(["method", str(session_file), "multitask", "track=reInvent2019_wide"]) == 0
    assert store.load(session_file).training.workers == 2
    assert main(["method", str(session_file), "curriculum", "stage=reinvent_base"]) == 2
    assert "training.workers = 1" in capsys.readouterr().err


def test_research_continual_compares_three_methods(session_file, capsys):
    assert main(["research", "continual", str(session_file), "--iterations", "1",
                 "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == ["fine-tune", "ewc", "replay"]
    before = {r["progress_first_before"] for r in rows}
    assert len(before) == 1  # every method starts from the same policy
    assert all(0.0 <= r["progress_first_after"] <= 100.0 for r in rows)
    # simapp's progress reads slightly negative for a car just behind its start line
    assert all(-100.0 < r["progress_second_after"] <= 100.0 and r["minutes"] > 0 for r in rows)
    assert {(r["first_track"], r["second_track"]) for r in rows} == {
        ("reinvent_base", "reInvent2019_wide")}


def test_research_options_out_of_range_are_refused_before_training(session_file, capsys):
    assert main(["research", "meta", str(session_file), "--tracks", " , "]) == 2
    assert "--tracks: give at least one training track" in capsys.readouterr().err
    assert main(["research", "meta", str(session_file), "--outer-steps", "-1",
                 "--adaptation", "-2", "--held-out", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--outer-steps: must be at least 0, got -1" in err
    assert "--adaptation: must be at least 0, got -2" in err and "no waypoints for 'nope'" in err
    assert main(["research", "continual", str(session_file), "--iterations", "0"]) == 2
    assert "--iterations: must be at least 1, got 0" in capsys.readouterr().err


def test_research_refuses_a_sac_session_before_training(tmp_path, capsys):
    """Reptile's weights and EWC's penalty are PPO's: a SAC session is refused, not crashed
    after minutes of training."""
    from drtui.session.validate import problems_in

    data = tiny_session("sac-research").model_dump(mode="json", exclude_none=True)
    data["training"]["algorithm"] = "sac"
    data["action_space"] = {"type": "continuous", "steering_angle": {"low": -30, "high": 30},
                            "speed": {"low": 0.5, "high": 1.0}}
    session, found = problems_in(data)
    assert session is not None and not found
    path = tmp_path / "sac.toml"
    store.save(session, path)
    for command in ("meta", "continual"):
        assert main(["research", command, str(path)]) == 2
        assert "training.algorithm: drtui research measures clipped_ppo policies" in \
            capsys.readouterr().err
