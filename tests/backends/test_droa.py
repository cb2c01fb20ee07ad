"""The DeepRacer on AWS runner and model import, against a local DRoA REST API that checks
SigV4 signatures with botocore (droa_server.py) and, for imports, S3 on a moto server.
The training metrics the API serves are the real ones of a DRfC run (tests/data)."""

from __future__ import annotations

import json
import secrets
import statistics
from pathlib import Path

import pytest
from droa_server import PRESIGN_TOKEN, DroaServer

from drtui.events import EpisodeEnd, EvaluationEnd, IterationEnd, Status

DATA = Path(__file__).parent.parent / "data"
METRICS = json.loads((DATA / "logs" / "drfc-3workers-TrainingMetrics.json").read_text())["metrics"]
KEY = "AKIDDROATEST0000001"
SECRET = "droa-test-secret-" + secrets.token_hex(8)
TOKEN = "droa-test-session-token-" + secrets.token_hex(8)


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """This test's credentials only: no user config, no instance metadata lookups."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    return monkeypatch


@pytest.fixture
def server(aws_env):
    srv = DroaServer(credentials={KEY: (SECRET, TOKEN)}, metrics=METRICS, per_poll=40).start()
    yield srv
    srv.stop()


def _session_file(tmp_path: Path, starter_data: dict, url: str, **changes) -> Path:
    from drtui.session.model import Session
    from drtui.session.store import save

    data = starter_data
    data["model"]["name"] = "droa-model"
    data["training"]["time_limit_minutes"] = 30
    data["backend"] = {"provider": "deepracer-on-aws", "runner": "deepracer-on-aws",
                       "deepracer_on_aws": {"api_url": url, "region": "us-east-1",
                                            "poll_seconds": 0.05}}
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path = tmp_path / "droa.toml"
    save(Session.model_validate(data), path)
    return path


def _new_run(tmp_path, starter_data, url, **changes):
    from drtui.backends import launch

    return launch.create_run(tmp_path, _session_file(tmp_path, starter_data, url, **changes))


async def _events(run, *, until=None) -> list:
    """The run's events, to the end or up to the first event `until` accepts."""
    import asyncio

    from drtui.backends import launch

    out = []
    stream = launch.events(run, poll=0.02, emit_steps=False)
    try:
        async with asyncio.timeout(240):  # a hang fails the test instead of stalling CI
            async for event in stream:
                out.append(event)
                if until is not None and until(event):
                    break
    finally:
        await stream.aclose()
    return out


def _training_blocks(metrics: list[dict]) -> list[list[dict]]:
    """Training episodes grouped by iteration: each block ends where evaluation starts."""
    blocks, current, last_phase = [], [], None
    for m in metrics:
        if m["phase"] == "training":
            current.append(m)
        elif last_phase == "training":
            blocks.append(current)
            current = []
        last_phase = m["phase"]
    return blocks


def _assert_no_secret(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (SECRET, TOKEN, PRESIGN_TOKEN):
                assert secret.encode() not in data, f"{secret[:12]}... written to {path}"


# -- CreateModel -------------------------------------------------------------------------------

async def test_launch_sends_the_session_as_create_model(tmp_path, starter_data, server, aws_env):
    """Credentials from a named profile; every CreateModel field from the session's files."""
    from drtui.backends import launch

    creds = tmp_path / "aws-credentials"
    creds.write_text(f"[droa]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"
                     f"aws_session_token = {TOKEN}\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        aws_env.delenv(name)
    aws_env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    run = _new_run(tmp_path, starter_data, server.url,
                   **{"backend.deepracer_on_aws.profile": "droa", "car.color": "Blue"})
    await launch.start(run)

    method, path, body = server.requests[0]
    assert (method, path) == ("POST", "/models")
    d = body["modelDefinition"]
    files = run.path / "files" / "custom_files"
    meta = json.loads((files / "model_metadata.json").read_text())
    hp = json.loads((files / "hyperparameters.json").read_text())
    assert run.state["droa_model_id"] in server.jobs
    assert d["name"] == "droa-model"
    assert d["carCustomization"] == {"carColor": "BLUE", "carShell": "DEEPRACER"}
    assert d["trainingConfig"] == {
        "trackConfig": {"trackId": "reInvent2019_track", "trackDirection": "COUNTER_CLOCKWISE"},
        "maxTimeInMinutes": 30, "raceType": "TIME_TRIAL", "minEvalTrials": 5}
    m = d["metadata"]
    assert m["agentAlgorithm"] == "PPO"
    assert m["rewardFunction"] == (files / "reward_function.py").read_text()
    assert m["sensors"] == {"camera": "FRONT_FACING_CAMERA"}
    assert m["actionSpace"] == {"discrete": [
        {"speed": a["speed"], "steeringAngle": a["steering_angle"]} for a in meta["action_space"]]}
    assert len(m["actionSpace"]["discrete"]) == 10
    for key in ("batch_size", "num_epochs", "lr", "discount_factor", "beta_entropy",
                "num_episodes_between_training", "exploration_type", "stack_size"):
        assert m["hyperparameters"][key] == hp[key], key
    assert m["hyperparameters"]["loss_type"] == "huber"
    # DRoA's description allows letters, digits, '-' and spaces only
    assert d["description"] == ("Gentle steering at modest speed learns to follow the centre "
                                "line fast")
    _assert_no_secret(run.path)


def test_create_model_continuous_sac_lidar_object_avoidance(starter_data):
    from drtui.backends.droa import model_definition
    from drtui.files import render
    from drtui.session.model import Session

    data = starter_data
    data["training"].update(algorithm="sac", time_limit_minutes=120)
    data["hyperparameters"].update(num_episodes_between_training=1, loss_type="mean squared error")
    data["action_space"] = {"type": "continuous", "steering_angle": {"low": -20.0, "high": 20.0},
                            "speed": {"low": 0.5, "high": 3.5}}
    data["network"]["architecture"] = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
    data["car"]["sensors"] = ["STEREO_CAMERAS", "SECTOR_LIDAR"]
    data["track"] = {"world": "2022_reinvent_champ_cw", "reverse": False}
    data["race"]["type"] = "OBJECT_AVOIDANCE"
    data["race"]["object_avoidance"]["object_positions"] = [
        {"progress": 0.2, "lane": -1}, {"progress": 0.5, "lane": 1}]
    session = Session.model_validate(data)
    d = model_definition(session, render.render(session))
    assert d["trainingConfig"]["trackConfig"] == {"trackId": "2022_reinvent_champ",
                                                  "trackDirection": "CLOCKWISE"}
    assert d["trainingConfig"]["raceType"] == "OBJECT_AVOIDANCE"
    assert d["trainingConfig"]["objectAvoidanceConfig"] == {
        "numberOfObjects": 2, "objectPositions": [{"laneNumber": -1, "trackPercentage": 0.2},
                                                  {"laneNumber": 1, "trackPercentage": 0.5}]}
    assert d["trainingConfig"]["maxTimeInMinutes"] == 120
    m = d["metadata"]
    assert m["agentAlgorithm"] == "SAC"
    assert m["actionSpace"] == {"continous": {"lowSpeed": 0.5, "highSpeed": 3.5,
                                              "lowSteeringAngle": -20.0, "highSteeringAngle": 20.0}}
    assert m["sensors"] == {"camera": "STEREO_CAMERAS", "lidar": "SECTOR_LIDAR"}
    assert m["hyperparameters"]["loss_type"] == "mean_squared_error"


def test_sessions_droa_cannot_train_are_refused_with_each_reason(starter_data):
    from drtui.backends.droa import model_definition
    from drtui.errors import InvalidInput
    from drtui.files import render
    from drtui.session.model import Session

    data = starter_data
    data["training"]["time_limit_minutes"] = 5
    data["network"]["architecture"] = "DEEP_CONVOLUTIONAL_NETWORK"
    data["race"]["type"] = "HEAD_TO_BOT"
    data["track"]["world"] = "Straight_track"
    data["hyperparameters"]["num_epochs"] = 12
    session = Session.model_validate(data)
    with pytest.raises(InvalidInput) as err:
        model_definition(session, render.render(session, check=False))
    paths = {p.path: p.message for p in err.value.problems}
    assert set(paths) == {"training.time_limit_minutes", "network.architecture", "race.type",
                          "track.world", "hyperparameters.num_epochs"}
    assert "10 to 1440 minutes" in paths["training.time_limit_minutes"]
    assert "not offered by DeepRacer on AWS" in paths["track.world"]


# -- following ---------------------------------------------------------------------------------

async def test_follow_turns_status_and_metrics_into_events(tmp_path, starter_data, server):
    from drtui.backends import launch

    run = _new_run(tmp_path, starter_data, server.url)
    await launch.start(run)
    server.fail_next.append((429, "Too Many Requests"))  # throttled once: polling goes on
    events = await _events(run)

    training = [m for m in METRICS if m["phase"] == "training"]
    ends = [e for e in events if isinstance(e, EpisodeEnd) and e.phase == "training"]
    assert [(e.episode, e.reward, e.progress) for e in ends] == \
        [(m["episode"], m["reward_score"], m["completion_percentage"]) for m in training]
    assert ends[0].status == "off_track" and ends[0].time_s == pytest.approx(1.991)
    blocks = _training_blocks(METRICS)
    iterations = [e for e in events if isinstance(e, IterationEnd)]
    assert len(iterations) == len(blocks) > 3
    for it, block in zip(iterations, blocks):
        assert it.episodes == len(block)
        assert it.mean_reward == pytest.approx(statistics.fmean(m["reward_score"] for m in block))
        assert it.mean_progress == pytest.approx(
            statistics.fmean(m["completion_percentage"] for m in block))
    first_eval = [m["completion_percentage"] for m in METRICS[10:16]]
    evals = [e for e in events if isinstance(e, EvaluationEnd)]
    assert evals[0].episodes == first_eval and len(evals) == len(blocks)
    states = [e.state for e in events if isinstance(e, Status)]
    assert states[:3] == ["starting", "starting", "running"] and states[-2:] == ["finished"] * 2
    assert ("GET", f"/models/{run.state['droa_model_id']}", 429) in server.rejected

    run.reload()
    assert run.status == "finished" and run.state["iteration"] == len(blocks)
    saved = json.loads((run.path / "metrics" / "TrainingMetrics.json").read_text())
    assert saved["metrics"] == METRICS
    recorded = [json.loads(line) for line in run.events_path.read_text().splitlines()]
    assert sum(r["event"] == "EpisodeEnd" and r["phase"] == "training" for r in recorded) == \
        len(training)
    _assert_no_secret(run.path)

    # the Runner interface's own follow: the log's lines from the saved offset, then the end
    from drtui.backends.droa import DroaHost, DroaRunner

    run.update(log_offset=0)
    lines = [line async for line in DroaRunner().follow(run, DroaHost(), poll=0.02)]
    assert lines == run.log_path.read_text().splitlines()


async def test_reattach_and_a_second_follower_write_and_emit_nothing_twice(
        tmp_path, starter_data, server):
    import asyncio

    from drtui.backends import launch
    from drtui.backends.droa import DroaRunner
    from drtui.runstore import store

    run = _new_run(tmp_path, starter_data, server.url)
    await launch.start(run)
    first = await _events(run, until=lambda e: isinstance(e, IterationEnd))
    assert sum(isinstance(e, EpisodeEnd) and e.phase == "training" for e in first) == 10

    # drtui restarts: a fresh runner and run object; meanwhile another follower polls too
    other = DroaRunner()
    rest, _ = await asyncio.gather(_events(store.load(run.path)),
                                   _poll_until_done(other, store.load(run.path)))
    expected = [m["episode"] for m in METRICS if m["phase"] == "training"]
    seen = [e.episode for e in first if isinstance(e, EpisodeEnd) and e.phase == "training"]
    again = [e.episode for e in rest if isinstance(e, EpisodeEnd) and e.phase == "training"]
    # the reattached follower goes on after the last line the first one consumed (the rest of
    # that batch is in events.jsonl): nothing repeated, the run's end reached
    assert again and not set(seen) & set(again) and again == expected[-len(again):]
    indices = [json.loads(line.split(" ", 1)[1])["n"] for line in
               run.log_path.read_text().splitlines() if line.startswith("DROA_METRIC ")]
    assert indices == list(range(len(METRICS)))
    recorded = [json.loads(line) for line in run.events_path.read_text().splitlines()]
    assert [r["episode"] for r in recorded if r["event"] == "EpisodeEnd"
            and r["phase"] == "training"] == expected


async def _poll_until_done(runner, run) -> None:
    import asyncio

    while await runner.poll(run):
        await asyncio.sleep(0.02)


async def test_stop_patches_the_model_and_ends_stopped(tmp_path, starter_data, server):
    from drtui.backends import launch

    run = _new_run(tmp_path, starter_data, server.url)
    await launch.start(run)
    model_id = run.state["droa_model_id"]
    # INITIALIZING: DRoA refuses to stop yet, so stop asks again once the job runs
    await _events(run, until=lambda e: isinstance(e, Status) and e.state == "starting"
                  and "INITIALIZING" in e.message)
    await launch.stop(run, grace=120)
    patches = [r for r in server.requests if r[0] == "PATCH"]
    assert patches == [("PATCH", f"/models/{model_id}", None)] * 2  # refused, then accepted
    assert ("PATCH", f"/models/{model_id}", 400) in server.rejected
    assert run.reload().status == "stopped"
    rest = await _events(run)
    assert [e.state for e in rest if isinstance(e, Status)][-2:] == ["stopped", "stopped"]
    served = server.jobs[model_id].served
    assert served < len(METRICS)
    assert run.log_path.read_text().count("DROA_METRIC ") == served


async def test_a_model_deleted_in_droa_ends_the_run_failed(tmp_path, starter_data, server):
    from drtui.backends import launch

    run = _new_run(tmp_path, starter_data, server.url)
    await launch.start(run)
    server.jobs.clear()
    events = await _events(run)
    assert [e.state for e in events if isinstance(e, Status)] == ["failed", "failed"]
    assert "no longer exists" in run.reload().state["error"] and run.status == "failed"


def test_bad_credentials_are_refused_with_a_clear_error(tmp_path, starter_data, server,
                                                        aws_env, capsys):
    import asyncio

    from drtui.backends import launch
    from drtui.cli import main

    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    path = _session_file(tmp_path, starter_data, server.url)
    assert main(["--workspace", str(tmp_path), "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not authorised" in err and "signature we calculated does not match" in err
    assert "Traceback" not in err
    assert server.rejected == [("POST", "/models", 403)] and not server.jobs

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        aws_env.delenv(name)
    run = launch.create_run(tmp_path, path)
    from drtui.backends.droa_client import DroaAuthError

    with pytest.raises(DroaAuthError, match="not authorised: no AWS credentials found"):
        asyncio.run(launch.start(run))
    assert run.reload().status == "failed"


async def test_client_errors_name_the_cause(server):
    from drtui.backends.droa_client import (
        DroaBadRequest,
        DroaClient,
        DroaConnectionError,
        DroaNotFound,
        DroaThrottled,
        Endpoint,
    )

    client = DroaClient(Endpoint(server.url, "us-east-1"))
    with pytest.raises(DroaNotFound, match="not found: GET /models/AAAAAAAAAAAAAAA: Model not"):
        await client.get_model("AAAAAAAAAAAAAAA")
    server.fail_next.append((429, "Too Many Requests"))
    with pytest.raises(DroaThrottled, match="throttled or over quota"):
        await client.get_model("AAAAAAAAAAAAAAA")
    server.fail_next.append((400, "Total compute minutes for the month exceeded."))
    with pytest.raises(DroaBadRequest, match="compute minutes for the month exceeded"):
        await client.create_model({"name": "x"})
    port = server.url.rsplit(":", 1)[1]
    server.stop()
    with pytest.raises(DroaConnectionError, match=f"cannot reach DeepRacer on AWS at .*{port}"):
        await DroaClient(Endpoint(server.url, "us-east-1")).get_model("AAAAAAAAAAAAAAA")
    server.start()  # the fixture stops it again


def test_parser_reads_droa_lines():
    from drtui.logs.parser import parse_lines

    lines = [
        'DROA_STATUS {"state": "running", "status": "TRAINING", "trainingStatus": "IN_PROGRESS"}',
        'DROA_METRIC {"n": 0, "phase": "training", "episode": 1, "reward_score": 30, '
        '"completion_percentage": 100, "elapsed_time_in_milliseconds": 9000, '
        '"episode_status": "Lap complete"}',
        'DROA_METRIC {"n": 1, "phase": "evaluation", "episode": 1, "reward_score": 5, '
        '"completion_percentage": 40, "elapsed_time_in_milliseconds": 3000, '
        '"episode_status": "Off track"}',
        "DROA_METRIC {not json",
        'DROA_STATUS {"state": "finished", "status": "READY", "trainingStatus": "COMPLETED"}',
    ]
    events = [e for e in parse_lines(lines) if not type(e).__name__ == "LogLine"]
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Status", "EpisodeEnd", "IterationEnd", "EpisodeEnd", "EvaluationEnd",
                     "Status"]
    assert events[0].state == "running" and "IN_PROGRESS" in events[0].message
    assert events[1].complete and events[1].status == "lap_complete"
    assert events[2].iteration == 1 and events[2].completion_rate == 1.0
    assert events[4].mean_progress == 40 and events[4].success_rate == 0.0
    assert events[5].state == "finished"


# -- import ------------------------------------------------------------------------------------

@pytest.fixture
def s3(aws_env):
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    url = f"http://{host}:{port}"
    aws_env.setenv("AWS_ENDPOINT_URL_S3", url)  # boto3 sends S3 calls there
    import boto3

    client = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
    client.create_bucket(Bucket="droa-uploads")
    yield url, client
    moto.stop()


def _drfc_model_folder(root: Path) -> Path:
    """A model prefix as DRfC leaves it in its bucket (checkpoint bytes are opaque)."""
    folder = root / "rl-deepracer-sagemaker"
    model = folder / "model"
    model.mkdir(parents=True)
    for step in ("9_Step-2511", "10_Step-3011"):
        for suffix in (".ckpt.index", ".ckpt.meta", ".ckpt.data-00000-of-00001"):
            (model / f"{step}{suffix}").write_bytes(secrets.token_bytes(64))
    (model / "model_9.pb").write_bytes(b"pb9")
    (model / "model_10.pb").write_bytes(b"pb10")
    (model / "deepracer_checkpoints.json").write_text(json.dumps({
        "last_checkpoint": {"name": "10_Step-3011.ckpt"},
        "best_checkpoint": {"name": "9_Step-2511.ckpt"}}))
    meta = (DATA / "drfc" / "model_metadata.json").read_text()
    (model / "model_metadata.json").write_text(meta)
    (folder / "ip").mkdir()
    (folder / "ip" / "hyperparameters.json").write_text(
        (DATA / "drfc" / "hyperparameters.json").read_text())
    (folder / "reward_function.py").write_text("def reward_function(params):\n    return 1.0\n")
    (folder / "training_params_1.yaml").write_text(
        "AWS_REGION: us-east-1\nJOB_TYPE: TRAINING\nWORLD_NAME: reInvent2019_wide_cw\n"
        "RACE_TYPE: TIME_TRIAL\nBODY_SHELL_TYPE: deepracer\nCAR_COLOR: Red\n")
    (folder / "metrics").mkdir()
    (folder / "metrics" / "TrainingMetrics.json").write_text(json.dumps({"metrics": METRICS[:5]}))
    (folder / "model.tar.gz").write_bytes(b"skipped")
    return folder


def test_import_uploads_in_droa_layout_and_waits_until_ready(tmp_path, server, s3, capsys):
    from drtui.cli import main

    url, client = s3
    server.s3_endpoint = url
    folder = _drfc_model_folder(tmp_path)
    code = main(["droa", "import", str(folder), "--name", "imported-1", "--api-url", server.url,
                 "--bucket", "droa-uploads", "--poll", "0.05", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["status"] == "READY" and out["modelId"] in server.jobs

    body = next(b for m, p, b in server.requests if p == "/importmodel")
    assert body == {"s3Bucket": "droa-uploads", "s3Path": out["s3Path"],
                    "modelName": "imported-1"}
    assert out["s3Path"].startswith("uploads/models/")
    listed = client.list_objects_v2(Bucket="droa-uploads", Prefix=out["s3Path"] + "/")
    keys = {o["Key"][len(out["s3Path"]) + 1:] for o in listed["Contents"]}
    last = {f"model/10_Step-3011{s}" for s in (".ckpt.index", ".ckpt.meta",
                                                ".ckpt.data-00000-of-00001")}
    assert keys == {"training_params.yaml", "model_metadata.json", "reward_function.py",
                    "ip/hyperparameters.json", "hyperparameters.json", "model/.coach_checkpoint",
                    "model/model_10.pb", "model/deepracer_checkpoints.json",
                    "model/model_metadata.json", "metrics/training/training-metrics.json"} | last

    def raw(key: str) -> bytes:
        obj = client.get_object(Bucket="droa-uploads", Key=f"{out['s3Path']}/{key}")
        return obj["Body"].read()

    def text(key: str) -> str:
        return raw(key).decode()

    import yaml

    params = yaml.safe_load(text("training_params.yaml"))
    assert params["WORLD_NAME"] == "reInvent2019_wide" and params["TRACK_DIRECTION_CLOCKWISE"]
    assert text("model/.coach_checkpoint") == "10_Step-3011.ckpt"
    for key in last:
        assert raw(key) == (folder / key).read_bytes()
    assert text("model_metadata.json") == (DATA / "drfc" / "model_metadata.json").read_text()


def test_import_refuses_a_folder_without_a_tensorflow_checkpoint(tmp_path, server, s3, capsys):
    from drtui.cli import main

    folder = _drfc_model_folder(tmp_path)
    for p in (folder / "model").glob("10_Step-3011.ckpt.*"):
        p.unlink()
    (folder / "reward_function.py").unlink()
    code = main(["droa", "import", str(folder), "--name", "x-1", "--api-url", server.url,
                 "--bucket", "droa-uploads"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no reward_function.py" in err and "10_Step-3011.ckpt.index" in err
    assert "torch checkpoints" in err and not server.requests
    assert main(["droa", "import", str(folder), "--name", "bad name!"]) == 2
    assert "--api-url" in capsys.readouterr().err
