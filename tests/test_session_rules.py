"""Every session rule, with the message a user sees for each refused case."""

from __future__ import annotations

import copy

import pytest

from drtui.session.validate import problems_in


def problems(data):
    session, found = problems_in(data)
    out: dict[str, str] = {}
    for p in found:
        out[p.path] = f"{out[p.path]} | {p.message}" if p.path in out else p.message
    return out


def with_changes(base, **paths):
    data = copy.deepcopy(base)
    for dotted, value in paths.items():
        keys = dotted.split("__")
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return data


def test_starter_session_is_valid(starter_data):
    session, found = problems_in(starter_data)
    assert found == []
    assert session.track.world == "reInvent2019_track"
    assert session.car.sensors == ["FRONT_FACING_CAMERA"]
    assert session.training.algorithm == "clipped_ppo"
    assert session.reward.template == "centerline"
    assert session.backend.runner == "embedded"


def test_unknown_key_is_rejected_with_its_path(starter_data):
    data = with_changes(starter_data, training__wokers=3)
    assert problems(data) == {"training.wokers": "unknown key (not part of the session schema)"}


def test_wrong_type_is_rejected_with_path_and_rule(starter_data):
    data = with_changes(starter_data, training__workers="4")
    found = problems(data)
    assert list(found) == ["training.workers"]
    assert found["training.workers"] == "must be a whole number (got text '4')"


def test_missing_model_name_is_reported(starter_data):
    del starter_data["model"]["name"]
    assert problems(starter_data) == {"model.name": "required key is missing"}


@pytest.mark.parametrize("name", ["", "a" * 65, "my model", "model_1", "naïve", "x=1", "a$b"])
def test_model_name_rule(starter_data, name):
    msg = problems(with_changes(starter_data, model__name=name))["model.name"]
    assert msg.startswith("must be 1-64 characters of A-Z, a-z, 0-9 and '-'")


@pytest.mark.parametrize("name", ["a", "A-1", "x" * 64])
def test_model_name_accepted(starter_data, name):
    assert problems(with_changes(starter_data, model__name=name)) == {}


@pytest.mark.parametrize("value", ["Fast Car", "a=b", "x$HOME", "two\nlines", "q'uote", "a;b",
                                   "`id`", "a#b", "glob*"])
def test_env_values_cannot_break_or_inject_into_env_files(starter_data, value):
    found = problems(with_changes(starter_data, car__name=value))
    assert "car.name" in found
    assert "it reaches a DRfC env file" in found["car.name"]


@pytest.mark.parametrize("sensors,expected", [
    (["LIDAR", "SECTOR_LIDAR"], "exactly one camera is required"),
    (["LIDAR", "SECTOR_LIDAR", "FRONT_FACING_CAMERA"],
     "at most one lidar is allowed; LIDAR and SECTOR_LIDAR are 2 lidars"),
    (["STEREO_CAMERAS", "FRONT_FACING_CAMERA"],
     "exactly one camera is allowed; STEREO_CAMERAS and FRONT_FACING_CAMERA are 2 cameras"),
    (["SECTOR_LIDAR"], "exactly one camera is required"),
    ([], "exactly one camera is required"),
    (["FRONT_FACING_CAMERA", "RADAR"], "unknown sensor 'RADAR'"),
])
def test_refused_sensor_combinations(starter_data, sensors, expected):
    found = problems(with_changes(starter_data, car__sensors=sensors))
    assert expected in found["car.sensors"]


@pytest.mark.parametrize("sensors", [["SECTOR_LIDAR", "FRONT_FACING_CAMERA"], ["STEREO_CAMERAS"],
                                     ["LEFT_CAMERA", "LIDAR"], ["FRONT_FACING_CAMERA"]])
def test_accepted_sensor_combinations(starter_data, sensors):
    assert problems(with_changes(starter_data, car__sensors=sensors)) == {}


def test_sensor_rules_each_get_a_message(starter_data):
    from drtui.session.validate import problems_in

    _, found = problems_in(with_changes(
        starter_data, car__sensors=["STEREO_CAMERAS", "LEFT_CAMERA", "LIDAR", "SECTOR_LIDAR"]))
    messages = [p.message for p in found if p.path == "car.sensors"]
    assert len(messages) == 2  # one for the cameras, one for the lidars


def test_sac_needs_continuous_actions(starter_data):
    found = problems(with_changes(starter_data, training__algorithm="sac"))
    assert found["action_space.type"].startswith("sac needs a continuous action space")


def test_sac_with_continuous_actions_is_valid(starter_data):
    data = with_changes(starter_data, training__algorithm="sac", action_space={
        "type": "continuous", "steering_angle": {"low": -30.0, "high": 30.0},
        "speed": {"low": 0.5, "high": 2.0}})
    data["hyperparameters"]["num_episodes_between_training"] = 1
    assert problems(data) == {}


@pytest.mark.parametrize("speed,msg", [(4.5, "must be at most 4"),
                                       (0.05, "must be at least 0.1")])
def test_discrete_speed_limits(starter_data, speed, msg):
    data = with_changes(starter_data, action_space={
        "type": "discrete", "actions": [{"steering_angle": 0.0, "speed": speed},
                                        {"steering_angle": 10.0, "speed": 1.0}]})
    found = problems(data)
    assert msg in found["action_space.actions[0].speed"]


def test_discrete_steering_limit(starter_data):
    data = with_changes(starter_data, action_space={
        "type": "discrete", "actions": [{"steering_angle": -31.0, "speed": 1.0},
                                        {"steering_angle": 10.0, "speed": 1.0}]})
    assert "must be at least -30" in problems(data)["action_space.actions[0].steering_angle"]


@pytest.mark.parametrize("count", [1, 31])
def test_discrete_action_count(starter_data, count):
    actions = [{"steering_angle": 0.0, "speed": 1.0}] * count
    found = problems(with_changes(starter_data, action_space={"type": "discrete",
                                                              "actions": actions}))
    assert found["action_space"] == f"a discrete action space has 2..30 actions (got {count})"


def test_continuous_low_must_be_below_high(starter_data):
    data = with_changes(starter_data, action_space={
        "type": "continuous", "steering_angle": {"low": -30.0, "high": 30.0},
        "speed": {"low": 2.0, "high": 1.0}})
    assert problems(data)["action_space.speed"] == "low (2) must be less than high (1)"


def test_continuous_ranges_within_simulator_limits(starter_data):
    data = with_changes(starter_data, action_space={
        "type": "continuous", "steering_angle": {"low": -40.0, "high": 30.0},
        "speed": {"low": 0.5, "high": 5.0}})
    assert "steering_angle range must lie within -30..30" in problems(data)["action_space"]


def test_generator_produces_levels(starter_data):
    from drtui.session.actions import Generator

    actions = Generator(steering_levels=3, max_steering=20.0, speed_levels=2,
                        min_speed=1.0, max_speed=3.0).actions()
    assert [(a.steering_angle, a.speed) for a in actions] == [
        (-20.0, 1.0), (-20.0, 3.0), (0.0, 1.0), (0.0, 3.0), (20.0, 1.0), (20.0, 3.0)]


def test_generator_refuses_too_many_actions(starter_data):
    data = with_changes(starter_data, action_space={
        "type": "discrete", "generator": {"steering_levels": 15, "speed_levels": 3}})
    assert "45 actions; DeepRacer allows 2..30" in problems(data)["action_space.generator"]


@pytest.mark.parametrize("key,value,msg", [
    ("lr", 0.5, "must be within 1e-08 .. 0.001 (got 0.5)"),
    ("discount_factor", 1.5, "must be within 0 .. 1 (got 1.5)"),
    ("batch_size", 100, "must be one of 32, 64, 128, 256, 512"),
    ("num_epochs", 0, "must be within 1 .. 100 (got 0)"),
    ("loss_type", "l1", "must be one of huber, mean squared error"),
    ("batch_size", 64.5, "must be a whole number"),
])
def test_hyperparameters_within_range(starter_data, key, value, msg):
    data = copy.deepcopy(starter_data)
    data["hyperparameters"][key] = value
    found = problems(data)
    assert msg in found[f"hyperparameters.{key}"]


def test_ppo_refuses_additive_noise_but_sac_accepts_it(starter_data):
    data = copy.deepcopy(starter_data)
    data["hyperparameters"]["exploration_type"] = "additive_noise"
    assert "categorical or e-greedy for clipped_ppo" in problems(data)[
        "hyperparameters.exploration_type"]
    data = with_changes(data, training__algorithm="sac", action_space={
        "type": "continuous", "steering_angle": {"low": -30.0, "high": 30.0},
        "speed": {"low": 0.5, "high": 2.0}})
    assert problems(data) == {}


def test_every_broken_rule_gets_its_own_message(starter_data):
    data = copy.deepcopy(starter_data)
    data["hyperparameters"]["lr"] = 0.5
    data["hyperparameters"]["discount_factor"] = 2.0
    data["model"]["name"] = "bad name"
    data["training"]["workers"] = 0
    found = problems(data)
    assert set(found) == {"hyperparameters.lr", "hyperparameters.discount_factor",
                          "model.name", "training.workers"}


def test_research_architecture_needs_embedded_trainer(starter_data):
    data = with_changes(starter_data, network__architecture="RESNET")
    assert problems(data) == {}
    data = with_changes(data, backend={"provider": "local", "runner": "drfc"})
    msg = problems(data)["network.architecture"]
    assert "RESNET is a research architecture" in msg and "'drfc'" in msg


def test_unknown_network_and_track(starter_data):
    data = with_changes(starter_data, network__architecture="BIG_CNN", track__world="Mars")
    found = problems(data)
    assert found["network.architecture"].startswith("unknown network 'BIG_CNN'")
    assert found["track.world"].startswith("unknown track 'Mars'")


def test_reward_sources_are_exclusive(starter_data):
    data = with_changes(starter_data, reward={"template": "centerline", "code": "x"})
    assert problems(data)["reward"] == ("set exactly one of template, file or code "
                                        "(got template, code)")


def test_reward_template_params_are_validated(starter_data):
    data = with_changes(starter_data, reward={"template": "centerline",
                                              "params": {"no_such_param": 1.0}})
    assert any(k.startswith("reward.params.no_such_param") for k in problems(data))
    data = with_changes(starter_data, reward={"template": "nope"})
    assert "reward.template" in problems(data)


def test_backend_runner_must_fit_provider(starter_data):
    data = with_changes(starter_data, backend={"provider": "deepracer-on-aws", "runner": "drfc"})
    found = problems(data)
    assert found["backend.runner"] == ("provider 'deepracer-on-aws' runs deepracer-on-aws, "
                                       "not 'drfc'")
    assert "API URL" in found["backend.deepracer_on_aws.api_url"]


def test_backend_settings_refuse_credentials(starter_data):
    data = with_changes(starter_data, backend={
        "provider": "aws-ec2", "runner": "embedded",
        "aws_ec2": {"ami": "AKIAIOSFODNN7EXAMPLE"}})
    assert "looks like a credential" in problems(data)["backend.aws_ec2.ami"]


def test_sac_single_worker_and_worker_overrides(starter_data):
    data = copy.deepcopy(starter_data)
    data["training"]["workers"] = 2
    data["workers"] = [{"worker": 3, "track": {"world": "reinvent_base"}},
                       {"worker": 2}, {"worker": 2}]
    found = problems(data)
    assert found["workers[worker=3].worker"] == "worker 3 does not exist: training.workers is 2"
    assert found["workers"] == "worker 2 is configured more than once"


def test_validate_prints_worker_key_paths_as_written(starter_data, tmp_path, capsys):
    """`drtui validate` prints each key path verbatim: workers[worker=3] is not rich markup."""
    import tomli_w

    from drtui.cli import main

    data = copy.deepcopy(starter_data)
    data["workers"] = [{"worker": 3, "track": {"world": "nope"}}]
    path = tmp_path / "s.toml"
    path.write_bytes(tomli_w.dumps(data).encode())
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "workers[worker=3].track.world: unknown track 'nope'" in err
    assert "workers[worker=3].worker: worker 3 does not exist" in err


def test_lidar_config_rules(starter_data):
    data = with_changes(starter_data, car__lidar_config={"num_sectors": 6})
    found = problems(data)
    assert "must divide the lidar's 64 beams" in found["car.lidar_config.num_sectors"]
    data = with_changes(starter_data, car__lidar_config={"num_sectors": 8})
    assert problems(data)["car.lidar_config"] == \
        "only applies with the DISCRETIZED_SECTOR_LIDAR sensor"


def test_schema_version_is_checked(starter_data):
    data = with_changes(starter_data, schema_version=99)
    assert problems(data)["schema_version"] == "this drtui reads schema_version 1; got 99"


def test_deepracer_on_aws_rules_are_checked_before_launch(starter_data):
    data = copy.deepcopy(starter_data)
    data["backend"] = {"provider": "deepracer-on-aws", "runner": "deepracer-on-aws",
                       "deepracer_on_aws": {"api_url": "https://example.invalid/prod"}}
    data["network"] = {"architecture": "DEEP_CONVOLUTIONAL_NETWORK"}
    data["training"]["time_limit_minutes"] = 5
    data["race"]["type"] = "HEAD_TO_BOT"
    found = {p.path: p.message for p in problems_in(data)[1]}
    assert "DeepRacer on AWS always trains" in found["network.architecture"]
    assert "10 to 1440 minutes (got 5)" in found["training.time_limit_minutes"]
    assert "TIME_TRIAL or OBJECT_AVOIDANCE" in found["race.type"]
    data["network"] = {"architecture": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"}
    data["training"]["time_limit_minutes"] = 60
    data["race"]["type"] = "TIME_TRIAL"
    assert problems_in(data)[1] == []
