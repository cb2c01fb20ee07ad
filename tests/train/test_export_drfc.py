"""`drtui export RUN --drfc`: Coach's clipped-PPO checkpoint written without TensorFlow. Its
variables have the names, shapes and dtypes of the DRfC checkpoint fixtures (tests/data/
tf_checkpoint, written with real TensorFlow from simapp's graph), and drtui's own reader of DRfC
checkpoints gives back the policy exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from drtui.train import tf_checkpoint as tc  # noqa: E402
from drtui.train.car_graph import CarExportRefused  # noqa: E402
from drtui.train.drfc_export import coach_tensors  # noqa: E402
from drtui.train.networks import factory  # noqa: E402
from drtui.train.networks.spec import continuous, discrete, obs_spec_for  # noqa: E402
from drtui.train.tf_bundle import crc32c, write_bundle  # noqa: E402

FIXTURES = Path(__file__).parent.parent / "data" / "tf_checkpoint"
CONT = continuous((-30.0, 0.5), (30.0, 3.0))
CASES = {  # fixture: (network, camera (H, W), actions) as make_fixture.py built them
    "deep": ("DEEP_CONVOLUTIONAL_NETWORK", (21, 21), CONT),
    "deep_map": ("DEEP_CONVOLUTIONAL_NETWORK", (25, 29), discrete(5)),
    "shallow": ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", (44, 44), discrete(5)),
    "deep_deep": ("DEEP_CONVOLUTIONAL_NETWORK_DEEP", (76, 92), CONT),
}


def ppo(network, hw, spec, sensors=("FRONT_FACING_CAMERA",), seed=0):
    torch.manual_seed(seed)
    net = factory.build(network, obs_spec_for(sensors, hw), spec).eval()
    with torch.no_grad():  # non-zero biases everywhere, so a misplaced one shows
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return net, {"algorithm": "clipped_ppo", "network": network, "sensors": list(sensors)}


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_the_variables_are_those_of_the_real_checkpoint(fixture):
    manifest = json.loads((FIXTURES / fixture / "manifest.json").read_text())
    net, build = ppo(*CASES[fixture])
    tensors = coach_tensors(net, build, 4321)
    assert set(manifest) <= set(tensors)
    for name, want in manifest.items():
        assert list(tensors[name].shape) == want["shape"], name
        assert str(tensors[name].dtype) == want["dtype"], name
    extra = set(tensors) - set(manifest)
    if fixture == "deep":  # the fixture with the whole online graph: only Adam slots beyond it
        assert extra and all(n.endswith(("/Adam", "/Adam_1")) for n in extra)


@pytest.mark.parametrize("fixture,sensors", [
    ("deep_map", ("FRONT_FACING_CAMERA",)),
    ("deep_deep", ("FRONT_FACING_CAMERA",)),
    # Coach concatenates LIDAR before STEREO_CAMERAS (sorted names), drtui the camera first
    ("shallow", ("STEREO_CAMERAS", "LIDAR")),
])
def test_drtuis_reader_gives_the_policy_back(tmp_path, fixture, sensors):
    network, hw, spec = CASES[fixture]
    net, build = ppo(network, hw, spec, sensors)
    write_bundle(tmp_path / "model" / "3_Step-99.ckpt", coach_tensors(net, build, 99))
    bundle = tc.TensorBundle(tc.resolve_prefix(tmp_path, "last"))
    assert int(bundle.read("global_step")) == 99 and bundle.read("global_step").shape == ()
    fresh = factory.build(network, obs_spec_for(sensors, hw), spec).eval()
    mapped = tc.map_policy(tc.load_policy(bundle), fresh)
    assert set(mapped.fresh) == {"value_head.weight", "value_head.bias"}  # Coach's own network
    fresh.load_state_dict({**fresh.state_dict(), **mapped.tensors})
    gen = torch.Generator().manual_seed(1)
    obs = factory.example_obs(obs_spec_for(sensors, hw), 6, generator=gen)
    with torch.no_grad():
        a, b = net(obs), fresh(obs)
    for x, y in ((a.logits, b.logits), (a.mean, b.mean)):
        if x is not None:
            torch.testing.assert_close(y, x, rtol=0, atol=0)
    # the value head goes to network_0's v_values_head_0 (the reader leaves it out)
    value = bundle.read("main_level/agent/main/online/network_0/v_values_head_0/output/kernel")
    np.testing.assert_array_equal(value, net.value_head.weight.detach().numpy().T)


def test_tensorflow_reads_the_checkpoint(tmp_path):
    """TensorFlow's own reader (in the test extra): every tensor, its dtype and values."""
    tf = pytest.importorskip("tensorflow")
    net, build = ppo(*CASES["deep"])
    tensors = coach_tensors(net, build, 4321)
    write_bundle(tmp_path / "x.ckpt", tensors)
    reader = tf.train.load_checkpoint(str(tmp_path / "x.ckpt"))
    assert reader.get_variable_to_shape_map() == {k: list(v.shape) for k, v in tensors.items()}
    for name, value in tensors.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value)


def test_the_checkpoint_reads_like_the_fixture_tensorflow_wrote(tmp_path):
    """Written from the values TensorFlow saved in the deep fixture, the bundle holds the same
    tensors: drtui's reader finds each name with TF's shape, dtype and bytes."""
    bundle = tc.TensorBundle(FIXTURES / "deep" / "model" / "7_Step-4321.ckpt")
    tensors = {n: bundle.read(n) for n in bundle.names()}
    write_bundle(tmp_path / "copy.ckpt", tensors)
    copy = tc.TensorBundle(tmp_path / "copy.ckpt")
    assert copy.names() == bundle.names()
    for name in bundle.names():
        assert copy.entries[name].shape == bundle.entries[name].shape
        np.testing.assert_array_equal(copy.read(name), tensors[name])
    # the tensor data file is TensorFlow's byte for byte (same order, same layout)
    theirs = (FIXTURES / "deep" / "model" / "7_Step-4321.ckpt.data-00000-of-00001").read_bytes()
    assert (tmp_path / "copy.ckpt.data-00000-of-00001").read_bytes() == theirs


def test_crc32c_is_castagnolis():
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value
    from drtui.runstore.tensorboard import crc32c as reference

    data = np.random.default_rng(0).integers(0, 256, 3 * 4096 + 123, dtype=np.uint8).tobytes()
    assert crc32c(data) == reference(data)


@pytest.mark.parametrize("build,message", [
    ({"algorithm": "sac", "network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"}, "sac"),
    ({"algorithm": "clipped_ppo", "network": "RESNET"}, "RESNET"),
])
def test_what_drfc_cannot_build_is_refused(build, message):
    with pytest.raises(CarExportRefused, match=message):
        coach_tensors(None, {**build, "sensors": ["FRONT_FACING_CAMERA"]}, 0)
