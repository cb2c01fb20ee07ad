"""The one check of a session (drtui.session.check): `validate`, `generate`, `run` and the
studio's draft report the same problems, the reward run on sample params of the session's own
track included, and every broken rule is reported whatever else is broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drtui.cli import main
from drtui.screens.draft import Draft
from drtui.session import check
from drtui.session.starter import starter
from drtui.session.store import save, to_data

KEY_ERROR = "def reward_function(params):\n    x = 1\n    return params['nope']\n"
RETURNS_NONE = "def reward_function(params):\n    if params['speed'] > 99:\n        return 1.0\n"
SYNTAX = "def reward_function(params):\n    return (1.0\n"


def validate(path: Path, capsys) -> tuple[int, dict]:
    code = main(["validate", str(path), "--json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def session_file(tmp_path: Path, name: str = "m", **reward) -> Path:
    data = to_data(starter(name))
    data["reward"] = reward or {"template": "centerline"}
    path = tmp_path / f"{name}.toml"
    import tomli_w

    path.write_text(tomli_w.dumps(data))
    return path


@pytest.mark.parametrize("code, expected", [
    (SYNTAX, "line 2: SyntaxError: '(' was never closed"),
    (KEY_ERROR, "line 3: KeyError: 'nope' at sample 0 (run on sample params of "
                "reInvent2019_track)"),
    (RETURNS_NONE, "reward_function returned NoneType at sample 0; it must return a number "
                   "(bool is not a number) (run on sample params of reInvent2019_track)"),
])
def test_validate_exits_2_for_a_reward_that_cannot_run(tmp_path, capsys, code, expected):
    path = session_file(tmp_path, code=code)
    status, out = validate(path, capsys)
    assert status == 2 and out["valid"] is False
    assert out["problems"] == [{"path": "reward.code", "message": expected,
                                "severity": "error"}]


def test_the_studio_reports_what_validate_reports(tmp_path, capsys):
    path = session_file(tmp_path, code=KEY_ERROR)
    _, out = validate(path, capsys)
    draft = Draft(to_data(starter("m")) | {"reward": {"code": KEY_ERROR}}, path)
    key, session, base = draft.pending_reward_check()
    draft.reward_result = (key, check.reward_report(session, base))
    assert [p.as_dict() for p in draft.problems()] == out["problems"]
    assert draft.pending_reward_check() is None  # one run per edit
    draft.set("reward.code", "def reward_function(params):\n    return 1.0\n")
    assert draft.pending_reward_check() is not None and draft.problems() == []


def test_a_raising_reward_file_is_refused_by_generate_and_run(tmp_path, capsys):
    (tmp_path / "reward_function.py").write_text(KEY_ERROR)
    path = session_file(tmp_path, file="reward_function.py")
    assert main(["generate", str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "reward.file: line 3: KeyError: 'nope'" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    workspace = tmp_path / "ws"
    assert main(["--workspace", str(workspace), "run", str(path), "--detach"]) == 2
    assert "reward.file: line 3: KeyError" in capsys.readouterr().err
    assert not list(workspace.glob("runs/*"))  # refused before a run folder is made


@pytest.mark.parametrize("make, expected", [
    (lambda d: None, "no such file (a path relative to the session file)"),
    (lambda d: (d / "reward_function.py").write_text(" \n"),
     "is empty; it must define reward_function(params)"),
    (lambda d: (d / "reward_function.py").mkdir(), "is a folder; name the reward_function.py "
                                                    "inside it"),
    (lambda d: (d / "reward_function.py").write_bytes(b"\xff\xfe x"), "is not UTF-8 text"),
])
def test_an_unreadable_reward_file_is_named(tmp_path, capsys, make, expected):
    make(tmp_path)
    status, out = validate(session_file(tmp_path, file="reward_function.py"), capsys)
    assert status == 2
    assert out["problems"] == [{"path": "reward.file",
                                "message": f"reward_function.py: {expected}",
                                "severity": "error"}]


def test_an_unknown_world_is_refused_by_validate(tmp_path, capsys):
    path = session_file(tmp_path)
    text = path.read_text()
    data = to_data(starter("m"))
    data["track"]["world"] = "Nowhere_track"
    import tomli_w

    path.write_text(tomli_w.dumps(data))
    status, out = validate(path, capsys)
    assert status == 2
    assert [p["path"] for p in out["problems"]] == ["track.world"]
    assert out["problems"][0]["message"].startswith("unknown track 'Nowhere_track'")
    assert text  # the starter itself was valid
    status, _ = validate(session_file(tmp_path, "ok"), capsys)
    assert status == 0


def test_droa_rules_come_from_validate_too(tmp_path, capsys):
    data = to_data(starter("m"))
    data["backend"] = {"provider": "deepracer-on-aws", "runner": "deepracer-on-aws",
                       "deepracer_on_aws": {"api_url": "https://example.invalid/api"}}
    data["training"]["time_limit_minutes"] = 5
    import tomli_w

    path = tmp_path / "droa.toml"
    path.write_text(tomli_w.dumps(data))
    status, out = validate(path, capsys)
    assert status == 2
    assert {"path": "training.time_limit_minutes",
            "message": "DeepRacer on AWS trains 10 to 1440 minutes (got 5)",
            "severity": "error"} in out["problems"]


def test_an_invalid_name_hides_no_other_rule(tmp_path, capsys):
    data = to_data(starter("m"))
    data["model"]["name"] = "not a name!"
    data["car"]["sensors"] = ["LIDAR", "SECTOR_LIDAR"]
    data["training"]["seed"] = 2**40
    import tomli_w

    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(data))
    status, out = validate(path, capsys)
    paths = [p["path"] for p in out["problems"]]
    assert status == 2
    assert "model.name" in paths and "car.sensors" in paths and "training.seed" in paths


def test_a_reward_is_checked_even_when_an_unrelated_key_is_broken(tmp_path, capsys):
    data = to_data(starter("m"))
    data["model"]["name"] = "not a name!"
    data["reward"] = {"code": KEY_ERROR}
    import tomli_w

    path = tmp_path / "bad.toml"
    path.write_text(tomli_w.dumps(data))
    _, out = validate(path, capsys)
    assert sorted(p["path"] for p in out["problems"]) == ["model.name", "reward.code"]


def test_warnings_are_shown_and_do_not_fail(tmp_path, capsys):
    """A real DRfC model with 62 discrete actions: simapp trains it, drtui warns."""
    corpus = Path(__file__).parent / "data" / "import_corpus" / "ctspeedsters-4-workers"
    path = tmp_path / "imported.toml"
    assert main(["import", str(corpus), "-o", str(path)]) == 0
    capsys.readouterr()
    status, out = validate(path, capsys)
    assert status == 0 and out["valid"] is True
    warned = [p for p in out["problems"] if p["path"] == "action_space"]
    assert warned and warned[0]["severity"] == "warning"
    assert "62 discrete actions" in warned[0]["message"]
    assert all(p["severity"] == "warning" for p in out["problems"])
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert "warning action_space: 62 discrete actions" in err and "problem" not in err
    assert main(["generate", str(path), "-o", str(tmp_path / "out")]) == 0
    assert "warning action_space" in capsys.readouterr().err


def test_the_reward_runs_on_the_sessions_own_track_and_race(tmp_path):
    session = starter("m", "object_avoidance")
    world, samples, warning = check.session_samples(session)
    assert world == session.track.world and warning is None
    assert all(len(p["objects_location"]) == session.race.object_avoidance.number_of_obstacles
               for p in samples)
    report = check.reward_report(session.model_copy(update={"reward": session.reward}))
    assert report.problems == [] and report.summary.startswith(
        f"ran on 32 sample positions of {world}: reward ")


def test_save_keeps_the_check_in_the_session_file(tmp_path):
    path = tmp_path / "s.toml"
    save(starter("m"), path)
    session, problems = check.load(path)
    assert session.model.name == "m" and problems == []


def test_run_minutes_and_iterations_change_this_run_only_and_say_so(tmp_path, capsys):
    from drtui.backends import launch

    path = session_file(tmp_path)
    before = path.read_bytes()
    assert main(["run", str(path), "--minutes", "0", "--detach"]) == 2
    assert "training.time_limit_minutes: must be at least 1 (got 0)" in capsys.readouterr().err
    # what `drtui run --minutes 2 --iterations 3` checks and writes, without training
    import argparse

    from drtui.cli import _run_changes

    changes = _run_changes(path, argparse.Namespace(minutes=2, iterations=3))
    err = capsys.readouterr().err
    assert "for this run: training.time_limit_minutes: 60 -> 2" in err
    assert "for this run: hyperparameters.term_cond_max_episodes: 1000 -> 3" in err
    run = launch.create_run(tmp_path / "ws", path, changes=changes)
    from drtui.session.store import load

    session = load(run.session_path)
    assert session.training.time_limit_minutes == 2
    assert session.hyperparameters.term_cond_max_episodes == 3
    assert path.read_bytes() == before
    assert main(["run", "--resume", run.id, "--minutes", "5"]) == 2
