"""One entry point for every network: build, build_actor, build_critic, and the numbers the
CLI shows (parameter_count, inference_latency_ms, describe_all)."""

from __future__ import annotations

import importlib
import statistics
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from drtui.catalog.networks import NETWORKS
from drtui.train.networks.base import Encoder
from drtui.train.networks.heads import ActorCritic, SquashedGaussianActor, TwinQCritic
from drtui.train.networks.spec import (
    DEEPRACER_RESOLUTION,
    ActionSpec,
    ObsSpec,
    as_action_spec,
    continuous,
    discrete,
    obs_spec_for,
)

SAC_POLICY = "SAC_POLICY"

# network name -> the module (in this package) whose encoder(obs_spec, **options) builds its
# trunk. Imported on first use: torchvision alone takes seconds to import.
FAMILIES: dict[str, str] = {
    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW": "deepracer",
    "DEEP_CONVOLUTIONAL_NETWORK": "deepracer",
    "DEEP_CONVOLUTIONAL_NETWORK_DEEP": "deepracer",
    "ATTENTION_CNN": "attention",
    "MULTI_SCALE_CNN": "multiscale",
    "RESNET": "resnet",
    "EFFICIENTNET": "efficientnet",
    "VISION_TRANSFORMER": "vit",
    "TEMPORAL_CNN": "temporal",
    "MULTIMODAL_FUSION": "fusion",
    SAC_POLICY: "sac",
}

# What SAC_POLICY is shown with when no continuous action space is given: DeepRacer's bounds
# (steering_angle, speed).
DEFAULT_CONTINUOUS = continuous((-30.0, 0.5), (30.0, 4.0))


def encoder(network_name: str, obs_spec: ObsSpec, **options: Any) -> Encoder:
    """The observation -> feature trunk of a network (embedders, merge, middleware)."""
    return _encoder_fn(network_name)(obs_spec, **options)


def _encoder_fn(network_name: str) -> Callable[..., Encoder]:
    try:
        family = FAMILIES[network_name]
    except KeyError:
        raise ValueError(f"unknown network {network_name!r}; choose from "
                         f"{', '.join(FAMILIES)}") from None
    make = importlib.import_module(f"drtui.train.networks.{family}").encoder
    return partial(make, network_name) if family == "deepracer" else make


def build(network_name: str, obs_spec: ObsSpec, action_spec: Any, **options: Any) -> nn.Module:
    """The policy network. An ActorCritic (policy + value heads, for PPO) for every network
    except SAC_POLICY, which gives its SquashedGaussianActor (pair it with build_critic).

    obs_spec: {key: (C, H, W) or (L,)}, e.g. the simulator's observation_shapes() or
    spec.obs_spec_for(sensors, resolution). action_spec: an ActionSpec, n (discrete), or see
    spec.as_action_spec. options go to the architecture (e.g. frames=4 for TEMPORAL_CNN,
    dropout for the DeepRacer networks, norm="batch" for RESNET / EFFICIENTNET).
    forward(obs: dict[str, Tensor]) -> PolicyOutput(value, logits | mean, log_std).
    """
    if network_name == SAC_POLICY:
        return build_actor(network_name, obs_spec, action_spec, **options)
    return ActorCritic(encoder(network_name, obs_spec, **options), as_action_spec(action_spec))


def build_actor(network_name: str, obs_spec: ObsSpec, action_spec: Any,
                **options: Any) -> SquashedGaussianActor:
    """A SAC actor (tanh-squashed Gaussian into the action bounds) on any network's trunk."""
    return SquashedGaussianActor(encoder(network_name, obs_spec, **options),
                                 as_action_spec(action_spec))


def build_critic(network_name: str, obs_spec: ObsSpec, action_spec: Any,
                 hidden: tuple[int, ...] = (256, 256), **options: Any) -> TwinQCritic:
    """SAC's twin Q critic, forward(obs, action) -> (q1, q2), on its own copy of the network's
    trunk (SAC_POLICY's critic trunk has no dense layers before the Q heads)."""
    if network_name == SAC_POLICY:
        options = {"trunk": (), **options}
    return TwinQCritic(encoder(network_name, obs_spec, **options), as_action_spec(action_spec),
                       hidden)


# --- numbers ----------------------------------------------------------------------------------

def example_obs(obs_spec: ObsSpec, batch: int = 1, frames: int = 1, uint8: bool = False,
                generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Random observations in the simulator's ranges: floats in [0, 1], or uint8 images in
    [0, 255] as drtui.sim renders them; images carry `frames` stacked frames."""
    obs = {}
    for key, shape in obs_spec.items():
        shape = tuple(int(d) for d in shape)
        if len(shape) == 3:
            shape = (shape[0] * frames, *shape[1:])
            if uint8:
                obs[key] = torch.randint(0, 256, (batch, *shape), dtype=torch.uint8,
                                         generator=generator)
                continue
        obs[key] = torch.rand((batch, *shape), generator=generator)
    return obs


def parameter_count(network_name: str, obs_spec: ObsSpec, action_spec: Any,
                    **options: Any) -> int:
    """Trainable parameters of build(...) (for SAC_POLICY the actor; see critic_parameter_count).
    Built on the meta device: no memory, no init cost."""
    with torch.device("meta"):
        net = build(network_name, obs_spec, action_spec, **options)
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def critic_parameter_count(network_name: str, obs_spec: ObsSpec, action_spec: Any,
                           **options: Any) -> int:
    with torch.device("meta"):
        net = build_critic(network_name, obs_spec, action_spec, **options)
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def inference_latency_ms(network_name: str, obs_spec: ObsSpec, action_spec: Any,
                         repeats: int = 30, warmup: int = 5, stat: str = "median",
                         **options: Any) -> float:
    """Wall time of one forward pass on one frame (batch 1, CPU, no grad, eval mode) after
    warm-up, with torch's current thread count: the median of `repeats` runs, or with
    stat="min" the best (a lower bound where other processes share the CPU)."""
    if stat not in ("median", "min"):
        raise ValueError("stat must be 'median' or 'min'")
    net = build(network_name, obs_spec, action_spec, **options).eval()
    obs = example_obs(obs_spec, 1, getattr(net, "frames", 1))
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            start = time.perf_counter()
            net(obs)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return (statistics.median(times) if stat == "median" else min(times)) * 1000.0


def describe_all(sensors: Iterable[str] = ("FRONT_FACING_CAMERA",),
                 resolution: tuple[int, int] = DEEPRACER_RESOLUTION, n_actions: int = 10,
                 latency: bool = True, repeats: int = 20,
                 lidar_config: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """One row per catalogued network for `drtui list networks`: name, title, whether DeepRacer
    runs it, input, parameter count and CPU latency for one frame. Networks that cannot take
    this input (e.g. DEEP_CONVOLUTIONAL_NETWORK_DEEP below 76x76) get params None and a note.
    SAC_POLICY is shown with a continuous 2-d action space, its critic in critic_params."""
    obs_spec = obs_spec_for(tuple(sensors), resolution, lidar_config)
    rows = []
    for name, info in NETWORKS.items():
        action: ActionSpec = DEFAULT_CONTINUOUS if name == SAC_POLICY else discrete(n_actions)
        row: dict[str, Any] = {"network": name, "title": info.title, "deepracer": info.deepracer,
                               "input": _input_text(name, obs_spec), "params": None,
                               "critic_params": None, "latency_ms": None, "note": ""}
        try:
            row["params"] = parameter_count(name, obs_spec, action)
            if name == SAC_POLICY:
                row["critic_params"] = critic_parameter_count(name, obs_spec, action)
            if latency:
                row["latency_ms"] = inference_latency_ms(name, obs_spec, action, repeats=repeats)
        except ValueError as err:
            row["note"] = str(err)
        rows.append(row)
    return rows


def _input_text(name: str, obs_spec: ObsSpec) -> str:
    parts = []
    for key, shape in obs_spec.items():
        dims = "x".join(str(d) for d in shape)
        if len(shape) == 3 and name == "TEMPORAL_CNN":
            dims = f"4 frames of {dims}"
        parts.append(f"{key} {dims}")
    return ", ".join(parts)
