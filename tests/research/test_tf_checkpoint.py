"""Transfer from a DRfC-trained model's TensorFlow checkpoint (drtui/train/tf_checkpoint.py).

The checkpoints in tests/data/tf_checkpoint/ were written by real TensorFlow 2.15 with Coach's
variable names (make_fixture.py there), together with what TF's own checkpoint reader finds in
them (manifest.json) and TF's outputs for fixed images (outputs.npz). drtui reads them without
TensorFlow and must reproduce those outputs with its torch networks: all three DeepRacer
networks, the camera's dense layers applied at every position of the last conv map as Coach
does (deep_map: a 2x3 map, deep_deep: 1x2).
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from research_helpers import create_run, tiny_session  # noqa: E402

from drtui.session.research import Transfer  # noqa: E402
from drtui.train import tf_checkpoint as tfc  # noqa: E402
from drtui.train.networks import factory  # noqa: E402
from drtui.train.networks.spec import continuous  # noqa: E402
from drtui.train.transfer import TransferError, transfer_from_tf  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "tf_checkpoint"
SHALLOW, DEEP = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "DEEP_CONVOLUTIONAL_NETWORK"
DEEP_DEEP = "DEEP_CONVOLUTIONAL_NETWORK_DEEP"
GZIPPED = ("deep_map", "deep_deep")  # their data files are stored gzipped (README.md there)
CONTINUOUS = continuous((-30.0, 0.5), (30.0, 2.0))


def _outputs(name: str) -> dict[str, np.ndarray]:
    with np.load(DATA / name / "outputs.npz") as data:
        return dict(data)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """Fixture name -> a DRfC model folder: the gzipped ones unpacked into a temporary copy."""
    root = tmp_path_factory.mktemp("drfc")
    folders = {}
    for name in ("shallow", "deep", "sac", *GZIPPED):
        if name not in GZIPPED:
            folders[name] = DATA / name
            continue
        folders[name] = shutil.copytree(DATA / name, root / name)
        for packed in folders[name].glob("model/*.gz"):
            with gzip.open(packed) as src, open(packed.with_suffix(""), "wb") as dst:
                shutil.copyfileobj(src, dst)
            packed.unlink()
    return folders


def _images(out) -> torch.Tensor:
    """TF's NHWC uint8 images as drtui's (N, C, H, W) camera batch."""
    return torch.from_numpy(out["images"]).permute(0, 3, 1, 2).contiguous()


def _conv_maps(embedder, images: torch.Tensor) -> list[np.ndarray]:
    """Each conv layer's ReLU output, then each per-position dense layer's, NHWC like TF's."""
    maps, x = [], images.float() / 255.0
    for layer in embedder.net:
        if isinstance(layer, torch.nn.Flatten):
            break
        x = layer(x)
        if isinstance(layer, torch.nn.ReLU):
            maps.append(x.detach().permute(0, 2, 3, 1).numpy())
    return maps


@pytest.mark.parametrize("name", ["shallow", "deep", "deep_map", "deep_deep"])
def test_reader_finds_what_tensorflow_finds(name, models):
    manifest = json.loads((DATA / name / "manifest.json").read_text())
    bundle = tfc.TensorBundle(tfc.resolve_prefix(models[name]))
    assert bundle.names() == sorted(manifest)
    for tensor, want in manifest.items():
        value = bundle.read(tensor)
        assert list(value.shape) == want["shape"] and str(value.dtype) == want["dtype"], tensor
        assert np.ravel(value)[:3].tolist() == want["first"], tensor
        assert float(np.sum(value, dtype=np.float64)) == pytest.approx(want["sum"], rel=1e-9,
                                                                         abs=1e-9)


def test_shallow_policy_gives_tensorflows_outputs():
    out = _outputs("shallow")
    net = factory.build(SHALLOW, {"camera": (1, 44, 44)}, 5).eval()
    report = transfer_from_tf(net, DATA / "shallow", "best", SHALLOW)
    assert report.source == "DRfC model shallow (3_Step-1234.ckpt)"
    assert sorted({n.rsplit(".", 1)[0] for n in report.fresh}) == ["value_head"]
    assert len(report.copied) == 10  # 3 convs, the middleware, the policy head
    images = _images(out)
    for ours, theirs in zip(_conv_maps(net.encoder.embedders["camera"], images),
                            [out["conv0"], out["conv1"], out["conv2"]]):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert out["conv2"].shape[1:3] == (2, 2)  # a real (H, W, C) -> (C, H, W) reordering
    with torch.no_grad():
        logits = net({"camera": images}).logits
    np.testing.assert_allclose(logits.numpy(), out["logits"], atol=1e-5)
    np.testing.assert_allclose(logits.softmax(-1).numpy(), out["policy"], atol=1e-5)


def test_deep_continuous_policy_gives_tensorflows_outputs():
    out = _outputs("deep")
    net = factory.build(DEEP, {"camera": (1, 21, 21)}, CONTINUOUS).eval()
    report = transfer_from_tf(net, DATA / "deep", "last", DEEP)
    assert sorted({n.rsplit(".", 1)[0] for n in report.fresh}) == ["value_head"]
    with torch.no_grad():
        result = net({"camera": _images(out)})
    np.testing.assert_allclose(result.mean.numpy(), out["mean"], atol=1e-5)
    np.testing.assert_allclose(result.log_std[0].detach().numpy(), out["log_std"][0], atol=1e-6)


def test_deep_policy_with_a_2x3_conv_map_gives_tensorflows_outputs(models):
    """DEEP_CONVOLUTIONAL_NETWORK where Coach's Dense 64 acts at 6 positions: the per-position
    dense map, the middleware's (H, W, C) rows and the policy all match TF."""
    out = _outputs("deep_map")
    net = factory.build(DEEP, {"camera": (1, 25, 29)}, 5).eval()
    report = transfer_from_tf(net, models["deep_map"], "best", DEEP)
    assert sorted({n.rsplit(".", 1)[0] for n in report.fresh}) == ["value_head"]
    assert len(report.copied) == 14  # 4 convs, the dense layer, the middleware, the policy head
    camera = net.encoder.embedders["camera"]
    assert camera.map_shape == (64, 2, 3) and out["dense_last"].shape[1:] == (2, 3, 64)
    images = _images(out)
    maps = _conv_maps(camera, images)
    np.testing.assert_allclose(maps[3], out["conv_last"], atol=1e-5)
    np.testing.assert_allclose(maps[4], out["dense_last"], atol=1e-5)
    with torch.no_grad():
        logits = net({"camera": images}).logits
    np.testing.assert_allclose(logits.numpy(), out["logits"], atol=1e-5)
    np.testing.assert_allclose(logits.softmax(-1).numpy(), out["policy"], atol=1e-5)
    assert np.ptp(out["logits"], axis=0).min() > 1e-3  # the images tell apart: a real check


def test_deep_deep_continuous_policy_gives_tensorflows_outputs(models):
    out = _outputs("deep_deep")
    net = factory.build(DEEP_DEEP, {"camera": (1, 76, 92)}, CONTINUOUS).eval()
    report = transfer_from_tf(net, models["deep_deep"], "last", DEEP_DEEP)
    assert sorted({n.rsplit(".", 1)[0] for n in report.fresh}) == ["value_head"]
    assert len(report.copied) == 19  # 4 convs, 2 dense, 2 middleware, mean, log_std
    images = _images(out)
    maps = _conv_maps(net.encoder.embedders["camera"], images)
    assert [m.shape[1:] for m in maps[-3:]] == [(1, 2, 64), (1, 2, 512), (1, 2, 512)]
    np.testing.assert_allclose(maps[3], out["conv_last"], atol=1e-5)
    np.testing.assert_allclose(maps[5], out["dense_last"], atol=1e-5)
    with torch.no_grad():
        result = net({"camera": images})
    np.testing.assert_allclose(result.mean.numpy(), out["mean"], atol=1e-5)
    np.testing.assert_allclose(result.log_std[0].detach().numpy(), out["log_std"][0], atol=1e-6)
    assert np.ptp(out["mean"], axis=0).min() > 1e-3


def test_deep_at_another_camera_size_keeps_convs_and_dense_and_says_why_the_rest_is_fresh():
    out = _outputs("deep")
    net = factory.build(DEEP, {"camera": (1, 25, 29)}, CONTINUOUS).eval()  # last conv map 2x3
    report = transfer_from_tf(net, DATA / "deep", "best", DEEP)  # trained at 21x21: 1x1
    fresh = sorted({n.rsplit(".", 1)[0] for n in report.fresh})
    assert fresh == ["encoder.middleware.0", "value_head"]
    notes = " ".join(report.notes)
    assert "takes 64 inputs, at this session's camera size it would take 384" in notes
    assert "DRTUI_CAMERA_SIZE=160x120" in notes
    assert "log_std" in report.copied and "policy_head.weight" in report.copied
    assert "encoder.embedders.camera.net.8.weight" in report.copied  # the per-position dense
    camera = net.encoder.embedders["camera"]
    maps = _conv_maps(camera, _images(out))  # convs take any size
    for i, ours in enumerate(maps[:camera.n_convs]):
        np.testing.assert_allclose(ours, out[f"conv{i}"], atol=1e-5)
    assert "fresh: encoder.middleware.0, value_head" in report.line()


def test_nhwc_rows_are_reordered_for_torchs_flatten():
    rng = np.random.default_rng(0)
    feature_map = rng.normal(size=(3, 5, 4))  # H, W, C: nothing square
    kernel = rng.normal(size=(60, 7))  # TF dense kernel [in, out]
    tf_out = feature_map.reshape(-1) @ kernel  # TF flattens NHWC
    torch_in = feature_map.transpose(2, 0, 1).reshape(-1)  # torch flattens (C, H, W)
    np.testing.assert_allclose(torch_in @ tfc.nhwc_rows_to_nchw(kernel, 3, 5, 4), tf_out)


@pytest.mark.parametrize("network,camera,tf_camera", [
    (SHALLOW, (2, 44, 52), "STEREO_CAMERAS"), (DEEP, (1, 27, 31), "FRONT_FACING_CAMERA")])
def test_coach_concatenates_inputs_in_name_order_drtui_images_first(network, camera, tf_camera):
    """Camera + SECTOR_LIDAR: Coach's concatenation is (lidar, camera), drtui's (camera, lidar);
    the middleware's first layer must see the same numbers either way. A synthetic CoachPolicy
    made from a drtui network's own layers (no TF fixture with a lidar)."""
    net = factory.build(network, {"camera": camera, "lidar": (8,)}, 3)
    cam, lidar = net.encoder.embedders["camera"], net.encoder.embedders["lidar"]
    c, h, w = cam.map_shape
    assert h * w > 1
    rng = np.random.default_rng(1)

    def tf_layers(scope, module):
        layers = []
        for i, m in enumerate(m for m in module.net if isinstance(m, (torch.nn.Conv2d,
                                                                       torch.nn.Linear))):
            weight = m.weight.detach().numpy()
            conv = isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)
            kernel = weight.transpose(2, 3, 1, 0) if conv else weight.reshape(weight.shape[:2]).T
            layers.append(tfc.TFLayer(f"{scope}/{'Conv2d' if conv else 'Dense'}_{2 * i}",
                                      "conv" if conv else "dense", kernel,
                                      m.bias.detach().numpy()))
        return layers

    kernel = rng.normal(size=(256 + h * w * c, 512)).astype(np.float32)
    policy = tfc.CoachPolicy(
        "main_level/agent/main/online/network_1",
        {tf_camera: tf_layers(tf_camera, cam),
         "SECTOR_LIDAR": tf_layers("SECTOR_LIDAR", lidar)},
        [tfc.TFLayer("middleware_fc_embedder/Dense_0", "dense", kernel,
                     np.zeros(512, np.float32))],
        tfc.TFLayer("ppo_head_0/policy_fc", "dense", rng.normal(size=(512, 3)).astype(np.float32),
                    np.zeros(3, np.float32)))
    mapping = tfc.map_policy(policy, net)
    weight = mapping.tensors["encoder.middleware.0.weight"].numpy()
    camera_map = rng.normal(size=(h, w, c)).astype(np.float32)
    lidar_emb = rng.normal(size=256).astype(np.float32)
    tf_parts = {tf_camera: camera_map.reshape(-1), "SECTOR_LIDAR": lidar_emb}
    tf_in = np.concatenate([tf_parts[n] for n in sorted(tf_parts)])  # Coach: name order
    torch_in = np.concatenate([camera_map.transpose(2, 0, 1).reshape(-1), lidar_emb])
    np.testing.assert_allclose(weight @ torch_in, tf_in @ kernel, rtol=1e-4, atol=1e-3)
    assert "encoder.embedders.lidar.net.2.weight" in mapping.tensors


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(DATA / name, target)
    return target


def test_the_checkpoint_is_found_in_a_model_folder_its_model_dir_or_by_prefix(tmp_path):
    folder = _copy("shallow", tmp_path)
    prefix = folder / "model" / "3_Step-1234.ckpt"
    assert tfc.resolve_prefix(folder) == prefix
    assert tfc.resolve_prefix(folder / "model") == prefix
    assert tfc.resolve_prefix(prefix) == prefix
    for suffix in (".index", ".data-00000-of-00001"):  # a later checkpoint, as training goes on
        shutil.copy(f"{prefix}{suffix}", folder / "model" / f"5_Step-2000.ckpt{suffix}")
    later = folder / "model" / "5_Step-2000.ckpt"
    (folder / "model" / "deepracer_checkpoints.json").write_text(json.dumps(
        {"best_checkpoint": {"name": "3_Step-1234.ckpt"},
         "last_checkpoint": {"name": "5_Step-2000.ckpt"}}))
    assert tfc.resolve_prefix(folder, "best") == prefix
    assert tfc.resolve_prefix(folder, "last") == later
    (folder / "model" / "deepracer_checkpoints.json").unlink()
    assert tfc.resolve_prefix(folder, "best") == prefix  # .coach_checkpoint
    (folder / "model" / ".coach_checkpoint").unlink()
    assert tfc.resolve_prefix(folder) == later  # the highest-numbered


def test_wrong_network_or_damaged_files_are_clear_errors(tmp_path):
    field = "research.transfer.drfc_checkpoint"
    net = factory.build(SHALLOW, {"camera": (1, 44, 44)}, 5)
    with pytest.raises(TransferError, match=f"{field}: DRfC models use one of DeepRacer's"):
        transfer_from_tf(net, DATA / "shallow", "best", "RESNET")
    deep = factory.build(DEEP, {"camera": (1, 44, 44)}, 5)
    with pytest.raises(TransferError, match="trained with DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"):
        transfer_from_tf(deep, DATA / "shallow", "best", DEEP)
    folder = _copy("shallow", tmp_path)
    (folder / "model" / "model_metadata.json").unlink()  # only the layers tell the network
    with pytest.raises(TransferError, match="is not this session's network"):
        transfer_from_tf(deep, folder, "best", DEEP)
    with pytest.raises(TransferError, match="neither a DRfC model folder"):
        transfer_from_tf(net, tmp_path / "nothing-here", "best", SHALLOW)
    with pytest.raises(TransferError, match="is a SAC model: .* clipped PPO models only"):
        transfer_from_tf(net, DATA / "sac", "best", SHALLOW)
    with pytest.raises(TransferError, match="clipped_ppo training"):
        transfer_from_tf(factory.build("SAC_POLICY", {"camera": (1, 44, 44)}, CONTINUOUS),
                         DATA / "shallow", "best", SHALLOW)
    index = folder / "model" / "3_Step-1234.ckpt.index"
    damaged = bytearray(index.read_bytes())
    damaged[10] ^= 0xFF
    index.write_bytes(bytes(damaged))
    with pytest.raises(TransferError, match="not a readable TensorFlow checkpoint index.*checksum"):
        transfer_from_tf(net, folder, "best", SHALLOW)
    folder = _copy("deep", tmp_path / "again")
    data = folder / "model" / "7_Step-4321.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:1000])
    with pytest.raises(TransferError, match="truncated"):
        transfer_from_tf(factory.build(DEEP, {"camera": (1, 21, 21)}, CONTINUOUS), folder,
                         "best", DEEP)


def test_session_takes_exactly_one_transfer_source(tmp_path, capsys):
    from pydantic import ValidationError

    from drtui.cli import main
    from drtui.session import store

    assert Transfer(drfc_checkpoint="models/x").from_run == ""
    with pytest.raises(ValidationError, match="exactly one of from_run"):
        Transfer()
    path = tmp_path / "session.toml"
    store.save(tiny_session("tf-cli"), path)
    before = path.read_bytes()
    assert main(["method", str(path), "transfer", "from_run=runs/x",
                 "drfc_checkpoint=models/x"]) == 2
    err = capsys.readouterr().err
    assert "research.transfer" in err and "exactly one of from_run" in err
    assert path.read_bytes() == before
    assert main(["method", str(path), "transfer", "drfc_checkpoint=models/x"]) == 0
    assert store.load(path).research.transfer.drfc_checkpoint == "models/x"


def test_validation_checks_network_algorithm_and_an_absolute_path(tmp_path, capsys):
    from drtui.cli import main
    from drtui.session import store
    from drtui.session.validate import session_problems

    field = "research.transfer.drfc_checkpoint"
    s = tiny_session("tf-validate")
    s.research.transfer = Transfer(drfc_checkpoint=str(DATA / "shallow"))
    assert [p for p in session_problems(s) if p.path == field] == []
    s.research.transfer = Transfer(drfc_checkpoint=str(DATA / "shallow" / "model" /
                                                       "3_Step-1234.ckpt"))  # a prefix
    assert [p for p in session_problems(s) if p.path == field] == []
    s.research.transfer = Transfer(drfc_checkpoint="drfc/relative")  # the workspace's: unknown
    assert [p for p in session_problems(s) if p.path == field] == []
    s.network.architecture = "RESNET"
    s.research.transfer = Transfer(drfc_checkpoint=str(tmp_path / "no-model"))
    messages = [p.message for p in session_problems(s) if p.path == field]
    assert len(messages) == 2
    assert "DRfC models use one of DeepRacer's networks" in messages[0]
    assert "network.architecture is RESNET" in messages[0]
    assert f"{tmp_path / 'no-model'} does not exist" in messages[1]
    s.network.architecture, s.training.algorithm = SHALLOW, "sac"
    s.research.transfer = Transfer(drfc_checkpoint="drfc/relative")
    assert [p.message for p in session_problems(s) if p.path == field] == [
        "DRfC models' TensorFlow weights are a clipped PPO policy; training.algorithm is sac"]
    path = tmp_path / "session.toml"
    store.save(tiny_session("tf-cli"), path)
    assert main(["method", str(path), "transfer", f"drfc_checkpoint={tmp_path / 'gone'}"]) == 2
    assert f"{field}: {tmp_path / 'gone'} does not exist" in capsys.readouterr().err


def test_training_starts_from_the_drfc_model(tmp_path):
    """The trainer, as a run starts: the session's drfc_checkpoint (relative to the workspace)
    goes into its network, which then drives like TF's policy did."""
    from drtui.train import checkpoint as ckpt
    from drtui.train.trainer import Trainer

    workspace = tmp_path / "ws"
    shutil.copytree(DATA / "shallow", workspace / "drfc" / "shallow")
    s = tiny_session("tf-transfer")
    s.car.sensors = ["FRONT_FACING_CAMERA"]
    s.action_space.generator.speed_levels = 1  # 5 actions, as the model
    s.research.transfer = Transfer(drfc_checkpoint="drfc/shallow")
    run = create_run(workspace, s)
    trainer = Trainer(run.path, out=io.StringIO(), env={
        "DRTUI_CARS": "2", "DRTUI_CAMERA_SIZE": "44x44", "DRTUI_TEACHER": "off",
        "DRTUI_THREADS": "1"})
    trainer._setup()
    out = _outputs("shallow")
    net = trainer.algo.net.eval()
    with torch.no_grad():
        probs = net({"camera": _images(out)}).logits.softmax(-1)
    np.testing.assert_allclose(probs.numpy(), out["policy"], atol=1e-5)
    log = trainer.out.getvalue()
    assert "## drtui: transfer from DRfC model shallow (3_Step-1234.ckpt): 10/12" in log
    saved = json.loads((run.path / "state.json").read_text())["transfer"]
    assert saved["fresh"] == ["value_head"] and saved["copied"] == 10
    assert any("network_0" in note for note in saved["notes"])
    # the 0_Step-0 checkpoint holds the transferred weights
    first = ckpt.load(run.path, "last")["policy"]["encoder.middleware.0.weight"]
    assert torch.equal(first, net.state_dict()["encoder.middleware.0.weight"])
