"""`drtui export RUN --car`, `drtui export DRFC_MODEL_FOLDER --car` and `drtui evaluate --model`
on real runs (trained in this process, tiny settings as in test_train_cli) and on a DRfC model
folder (tests/data/drfc_model): the archive's graph, loaded with OpenVINO, gives the run's
checkpoint's outputs on simulator frames; the folder's archive holds the chosen model_N.pb byte
for byte; evaluation with the car file drives the run's track as the checkpoint does."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("openvino")

from test_export_car import built, rendered_inputs  # noqa: E402
from test_train_cli import cli  # noqa: E402  (main() with --workspace, and what it printed)
from tiny_session import tiny_session  # noqa: E402
from train_helpers import train_in_process  # noqa: E402

from drtui.files import render  # noqa: E402
from drtui.runstore import store  # noqa: E402
from drtui.train import car_export, car_graph  # noqa: E402

DRFC_MODEL = Path(__file__).parent.parent / "data" / "drfc_model"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run (camera + lidar, 48x36 internal camera) trained for one iteration."""
    workspace = tmp_path_factory.mktemp("ws")
    s = tiny_session("car-cli", 1)
    run = store.create(workspace, s, render.render(s), provider="local", runner="embedded")
    train_in_process(run.path)
    return workspace, store.load(run.path)


def test_export_car_from_a_run_gives_the_checkpoints_policy(trained, capsys, tmp_path):
    from drtui.train.car_model import CarModel
    from drtui.train.checkpoint import load_policy

    workspace, run = trained
    code, out, err = cli(capsys, workspace, "export", run.id, "--car", "-o", tmp_path,
                         "--checkpoint", "last", "--json")
    assert code == 0, err
    data = json.loads(out)
    path = Path(data["file"])
    assert path == tmp_path / "car-cli.tar.gz" and data["source"] == run.id
    assert data["verified_with"].startswith("openvino") and data["max_abs_diff"] <= 1e-4
    assert data["inputs"] == {
        "main_level/agent/main/online/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA":
            [-1, 120, 160, 1],
        "main_level/agent/main/online/network_0/LIDAR/LIDAR": [-1, 64]}
    assert data["output"] == "main_level/agent/main/online/network_1/ppo_head_0/policy"
    assert data["resize"] == "bilinear (half-pixel centres)"  # 160x120 -> 48x36

    pb, metadata = car_export.read_archive(path)
    trained_with = run.path / "files" / "custom_files" / "model_metadata.json"
    assert metadata == json.loads(trained_with.read_text())
    model = CarModel.from_graph(pb)
    policy, payload = load_policy(run.path, "last")
    assert data["checkpoint"] == payload["name"]
    observed = rendered_inputs(["FRONT_FACING_CAMERA", "LIDAR"], n=200)
    feeds = {name: observed[name.rsplit("/", 1)[-1]] for name in data["inputs"]}
    got = model.run(feeds)
    graph = car_graph.car_graph(policy.net, payload["build"])
    expected = car_graph.torch_outputs(policy.net, graph, feeds)
    assert np.abs(got - expected).max() <= 1e-4
    assert (got.argmax(-1) == expected.argmax(-1)).all()


def test_export_car_summary_and_a_file_name(trained, capsys, tmp_path):
    workspace, run = trained
    target = tmp_path / "mine.tar.gz"
    code, out, err = cli(capsys, workspace, "export", run.id, "--car", "-o", target,
                         "--checkpoint", "last")
    assert code == 0, err
    assert target.is_file()
    assert "for the DeepRacer car" in out and "✓ checked with openvino" in out
    assert "LIDAR/LIDAR [-1, 64]" in out


def test_export_car_takes_the_best_checkpoint_by_default(trained, capsys, tmp_path):
    from drtui.train.checkpoint import load

    workspace, run = trained
    code, out, err = cli(capsys, workspace, "export", run.id, "--car", "-o", tmp_path, "--json")
    assert code == 0, err
    assert json.loads(out)["checkpoint"] == load(run.path, "best")["name"]
    code, _out, err = cli(capsys, workspace, "export", "no-such-run", "--car", "-o", tmp_path)
    assert code == 2 and "no-such-run" in err


def test_evaluate_with_the_car_file(trained, capsys, tmp_path):
    workspace, run = trained
    cli(capsys, workspace, "export", run.id, "--car", "-o", tmp_path, "--checkpoint", "last")
    code, out, err = cli(capsys, workspace, "evaluate", run.id, "--checkpoint", "last",
                         "--laps", 2, "--model", tmp_path / "car-cli.tar.gz", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["model"] == str(tmp_path / "car-cli.tar.gz") and data["checkpoint"] is None
    assert len(data["trials"]) == 2 and all(t["progress"] > 0 for t in data["trials"])
    assert json.loads(Path(data["metrics"]).read_text())["metrics"][0]["trial"] == 1


def test_evaluate_with_a_car_file_for_other_sensors_is_refused(trained, capsys, tmp_path):
    workspace, run = trained
    net, build = built("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "clipped_ppo",
                       ["FRONT_FACING_CAMERA"], (80, 60), __import__(
                           "drtui.train.networks.spec", fromlist=["discrete"]).discrete(5))
    path = tmp_path / "camera-only.tar.gz"
    path.write_bytes(car_export.archive_bytes(car_graph.car_graph(net, build).data,
                                              (DRFC_MODEL / "model" / "model_metadata.json")
                                              .read_text()))
    code, _out, err = cli(capsys, workspace, "evaluate", run.id, "--checkpoint", "last",
                          "--model", path)
    assert code == 2
    assert "reads FRONT_FACING_CAMERA" in err and "FRONT_FACING_CAMERA, LIDAR" in err
    code, _out, err = cli(capsys, workspace, "evaluate", run.id, "--checkpoint", "last",
                          "--model", tmp_path / "missing.tar.gz")
    assert code == 2 and "no such file" in err


# --- a DRfC model folder ---------------------------------------------------------------------

@pytest.mark.parametrize("which,number", [("best", 2), ("last", 5)])
def test_export_car_from_a_drfc_folder_copies_the_chosen_pb(capsys, tmp_path, which, number):
    out = tmp_path / "out"
    code, stdout, err = cli(capsys, tmp_path, "export", DRFC_MODEL, "--car", "-o", out,
                            "--checkpoint", which, "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["source"] == str(DRFC_MODEL) and data["checkpoint"].startswith(f"{number}_Step")
    pb, metadata = car_export.read_archive(out / "drfc_model.tar.gz")
    assert pb == (DRFC_MODEL / "model" / f"model_{number}.pb").read_bytes()
    assert metadata == json.loads((DRFC_MODEL / "model" / "model_metadata.json").read_text())
    assert data["output"] == "main_level/agent/main/online/network_1/ppo_head_0/policy"
    assert data["notes"] == []
    assert data["verified_with"] == f"copied from model_{number}.pb; converts with openvino " \
        f"{__import__('openvino').get_version().split('-')[0]}"


def test_a_drfc_folder_missing_the_chosen_pb_is_refused(capsys, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(DRFC_MODEL, folder)
    os.remove(folder / "model" / "model_5.pb")
    code, _out, err = cli(capsys, tmp_path, "export", folder, "--car", "-o", tmp_path,
                          "--checkpoint", "last")
    assert code == 2 and "has no model_5.pb (present: model_2.pb)" in err
    (folder / "model" / "model_2.pb").write_bytes(b"\xff\xff not a graph")
    code, _out, err = cli(capsys, tmp_path, "export", folder, "--car", "-o", tmp_path)
    assert code == 2 and "not a TensorFlow GraphDef" in err


def test_the_drfc_car_archive_converts_with_openvino_to_tensorflows_outputs(capsys, tmp_path):
    """The archive of a TF-written model.pb, loaded as the car loads it, gives TF's own outputs
    (outputs.npz, written with TensorFlow by make_fixture.py)."""
    from drtui.train.car_model import CarModel

    code, _out, err = cli(capsys, tmp_path, "export", DRFC_MODEL, "--car", "-o", tmp_path,
                          "--checkpoint", "last")
    assert code == 0, err
    model = CarModel.from_file(tmp_path / "drfc_model.tar.gz")
    reference = np.load(DRFC_MODEL / "outputs.npz")
    name = "main_level/agent/main/online/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA"
    assert model.input_shapes() == {name: [-1, 120, 160, 1]}
    got = model.run({name: reference["frames"].astype(np.float32)})
    np.testing.assert_allclose(got, reference["model_5"], atol=1e-5)
    assert not np.allclose(got, reference["model_2"], atol=1e-3)  # the last one, not the best


@pytest.mark.slow  # a camera policy that laps: the teacher warm start takes ~100 s on 2 cores
def test_the_car_file_drives_the_laps_its_checkpoint_drives(tmp_path, capsys):
    """A camera run warm-started by the privileged teacher (it laps reinvent_base after one
    iteration), exported for the car and evaluated with the car file: the camera is rendered at
    the car's 160x120 and averaged 2x2 inside the graph to the trainer's 80x60, yet every trial
    ends as the checkpoint's does, progress within 1 point."""
    s = tiny_session("lapper", 1)
    s.car.sensors = ["FRONT_FACING_CAMERA"]
    run = store.create(tmp_path, s, render.render(s), provider="local", runner="embedded")
    train_in_process(run.path, DRTUI_CAMERA_SIZE="80x60", DRTUI_TEACHER="on")
    code, _out, err = cli(capsys, tmp_path, "export", run.id, "--car", "-o", tmp_path / "car",
                          "--checkpoint", "last")
    assert code == 0, err
    results = []
    for extra in ((), ("--model", tmp_path / "car" / "lapper.tar.gz")):
        code, out, err = cli(capsys, tmp_path, "evaluate", run.id, "--checkpoint", "last",
                             "--laps", 2, "--json", *extra)
        assert code == 0, err
        results.append(json.loads(out))
    checkpoint, car = results
    assert checkpoint["laps_completed"] >= 1  # a policy that drives, or the test shows nothing
    assert car["laps_completed"] == checkpoint["laps_completed"]
    for a, b in zip(checkpoint["trials"], car["trials"]):
        assert a["status"] == b["status"]
        assert abs(a["progress"] - b["progress"]) <= 1.0


@pytest.fixture(scope="module")
def trained_160(tmp_path_factory):
    """A tiny run at DeepRacer's own 160x120 camera (what DRfC feeds), camera + lidar."""
    workspace = tmp_path_factory.mktemp("ws160")
    s = tiny_session("drfc-cli", 1)
    run = store.create(workspace, s, render.render(s), provider="local", runner="embedded")
    train_in_process(run.path, DRTUI_CAMERA_SIZE="160x120")
    return workspace, store.load(run.path)


def test_export_drfc_refuses_a_run_at_another_camera_size(trained, capsys, tmp_path):
    workspace, run = trained
    code, _out, err = cli(capsys, workspace, "export", run.id, "--drfc", "-o", tmp_path,
                          "--checkpoint", "last")
    assert code == 2 and "camera is 48x36" in err and "DRTUI_CAMERA_SIZE=160x120" in err


def test_export_drfc_from_a_run_reads_back_as_its_policy(trained_160, capsys, tmp_path):
    """`drtui export RUN --drfc`: a DRfC model prefix whose checkpoint drtui's DRfC reader maps
    back onto the run's network with the run's exact policy outputs."""
    from drtui.train import tf_checkpoint as tc
    from drtui.train.checkpoint import build_policy_net, load_policy
    from drtui.train.networks import factory

    workspace, run = trained_160
    code, out, err = cli(capsys, workspace, "export", run.id, "--drfc", "-o", tmp_path / "pre",
                         "--checkpoint", "last", "--json")
    assert code == 0, err
    data = json.loads(out)
    model = tmp_path / "pre" / "model"
    name = data["checkpoint"]
    assert (model / ".coach_checkpoint").read_text() == name
    index = json.loads((model / "deepracer_checkpoints.json").read_text())
    assert index["last_checkpoint"]["name"] == index["best_checkpoint"]["name"] == name
    for f in ("model_metadata.json", "reward_function.py", "hyperparameters.json"):
        assert (tmp_path / "pre" / f).read_bytes() == \
            (run.path / "files" / "custom_files" / f).read_bytes()
    policy, payload = load_policy(run.path, "last")
    bundle = tc.TensorBundle(tc.resolve_prefix(tmp_path / "pre", "last"))
    assert int(bundle.read("global_step")) == payload["total_steps"]
    fresh = build_policy_net(payload["build"]).eval()
    mapped = tc.map_policy(tc.load_policy(bundle), fresh)
    fresh.load_state_dict({**fresh.state_dict(), **mapped.tensors})
    obs = factory.example_obs({k: tuple(v) for k, v in payload["build"]["obs_spec"].items()}, 8)
    with torch.no_grad():
        torch.testing.assert_close(fresh(obs).logits, policy.net(obs).logits, rtol=0, atol=0)
    code, _out, err = cli(capsys, workspace, "export", run.id, "--drfc", "--car", "-o", tmp_path)
    assert code == 2 and "choose one" in err


def test_export_droa_is_what_droa_import_uploads(trained_160, capsys, tmp_path):
    """`drtui export RUN --droa`: the folder `drtui droa import` collects without a complaint,
    with the checkpoint's three files, training_params.yaml of the run's track, and a .meta graph
    that declares every variable of the checkpoint."""
    import yaml

    from drtui.backends.droa_cli import collect
    from drtui.train import tf_checkpoint as tc

    workspace, run = trained_160
    code, out, err = cli(capsys, workspace, "export", run.id, "--droa", "-o", tmp_path / "imp",
                         "--checkpoint", "last", "--json")
    assert code == 0, err
    name = json.loads(out)["checkpoint"]
    files = collect(tmp_path / "imp")
    assert {f"model/{name}.index", f"model/{name}.data-00000-of-00001", f"model/{name}.meta",
            "model/.coach_checkpoint", "training_params.yaml", "model_metadata.json",
            "reward_function.py", "ip/hyperparameters.json"} <= set(files)
    params = yaml.safe_load(files["training_params.yaml"])
    assert params["WORLD_NAME"] == "reinvent_base" and params["JOB_TYPE"] == "TRAINING"
    from tensorboard.compat.proto import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    meta.ParseFromString((tmp_path / "imp" / "model" / f"{name}.meta").read_bytes())
    bundle = tc.TensorBundle(tmp_path / "imp" / "model" / name)
    declared = {n.name: [d.size for d in n.attr["shape"].shape.dim] for n in meta.graph_def.node}
    assert declared == {n: list(bundle.entries[n].shape) for n in bundle.names()}


async def test_the_runs_screen_writes_the_car_file(trained, monkeypatch):
    """ctrl+k on the runs screen: the same archive as `drtui export RUN --car`."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "tui"))
    from tui_helpers import make_app, settle

    workspace, run = trained
    app = make_app(workspace)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "RunsScreen"
        await pilot.press("ctrl+k")
        await settle(app, pilot)
        titles = [n.title for n in app._notifications]
        assert f"✓ Car file of {run.id}" in titles, [(n.title, n.message) for n in
                                                       app._notifications]
    archive = workspace / "exports" / run.id / "car-cli.tar.gz"
    pb, metadata = car_export.read_archive(archive)
    assert pb and metadata["action_space_type"]
