"""The generated files, read back the way DRfC and the simulator read them."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest

from drtui.catalog.algorithms import HYPERPARAMETERS
from drtui.files import envfile, render
from drtui.session.model import Session
from drtui.session.starter import starter
from drtui.session.validate import problems_in

# DRfC's bin/activate.sh loads env files like this: comment lines dropped, the rest split on
# whitespace, key and value cut at '=', then `eval "export KEY=VALUE"`.
BASH_LOADER = r"""
set -u
LINES=$(grep -v '^#' "$1")
for l in $LINES; do
  env_var=$(echo $l | cut -f1 -d\=)
  env_val=$(echo $l | cut -f2 -d\=)
  eval "export $env_var=$env_val"
done
env -0
"""


def bash_env(path: Path) -> dict[str, str]:
    out = subprocess.run(["bash", "-c", BASH_LOADER, "loader", str(path)], capture_output=True,
                         check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    pairs = [item.split("=", 1) for item in out.decode().split("\0") if "=" in item]
    return {k: v for k, v in pairs if k.startswith("DR_")}


def session_from(data) -> Session:
    session, found = problems_in(data)
    assert found == [], found
    return session


@pytest.fixture
def multi_worker_session(starter_data) -> Session:
    data = copy.deepcopy(starter_data)
    data["training"]["workers"] = 3
    data["race"]["type"] = "OBJECT_AVOIDANCE"
    data["race"]["object_avoidance"]["object_positions"] = [
        {"progress": 0.23, "lane": -1}, {"progress": 0.46, "lane": 1}]
    data["workers"] = [{"worker": 2, "track": {"world": "reinvent_base"},
                        "race": {"type": "HEAD_TO_BOT",
                                 "head_to_bot": {"number_of_bot_cars": 2,
                                                 "bot_car_speed": 0.5}},
                        "car_color": "Blue"}]
    return session_from(data)


def test_hyperparameters_json_has_every_key_with_its_type():
    hp = json.loads(render.hyperparameters_json(starter("m")))
    assert set(hp) == set(HYPERPARAMETERS)
    for key, value in hp.items():
        assert type(value) is HYPERPARAMETERS[key].type, key


def test_model_metadata_matches_drfc_default(data_dir):
    """A session equal to DRfC's default model renders DRfC's default model_metadata.json."""
    expected = json.loads((data_dir / "drfc/model_metadata.json").read_text())
    s = starter("m")
    s = s.model_copy(update={"action_space": s.action_space.model_validate({
        "type": "discrete", "actions": expected["action_space"]})})
    assert json.loads(render.model_metadata_json(s)) == expected


def test_continuous_sac_metadata(data_dir):
    expected = json.loads((data_dir / "model_metadata/sac-continuous-stereo-v5.json").read_text())
    s = starter("m", "time_trial", "sac")
    data = s.model_dump()
    data["car"]["sensors"] = ["STEREO_CAMERAS"]
    data["action_space"] = {"type": "continuous", "steering_angle": {"low": -30.0, "high": 30.0},
                            "speed": {"low": 0.5, "high": 2.0}}
    assert json.loads(render.model_metadata_json(Session.model_validate(data))) == expected


def test_env_files_load_in_bash_exactly_as_written(tmp_path, multi_worker_session):
    files = render.render(multi_worker_session)
    for name in ("run.env", "system.env"):
        path = tmp_path / name
        path.write_text(files[name])
        loaded = bash_env(path)
        written = envfile.read_env(files[name])
        assert loaded == written, name
    assert bash_env(tmp_path / "run.env")["DR_OA_OBJECT_POSITIONS"] == "0.23,-1;0.46,1"


def test_env_files_follow_drfc_line_rules(multi_worker_session):
    files = render.render(multi_worker_session)
    for name, text in files.items():
        if not name.endswith(".env"):
            continue
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            assert line.count("=") == 1 and " " not in line and "\t" not in line, line
            if name.startswith("worker-"):
                assert line and "$" not in line and "#" not in line, line


def test_worker_files_parse_like_prepare_config(multi_worker_session):
    files = render.render(multi_worker_session)
    assert sorted(n for n in files if n.startswith("worker-")) == ["worker-2.env", "worker-3.env"]
    w2 = envfile.read_worker_env(files["worker-2.env"])
    assert w2["DR_WORLD_NAME"] == "reinvent_base"
    assert w2["DR_RACE_TYPE"] == "HEAD_TO_BOT"
    assert w2["DR_CAR_COLOR"] == "Blue"
    assert w2["DR_H2B_NUMBER_OF_BOT_CARS"] == "2"
    assert w2["DR_H2B_BOT_CAR_SPEED"] == "0.5"
    # worker 3 has no override: it repeats worker 1's settings
    w3 = envfile.read_worker_env(files["worker-3.env"])
    assert w3["DR_WORLD_NAME"] == "reInvent2019_track"
    assert w3["DR_RACE_TYPE"] == "OBJECT_AVOIDANCE"
    assert w3["DR_OA_OBJECT_POSITIONS"].replace('"', "") == "0.23,-1;0.46,1"
    run = envfile.read_env(files["run.env"])
    assert run["DR_TRAIN_MULTI_CONFIG"] == "True"
    assert envfile.read_env(files["system.env"])["DR_WORKERS"] == "3"


def test_no_worker_files_without_overrides():
    s = starter("m")
    s = s.model_copy(update={"training": s.training.model_copy(update={"workers": 4})})
    files = render.render(s)
    assert not [n for n in files if n.startswith("worker-")]
    assert envfile.read_env(files["run.env"])["DR_TRAIN_MULTI_CONFIG"] == "False"


def test_run_env_covers_drfc_template_keys(data_dir):
    """Every key of DRfC's run.env and worker template is written (plus a few more)."""
    ours = envfile.read_env(render.render(starter("m"))["run.env"])
    template = envfile.read_env((data_dir / "drfc/template-run.env").read_text())
    assert set(template) - set(ours) == set()
    sys_template = envfile.read_env((data_dir / "drfc/template-system.env").read_text())
    sys_ours = envfile.read_env(render.render(starter("m"))["system.env"])
    assert set(sys_template) - set(sys_ours) == set()


def test_worker_file_covers_template_keys(data_dir, multi_worker_session):
    template = envfile.read_worker_env((data_dir / "drfc/template-worker.env").read_text())
    ours = envfile.read_worker_env(render.render(multi_worker_session)["worker-2.env"])
    assert set(template) - set(ours) == set()


def test_env_guard_refuses_unsafe_values_even_past_the_model():
    with pytest.raises(ValueError, match="reaches a DRfC env file"):
        envfile.format_line("DR_CAR_NAME", "x; rm -rf ~")
    with pytest.raises(ValueError, match="upper-case"):
        envfile.format_line("dr car", "x")
    assert envfile.format_line("DR_X", True) == "DR_X=True"
    assert envfile.format_line("DR_X", 0.05) == "DR_X=0.05"


def test_invalid_session_is_not_rendered(starter_data):
    from drtui.errors import InvalidInput

    data = copy.deepcopy(starter_data)
    data["car"]["sensors"] = ["LIDAR"]
    session = Session.model_validate(data)  # parses; the cross-section rule fails
    with pytest.raises(InvalidInput) as exc:
        render.render(session)
    assert "exactly one camera is required" in str(exc.value)


def test_write_is_drfc_layout(tmp_path):
    written = render.write(render.render(starter("m")), tmp_path)
    rel = sorted(str(p.relative_to(tmp_path)) for p in written)
    assert rel == ["custom_files/hyperparameters.json", "custom_files/model_metadata.json",
                   "custom_files/reward_function.py", "run.env", "system.env"]


def test_reward_file_is_read_relative_to_session(tmp_path, starter_data):
    (tmp_path / "my_reward.py").write_text("def reward_function(params):\n    return 1.0\n")
    data = copy.deepcopy(starter_data)
    data["reward"] = {"file": "my_reward.py"}
    files = render.render(session_from(data), base_dir=tmp_path)
    assert files["reward_function.py"].endswith("return 1.0\n")
