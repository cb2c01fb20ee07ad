"""drtui.train.networks: every catalogued network builds, runs and trains at the input sizes
the simulator gives; the DeepRacer networks match simapp's layer specs and the parameter counts
of the graphs Coach builds in TensorFlow."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

from drtui.catalog.networks import DEEPRACER_NETWORKS, NETWORKS  # noqa: E402
from drtui.train.networks import (  # noqa: E402
    FAMILIES,
    NETWORK_NAMES,
    ActorCritic,
    as_action_spec,
    build,
    build_actor,
    build_critic,
    continuous,
    describe_all,
    discrete,
    example_obs,
    inference_latency_ms,
    obs_spec_for,
    parameter_count,
)
from drtui.train.networks.spec import STEREO_DEEP_CONV, min_camera_size  # noqa: E402
from drtui.train.networks.vit import patch_layout  # noqa: E402

SHALLOW = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
DEEP = "DEEP_CONVOLUTIONAL_NETWORK"
DEEP_DEEP = "DEEP_CONVOLUTIONAL_NETWORK_DEEP"
RESEARCH = [n for n in NETWORK_NAMES if not NETWORKS[n].deepracer]
FULL, SMALL = (120, 160), (60, 80)
N_ACTIONS = 7
BOUNDS = continuous((-30.0, 0.5), (30.0, 4.0))

# (sensors, camera resolution): the simulator's shipped inputs and a fast-training resolution
CONFIGS = {
    "camera-160x120": (("FRONT_FACING_CAMERA",), FULL),
    "stereo-160x120": (("STEREO_CAMERAS",), FULL),
    "camera+lidar64-160x120": (("FRONT_FACING_CAMERA", "LIDAR"), FULL),
    "stereo+sector8-80x60": (("STEREO_CAMERAS", "SECTOR_LIDAR"), SMALL),
    "camera-80x60": (("FRONT_FACING_CAMERA",), SMALL),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The batches here are tiny: one thread is as fast, and far faster when other processes
    share the 2 cores (OpenMP threads then wait on each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def too_small(name: str, sensors, resolution: tuple[int, int]) -> bool:
    # DEEP_CONVOLUTIONAL_NETWORK_DEEP's mono convs need 76 px, so 60 rows are too few; its
    # stereo stack (3x3 kernels) fits
    return name == DEEP_DEEP and "STEREO_CAMERAS" not in sensors and min(resolution) < 76


def conv_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1  # TF "VALID"


def dense_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def conv_stack(convs, shape, dense=()) -> tuple[int, int]:
    """(parameters, flattened output width) of valid-padding conv layers on a (C, H, W) input,
    then dense layers applied at each position of the last map (Coach's camera embedder
    flattens after its Dense layers)."""
    c, h, w = shape
    params = 0
    for filters, kernel, stride in convs:
        params += kernel * kernel * c * filters + filters
        c, h, w = filters, conv_out(h, kernel, stride), conv_out(w, kernel, stride)
    for units in dense:
        params, c = params + dense_params(c, units), units
    return params, c * h * w


def dense_stack(width: int, units) -> tuple[int, int]:
    params = 0
    for u in units:
        params, width = params + dense_params(width, u), u
    return params, width


def expected_deepracer_params(convs, dense, middleware, shape, n_actions) -> int:
    camera, width = conv_stack(convs, shape, dense)
    fc, width = dense_stack(width, middleware)
    return camera + fc + dense_params(width, n_actions) + dense_params(width, 1)  # policy + value


# Trainable variables of Coach's policy network (main_level/agent/main/online/network_1: camera
# embedder, middleware, ppo_head_0) for one FRONT_FACING_CAMERA at 160x120 and 5 discrete
# actions, counted in real TensorFlow 2.15 on the graph tests/data/tf_checkpoint/make_fixture.py
# builds (its build(), Coach's layer names and order); DEEP_CONVOLUTIONAL_NETWORK's was also
# counted in a real-size checkpoint. drtui's network is that plus its value head.
TF_POLICY_PARAMETERS = {SHALLOW: 5_842_085, DEEP: 28_744_741, DEEP_DEEP: 2_777_285}


def assert_finite(*tensors) -> None:
    for t in tensors:
        assert torch.isfinite(t).all()


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_forward_shapes(name, config):
    sensors, resolution = CONFIGS[config]
    spec = obs_spec_for(sensors, resolution)
    if too_small(name, sensors, resolution):
        with pytest.raises(ValueError, match="at least 76x76"):
            build(name, spec, N_ACTIONS)
        return
    batch = 3
    if name == "SAC_POLICY":
        actor = build(name, spec, BOUNDS)
        obs = example_obs(spec, batch, actor.frames)
        out = actor(obs)
        assert out.value is None and out.logits is None
        assert out.mean.shape == out.log_std.shape == (batch, 2)
        action, log_prob, mean_action = actor.sample(obs)
        assert action.shape == mean_action.shape == (batch, 2) and log_prob.shape == (batch,)
        assert_finite(out.mean, out.log_std, action, log_prob)
        return
    net = build(name, spec, discrete(N_ACTIONS))
    assert isinstance(net, ActorCritic)
    obs = example_obs(spec, batch, net.frames)
    out = net(obs)
    assert out.logits.shape == (batch, N_ACTIONS)
    assert out.value.shape == (batch,)
    assert out.mean is None and out.log_std is None
    assert_finite(out.logits, out.value)
    action, log_prob, entropy, value = net.get_action_and_value(obs)
    assert action.shape == log_prob.shape == entropy.shape == value.shape == (batch,)
    assert ((action >= 0) & (action < N_ACTIONS)).all()


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_continuous_actions_stay_in_bounds(name):
    spec = obs_spec_for(("FRONT_FACING_CAMERA", "LIDAR"), SMALL if name != DEEP_DEEP else FULL)
    net = build(name, spec, BOUNDS)
    obs = example_obs(spec, 4, net.frames)
    low, high = torch.tensor(BOUNDS.low), torch.tensor(BOUNDS.high)
    if name == "SAC_POLICY":
        action, _, mean_action = net.sample(obs)
    else:
        out = net(obs)
        assert out.mean.shape == out.log_std.shape == (4, 2)
        assert_finite(out.mean, out.log_std, out.value)
        # extreme raw actions still land inside [low, high] once squashed
        raw = torch.cat([net.get_action_and_value(obs)[0], torch.full((1, 2), 1e3),
                         torch.full((1, 2), -1e3)])
        action, mean_action = net.to_env(raw), BOUNDS.squash(out.mean)
    for a in (action, mean_action):
        assert ((a >= low) & (a <= high)).all()


def test_sac_critics_take_observation_and_action():
    spec = obs_spec_for(("STEREO_CAMERAS", "LIDAR"), SMALL)
    obs = example_obs(spec, 5)
    action = BOUNDS.scale(torch.rand(5, 2) * 2 - 1)
    for name in ("SAC_POLICY", SHALLOW):
        actor, critic = build_actor(name, spec, BOUNDS), build_critic(name, spec, BOUNDS)
        q1, q2 = critic(obs, action)
        assert q1.shape == q2.shape == (5,)
        assert_finite(q1, q2)
        assert not torch.equal(q1, q2)  # two independent heads
        assert actor.sample(obs)[0].shape == (5, 2)
    with pytest.raises(ValueError, match="continuous"):
        build("SAC_POLICY", spec, discrete(5))


def test_shallow_conv_shapes_follow_valid_padding_at_160x120():
    spec = obs_spec_for(("FRONT_FACING_CAMERA",), FULL)
    net = build(SHALLOW, spec, discrete(N_ACTIONS))
    x = torch.zeros(1, *spec["camera"])
    seen = []
    for layer in net.encoder.embedders["camera"].net:
        x = layer(x)
        if isinstance(layer, torch.nn.Conv2d):
            seen.append(tuple(x.shape[1:]))
    c, h, w = spec["camera"]
    expected = []
    for filters, kernel, stride in NETWORKS[SHALLOW].conv:
        h, w = conv_out(h, kernel, stride), conv_out(w, kernel, stride)
        expected.append((filters, h, w))
    assert seen == expected
    assert net.encoder.embedders["camera"].out_dim == expected[-1][0] * h * w


@pytest.mark.parametrize("network", DEEPRACER_NETWORKS, ids=lambda n: n.name)
def test_deepracer_parameter_counts_match_layer_specs(network):
    spec = obs_spec_for(("FRONT_FACING_CAMERA",), FULL)
    expected = expected_deepracer_params(network.conv, network.dense, network.middleware,
                                         spec["camera"], N_ACTIONS)
    assert parameter_count(network.name, spec, N_ACTIONS) == expected
    built = build(network.name, spec, N_ACTIONS)
    assert sum(p.numel() for p in built.parameters()) == expected


@pytest.mark.parametrize("name", [SHALLOW, DEEP, DEEP_DEEP])
def test_deepracer_networks_have_tensorflows_parameter_counts(name):
    net = build(name, obs_spec_for(("FRONT_FACING_CAMERA",), FULL), 5)
    value_head = sum(p.numel() for p in net.value_head.parameters())
    assert sum(p.numel() for p in net.parameters()) - value_head == TF_POLICY_PARAMETERS[name]


def test_camera_dense_layers_act_at_each_position_of_the_last_conv_map():
    """At 160x120 DEEP's Dense 64 runs on a 25x35 map and the middleware takes 25*35*64
    inputs (DEEP_DEEP: 3x6x512); each position's output depends on that position alone."""
    spec = obs_spec_for(("FRONT_FACING_CAMERA",), FULL)
    for name, map_shape in ((DEEP, (64, 25, 35)), (DEEP_DEEP, (512, 3, 6))):
        camera = build(name, spec, 5).encoder.embedders["camera"]
        assert camera.map_shape == map_shape and camera.out_dim == math.prod(map_shape)
    torch.manual_seed(0)
    head = camera.net[2 * camera.n_convs:]  # DEEP_DEEP's two dense layers and the flatten
    grid = torch.rand(1, 64, 3, 6)
    changed = grid.clone()
    changed[0, :, 1, 4] += 1.0  # one position of the conv map
    diff = (head(grid) - head(changed)).reshape(512, 3, 6).abs().sum(0)
    assert diff[1, 4] > 0 and diff.sum() == diff[1, 4]


def test_stereo_and_lidar_embedders_follow_simapp():
    spec = obs_spec_for(("STEREO_CAMERAS", "LIDAR"), FULL)
    lidar, lidar_width = dense_stack(64, (256, 256))
    # SHALLOW keeps its convs on the 2 channels; DEEP switches to the stereo stack (no dense)
    for name, convs in ((SHALLOW, NETWORKS[SHALLOW].conv), (DEEP, STEREO_DEEP_CONV)):
        camera, camera_width = conv_stack(convs, spec["camera"])
        middleware, width = dense_stack(camera_width + lidar_width, (512,))
        heads = dense_params(width, N_ACTIONS) + dense_params(width, 1)
        assert parameter_count(name, spec, N_ACTIONS) == camera + lidar + middleware + heads


def test_minimum_camera_sizes_are_exact():
    for network in DEEPRACER_NETWORKS:
        for channels in (1, 2):
            side = min_camera_size(network.name, channels)
            spec = {"camera": (channels, side, side)}
            assert build(network.name, spec, 3)(example_obs(spec)).logits.shape == (1, 3)
            with pytest.raises(ValueError, match=f"at least {side}x{side}"):
                build(network.name, {"camera": (channels, side - 1, side + 5)}, 3)


def test_deep_deep_needs_76_pixels():
    with pytest.raises(ValueError, match="at least 76x76"):
        build(DEEP_DEEP, obs_spec_for(("FRONT_FACING_CAMERA",), SMALL), N_ACTIONS)
    spec = obs_spec_for(("FRONT_FACING_CAMERA",), (76, 76))
    assert build(DEEP_DEEP, spec, N_ACTIONS)(example_obs(spec)).logits.shape == (1, N_ACTIONS)


def test_deep_deep_dropout_is_optional():
    spec = obs_spec_for(("FRONT_FACING_CAMERA",), FULL)
    assert not any(isinstance(m, torch.nn.Dropout) for m in build(DEEP_DEEP, spec, 5).modules())
    net = build(DEEP_DEEP, spec, 5, dropout=0.5)
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.encoder.middleware) == 2


@pytest.mark.parametrize("name", NETWORK_NAMES)
def test_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    spec = obs_spec_for(("FRONT_FACING_CAMERA", "SECTOR_LIDAR"),
                        FULL if name == DEEP_DEEP else SMALL)
    action_spec = BOUNDS if name == "SAC_POLICY" else discrete(N_ACTIONS)
    net = build(name, spec, action_spec)
    obs = example_obs(spec, 8, net.frames)
    out = net(obs)
    if name == "SAC_POLICY":
        action, log_prob, _ = net.sample(obs)
        loss = (log_prob - action.sum(-1)).mean()
    else:
        loss = (out.logits.log_softmax(-1)[:, 0] + out.value).pow(2).mean()
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    loss.backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None]
    assert not missing
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    changed = {n for n, p in net.named_parameters() if not torch.equal(p, before[n])}
    first = next(iter(before))
    assert first in changed  # the input layer learns
    assert len(changed) >= 0.9 * len(before)


def test_research_networks_are_cpu_sized():
    spec = obs_spec_for(("FRONT_FACING_CAMERA", "LIDAR"), FULL)
    for name in RESEARCH:
        action = BOUNDS if name == "SAC_POLICY" else discrete(N_ACTIONS)
        count = parameter_count(name, spec, action)
        assert 0 < count < 2_000_000, (name, count)
        # pooled to a fixed grid: the size does not depend on the camera resolution...
        small = parameter_count(name, obs_spec_for(("FRONT_FACING_CAMERA", "LIDAR"), SMALL),
                                action)
        assert small == count or name == "VISION_TRANSFORMER", name
    # ...except the ViT's position embeddings, one per patch of the padded square
    assert patch_layout(120, 160) == (20, 160) and patch_layout(60, 80) == (10, 80)


def test_temporal_cnn_stacks_frames():
    spec = obs_spec_for(("FRONT_FACING_CAMERA",), SMALL)
    net = build("TEMPORAL_CNN", spec, N_ACTIONS)
    assert net.frames == 4
    assert net(example_obs(spec, 2, frames=4)).logits.shape == (2, N_ACTIONS)
    with pytest.raises(ValueError, match="4 stacked frames"):
        net(example_obs(spec, 2, frames=1))
    two = build("TEMPORAL_CNN", spec, N_ACTIONS, frames=2)
    assert two.frames == 2 and two(example_obs(spec, 1, frames=2)).logits.shape == (1, N_ACTIONS)


def test_attention_and_fusion_expose_their_weights():
    spec = obs_spec_for(("FRONT_FACING_CAMERA", "LIDAR"), SMALL)
    att = build("ATTENTION_CNN", spec, N_ACTIONS)
    att(example_obs(spec, 2))
    maps = att.encoder.embedders["camera"].last_attention
    assert maps.shape[:2] == (2, 4)
    assert torch.allclose(maps.flatten(2).sum(-1), torch.ones(2, 4))
    fusion = build("MULTIMODAL_FUSION", spec, N_ACTIONS)
    fusion(example_obs(spec, 2))
    assert fusion.encoder.last_gates.shape == (2,)
    assert torch.isclose(fusion.encoder.last_gates.sum(), torch.tensor(1.0))


def test_missing_observation_and_unknown_network_are_clear():
    spec = obs_spec_for(("FRONT_FACING_CAMERA", "LIDAR"), SMALL)
    net = build("ATTENTION_CNN", spec, N_ACTIONS)
    with pytest.raises(KeyError, match="lidar"):
        net({"camera": torch.rand(1, 1, 60, 80)})
    with pytest.raises(ValueError, match="unknown network"):
        build("NOT_A_NETWORK", spec, N_ACTIONS)


def test_uint8_images_and_sensor_keys_match_the_simulator():
    assert obs_spec_for(("STEREO_CAMERAS", "SECTOR_LIDAR"), SMALL) == {
        "camera": (2, 60, 80), "lidar": (8,)}
    spec = obs_spec_for(("STEREO_CAMERAS", "SECTOR_LIDAR"), SMALL, keys="sensor")
    assert spec == {"STEREO_CAMERAS": (2, 60, 80), "SECTOR_LIDAR": (8,)}
    net = build(SHALLOW, spec, N_ACTIONS).eval()
    raw = example_obs(spec, 2, uint8=True)
    assert raw["STEREO_CAMERAS"].dtype == torch.uint8
    scaled = {**raw, "STEREO_CAMERAS": raw["STEREO_CAMERAS"].float() / 255}
    with torch.no_grad():
        assert torch.allclose(net(raw).logits, net(scaled).logits)
    assert raw["STEREO_CAMERAS"].dtype == torch.uint8  # the caller's tensor is untouched


def test_action_specs_from_model_metadata():
    assert as_action_spec(5) == discrete(5)
    assert as_action_spec([{"steering_angle": -30, "speed": 1}] * 3) == discrete(3)
    cont = as_action_spec({"steering_angle": {"low": -20, "high": 20},
                           "speed": {"low": 1, "high": 3}})
    assert cont == continuous((-20, 1), (20, 3))
    x = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]])
    assert torch.allclose(cont.scale(x), torch.tensor([[-20.0, 1.0], [20.0, 3.0], [0.0, 2.0]]))
    assert torch.allclose(cont.unscale(cont.scale(x)), x)
    with pytest.raises(ValueError):
        continuous((1, 2), (0, 3))


def test_every_catalogued_network_has_a_builder():
    assert set(FAMILIES) == set(NETWORKS) == set(NETWORK_NAMES)


def test_describe_all_lists_the_catalogue():
    rows = describe_all(latency=False)
    assert [r["network"] for r in rows] == list(NETWORKS)
    assert all(r["params"] > 0 and r["latency_ms"] is None for r in rows)
    assert next(r for r in rows if r["network"] == "SAC_POLICY")["critic_params"] > 0
    small = {r["network"]: r for r in describe_all(resolution=SMALL, latency=False)}
    assert small[DEEP_DEEP]["params"] is None and "76x76" in small[DEEP_DEEP]["note"]
    ms = inference_latency_ms(SHALLOW, obs_spec_for(), N_ACTIONS, repeats=2, warmup=1)
    assert ms > 0


def test_importing_drtui_train_does_not_load_torch():
    code = ("import sys, drtui.train, drtui.train.networks, drtui.train.networks.spec; "
            "from drtui.train.networks import obs_spec_for, NETWORK_NAMES; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_catalogue_parameter_counts_match_the_built_networks():
    """The catalogue's reference counts (listed without torch) are the real ones."""
    from drtui.catalog.networks import REFERENCE_PARAMETERS
    from drtui.train.networks import describe_all

    built = {r["network"]: r["params"] for r in describe_all(latency=False)}
    assert built == REFERENCE_PARAMETERS
