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
