"""Network architectures for drtui's embedded trainer.

    from drtui.train.networks import build, obs_spec_for, discrete
    net = build("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", obs_spec_for(["FRONT_FACING_CAMERA"]),
                discrete(10))
    out = net({"camera": images})   # PolicyOutput(value, logits=...)

Modules: spec (observation/action specs, conv arithmetic; no torch), base (encoder building
blocks), heads (ActorCritic, SquashedGaussianActor, TwinQCritic), deepracer (the three
DeepRacer networks), attention, multiscale, resnet, efficientnet, vit, temporal, fusion, sac
(the research architectures), factory (build and the numbers for `drtui list networks`).

The names below load lazily: importing this package, or its torch-free spec module, does not
import torch; the first use of a torch-backed name does.
"""

from __future__ import annotations

import importlib
from typing import Any

from drtui.train.networks.spec import ActionSpec, as_action_spec, continuous, discrete, obs_spec_for

_LAZY = {
    "FAMILIES": "factory", "build": "factory", "build_actor": "factory",
    "build_critic": "factory", "critic_parameter_count": "factory", "describe_all": "factory",
    "encoder": "factory", "example_obs": "factory", "inference_latency_ms": "factory",
    "parameter_count": "factory",
    "ActorCritic": "heads", "PolicyOutput": "heads", "SquashedGaussianActor": "heads",
    "TwinQCritic": "heads",
}

__all__ = ["NETWORK_NAMES", "ActionSpec", "as_action_spec", "continuous", "discrete",
           "obs_spec_for", *_LAZY]


def __getattr__(name: str) -> Any:
    if name == "NETWORK_NAMES":
        from drtui.catalog.networks import NETWORKS

        return tuple(NETWORKS)
    if name in _LAZY:
        module = importlib.import_module(f"drtui.train.networks.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
