"""The physical car's model file: drtui's policies written as a frozen TensorFlow GraphDef without
TensorFlow, converted with OpenVINO as the car converts it, and compared with torch on camera
frames the embedded simulator renders at the car's 160x120 (real lidar readings beside them):
the same action on every frame, outputs within 1e-4, the car's exact input and output names and
shapes. Networks are built fresh (no training) with their action heads scaled up, so the
probabilities are as distinct as a trained policy's and an argmax tie cannot hide a mismatch."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ov = pytest.importorskip("openvino")

from drtui.train import car_export, car_graph  # noqa: E402
from drtui.train.networks import factory  # noqa: E402
from drtui.train.networks.spec import continuous, discrete  # noqa: E402

FRAMES = 300
CONT = continuous((-30.0, 0.5), (30.0, 3.0))

CASES = [
    # network, algorithm, sensors, (W, H) of the trainer's camera, action spec
    ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "clipped_ppo", ["FRONT_FACING_CAMERA"], (80, 60),
     discrete(5)),
    ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "clipped_ppo", ["FRONT_FACING_CAMERA", "LIDAR"],
     (48, 36), discrete(7)),
    ("DEEP_CONVOLUTIONAL_NETWORK", "clipped_ppo", ["STEREO_CAMERAS"], (48, 36), CONT),
    ("DEEP_CONVOLUTIONAL_NETWORK_DEEP", "sac", ["FRONT_FACING_CAMERA"], (102, 76), CONT),
    ("SAC_POLICY", "sac", ["FRONT_FACING_CAMERA", "SECTOR_LIDAR"], (80, 60), CONT),
]


def rendered_inputs(sensors, n: int = FRAMES, seed: int = 0) -> dict[str, np.ndarray]:
    """{sensor: array} of n real observations: 4 cars of the embedded simulator on
    reInvent2019_track driving random actions, camera at 160x120, as NHWC raw grey for cameras."""
    from drtui.sim.env import DeepRacerSim, SimConfig

    cars = 4
    sim = DeepRacerSim(SimConfig(num_cars=cars, sensors=tuple(sensors), camera_size=(160, 120),
                                 seed=seed))
    gen = torch.Generator().manual_seed(seed)
    obs, frames = sim.reset(), {s: [] for s in sensors}
    while len(frames[sensors[0]]) * cars < n:
        for s in sensors:
            frames[s].append(obs[s].clone())
        obs, *_ = sim.step(torch.randint(0, 3, (cars,), generator=gen))
    out = {}
    for s, chunks in frames.items():
        value = torch.cat(chunks)[:n]
        out[s] = (value.permute(0, 2, 3, 1).float() if value.dim() == 4 else value.float()).numpy()
    return out


def built(network, algorithm, sensors, size, spec, seed: int = 0):
    from drtui.train.networks.spec import obs_spec_for

    w, h = size
    torch.manual_seed(seed)
    obs = obs_spec_for(sensors, (h, w))
    net = (factory.build_actor if algorithm == "sac" else factory.build)(network, obs, spec)
    with torch.no_grad():  # a trained head's confidence
        (net.mean_head if algorithm == "sac" else net.policy_head).weight.mul_(300.0)
    build = {"algorithm": algorithm, "network": network, "sensors": sensors,
             "obs_spec": {k: list(v) for k, v in obs.items()}, "camera_size": [w, h]}
    return net.eval(), build


def centre_logits(net, observed, size) -> None:
    """Shift the policy head's bias by minus each logit's mean over the frames: every action is
    then the policy's choice on some frames, as with a policy that has learned to steer."""
    from drtui.train.obs import key_of

    obs = {key_of(s): (car_graph.car_camera_to_policy(v, size[::-1]) if v.ndim == 4
                       else torch.as_tensor(v)) for s, v in observed.items()}
    with torch.no_grad():
        net.policy_head.bias -= net(obs).logits.mean(0)


@pytest.mark.parametrize("network,algorithm,sensors,size,spec", CASES,
                         ids=[f"{c[0].split('_')[-1].lower()}-{c[1]}-{'+'.join(c[2])}-"
                              f"{c[3][0]}x{c[3][1]}" for c in CASES])
def test_car_graph_through_openvino_matches_torch(network, algorithm, sensors, size, spec):
    from drtui.train.car_model import CarModel

    net, build = built(network, algorithm, sensors, size, spec)
    observed = rendered_inputs(sensors)
    if spec.is_discrete:
        centre_logits(net, observed, size)
    graph = car_graph.car_graph(net, build)
    head = "policy" if algorithm == "sac" else "main"
    camera = next(s for s in sensors if "CAMERA" in s)
    channels = 2 if camera == "STEREO_CAMERAS" else 1
    want_inputs = {f"main_level/agent/{head}/online/network_0/{camera}/{camera}":
                   [-1, 120, 160, channels]}
    for lidar in (s for s in sensors if "LIDAR" in s):
        want_inputs[f"main_level/agent/{head}/online/network_0/{lidar}/{lidar}"] = \
            [-1, 64 if lidar == "LIDAR" else 8]
    output = ("main_level/agent/policy/online/network_0/sac_policy_head_0/policy"
              if algorithm == "sac" else "main_level/agent/main/online/network_1/ppo_head_0/policy")

    model = CarModel.from_graph(graph.data)
    assert model.input_shapes() == want_inputs
    assert model.outputs == [output]
    assert [d.get_length() for d in model.compiled.outputs[0].get_partial_shape()[1:]] == \
        [spec.n]

    feeds = {f"main_level/agent/{head}/online/network_0/{s}/{s}": v for s, v in observed.items()}
    got = model.run(feeds)
    expected = car_graph.torch_outputs(net, graph, feeds)
    assert got.shape == (FRAMES, spec.n)
    assert np.abs(got - expected).max() <= 1e-4
    if spec.is_discrete:
        assert (got.argmax(-1) == expected.argmax(-1)).all()
        assert np.allclose(got.sum(-1), 1.0, atol=1e-5)
        assert len(set(expected.argmax(-1).tolist())) > 1  # the frames do not all look alike
    else:
        assert np.abs(got).max() <= 1.0
    # the resize inside the graph is the one torch mirrors: 80x60 is a 2x2 average
    assert graph.resize == ("average pooling 2x2" if size == (80, 60) else
                            "bilinear (half-pixel centres)")


@pytest.mark.parametrize("case", CASES[:1] + CASES[3:], ids=lambda c: c[0].lower())
def test_tensorflow_loads_the_car_graph_and_agrees(case):
    """The car's other converter path (TFLite) starts from TensorFlow: the GraphDef imports into
    real TensorFlow and gives torch's outputs (tensorflow-cpu is in the test extra)."""
    tf = pytest.importorskip("tensorflow")
    network, algorithm, sensors, size, spec = case
    net, build = built(*case)
    graph = car_graph.car_graph(net, build)
    head = "policy" if algorithm == "sac" else "main"
    feeds = {f"main_level/agent/{head}/online/network_0/{s}/{s}": v
             for s, v in rendered_inputs(sensors, n=40).items()}
    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(graph.data)
    with tf.Graph().as_default() as g:
        tf.import_graph_def(gd, name="")
        with tf.compat.v1.Session(graph=g) as sess:
            got = sess.run(f"{graph.output}:0", {f"{k}:0": v for k, v in feeds.items()})
    assert np.abs(got - car_graph.torch_outputs(net, graph, feeds)).max() <= 1e-4


def test_the_graph_is_a_frozen_tensorflow_graphdef():
    """Every weight is a Const (nothing to restore), float32 little-endian tensor_content in TF
    layouts: the first conv kernel is torch's OIHW as HWIO."""
    from drtui.train.tf_graph import parse

    net, build = built(*CASES[0])
    g = parse(car_graph.car_graph(net, build).data)
    ops = {n.op for n in g.node}
    assert not ops & {"VariableV2", "VarHandleOp", "Variable", "Assign"}
    assert ops >= {"Placeholder", "RealDiv", "AvgPool", "Conv2D", "BiasAdd", "Relu", "Reshape",
                   "MatMul", "Softmax", "Const"}
    kernel = next(n for n in g.node if n.op == "Const" and n.name.endswith("Conv2d_0/kernel"))
    t = kernel.attr["value"].tensor
    dims = [d.size for d in t.tensor_shape.dim]
    first = net.encoder.embedders["camera"].net[0].weight.detach().numpy()
    assert dims == [8, 8, 1, 32]
    np.testing.assert_array_equal(np.frombuffer(t.tensor_content, "<f4").reshape(dims),
                                  first.transpose(2, 3, 1, 0))


@pytest.mark.parametrize("network,reason", [
    ("TEMPORAL_CNN", "one frame per inference"),
    ("RESNET", "residual blocks"),
    ("VISION_TRANSFORMER", "multi-head self-attention"),
])
def test_what_the_car_cannot_run_is_refused_with_the_reason(network, reason):
    build = {"algorithm": "clipped_ppo", "network": network, "sensors": ["FRONT_FACING_CAMERA"],
             "camera_size": [80, 60]}
    with pytest.raises(car_graph.CarExportRefused, match=reason):
        car_graph.check_exportable(build)


@pytest.mark.parametrize("change,message", [
    ({"camera_size": [64, 64]}, "not 4:3"),
    ({"sensors": ["LIDAR"]}, "exactly one camera"),
])
def test_other_refusals(change, message):
    build = {"algorithm": "clipped_ppo", "network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
             "sensors": ["FRONT_FACING_CAMERA"], "camera_size": [80, 60], **change}
    with pytest.raises(car_graph.CarExportRefused, match=message):
        car_graph.check_exportable(build)


def test_archive_layout_and_reading_it_back(tmp_path):
    data = car_export.archive_bytes(b"graph-bytes", '{"sensor": ["FRONT_FACING_CAMERA"]}')
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getnames() == ["agent/model.pb", "model_metadata.json"]
    path = tmp_path / "m.tar.gz"
    path.write_bytes(data)
    pb, meta = car_export.read_archive(path)
    assert pb == b"graph-bytes" and meta == {"sensor": ["FRONT_FACING_CAMERA"]}


def test_archive_without_exactly_one_pb_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in ("a/model.pb", "b/model.pb", "model_metadata.json"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    path = tmp_path / "two.tar.gz"
    path.write_bytes(buf.getvalue())
    with pytest.raises(car_export.CarArchiveError, match="exactly one .pb file, this one 2"):
        car_export.read_archive(path)
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(car_export.CarArchiveError, match="not a readable"):
        car_export.read_archive(tmp_path / "junk.tar.gz")


def test_verify_catches_a_graph_that_differs_from_torch():
    net, build = built(*CASES[0])
    graph = car_graph.car_graph(net, build)
    verified, diff = car_export.verify(graph, net)
    assert verified.startswith("openvino") and diff <= 1e-4
    with torch.no_grad():
        net.policy_head.bias[0] += 5.0  # torch now prefers action 0 where the graph does not
    with pytest.raises(ValueError, match="another action|differs"):
        car_export.verify(graph, net)
    assert json.dumps(car_export.CarExportResult(
        car_export.output_path("x", "m"), "1_Step-2.ckpt", "run", {}, graph.output,
        verified, diff).as_dict())
