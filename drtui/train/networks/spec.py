"""What a network is built for: the observation spec, the action spec, and the
valid-padding arithmetic of DeepRacer's conv stacks. No torch import here.

Observation spec: one entry per input, {key: shape}; a 3-tuple (C, H, W) is an image, a 1-tuple
(L,) a vector. The trainer uses {"camera": (C, H, W), "lidar": (L,)} (drtui.train.obs maps the
simulator's sensor names to these); the networks accept any keys, e.g. the sensor names
drtui.sim and simapp use, {"FRONT_FACING_CAMERA": (1, 120, 160), "LIDAR": (64,)}.
Tensors are (N, *shape): images float in [0, 1] or uint8 in [0, 255] (divided by 255 inside
the network, as Coach's image embedder does); vectors float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# DeepRacer's training image, (height, width) (simapp TRAINING_IMAGE_SIZE is (160, 120) as W, H).
DEEPRACER_RESOLUTION = (120, 160)
LIDAR_RANGES = 64
SECTOR_LIDAR_SECTORS = 8

ObsSpec = Mapping[str, tuple[int, ...]]


def obs_spec_for(sensors: Iterable[str] = ("FRONT_FACING_CAMERA",),
                 resolution: tuple[int, int] = DEEPRACER_RESOLUTION,
                 lidar_config: Mapping[str, int] | None = None,
                 keys: str = "kind") -> dict[str, tuple[int, ...]]:
    """The observation spec the simulator produces for DeepRacer sensor names.

    resolution is (height, width) of the camera image; DeepRacer trains at 120x160.
    lidar_config is model_metadata's, used by DISCRETIZED_SECTOR_LIDAR (default 8 x 8).
    keys="kind" (default) keys the spec "camera" / "lidar", as the trainer does; keys="sensor"
    by sensor name, as drtui.sim and simapp do.
    """
    if keys not in ("sensor", "kind"):
        raise ValueError("keys must be 'sensor' or 'kind'")
    spec: dict[str, tuple[int, ...]] = {}
    h, w = resolution
    for name in sensors:
        if name in ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "observation"):
            kind, shape = "camera", (1, h, w)
        elif name == "STEREO_CAMERAS":
            kind, shape = "camera", (2, h, w)
        elif name == "LIDAR":
            kind, shape = "lidar", (LIDAR_RANGES,)
        elif name == "SECTOR_LIDAR":
            kind, shape = "lidar", (SECTOR_LIDAR_SECTORS,)
        elif name == "DISCRETIZED_SECTOR_LIDAR":
            cfg = dict(lidar_config or {})
            sectors = int(cfg.get("num_sectors", 8))
            kind, shape = "lidar", (sectors * int(cfg.get("num_values_per_sector", 8)),)
        else:
            raise ValueError(f"unknown sensor {name!r}")
        spec[name if keys == "sensor" else kind] = shape
    return spec


# --- valid-padding conv arithmetic (TF "VALID", torch padding=0) -------------------------------

def conv_out(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Output length of one conv along one axis: floor((size + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def conv_stack_hw(hw: tuple[int, int],
                  convs: Sequence[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """(H, W) after each (filters, kernel, stride) conv with valid padding; may reach <= 0."""
    h, w = hw
    shapes = []
    for _filters, kernel, stride in convs:
        h, w = conv_out(h, kernel, stride), conv_out(w, kernel, stride)
        shapes.append((h, w))
    return shapes


def min_input_size(convs: Sequence[tuple[int, int, int]]) -> int:
    """The smallest side a valid-padding conv stack accepts (its output is at least 1)."""
    size = 1
    for _filters, kernel, stride in reversed(convs):
        size = (size - 1) * stride + kernel
    return size


# simapp get_stereo_camera_embedders for DEEP_CONVOLUTIONAL_NETWORK and _DEEP (no dense layers)
STEREO_DEEP_CONV = ((32, 3, 1), (64, 3, 2), (64, 3, 1), (128, 3, 2), (128, 3, 1))


def camera_layers(network: str, channels: int = 1) -> tuple[tuple[tuple[int, int, int], ...],
                                                             tuple[int, ...]]:
    """(conv specs, dense widths) of a DeepRacer network's camera embedder; 2 channels is
    STEREO_CAMERAS."""
    from drtui.catalog.networks import NETWORKS

    spec = NETWORKS[network]
    if not spec.deepracer:
        raise ValueError(f"{network} is not a DeepRacer network")
    if channels == 2 and network in ("DEEP_CONVOLUTIONAL_NETWORK",
                                     "DEEP_CONVOLUTIONAL_NETWORK_DEEP"):
        return STEREO_DEEP_CONV, ()
    return spec.conv, spec.dense


def min_camera_size(network: str, channels: int = 1) -> int:
    """The smallest camera side (pixels) a DeepRacer network's valid-padding convs accept:
    36 for SHALLOW, 21 for DEEP_CONVOLUTIONAL_NETWORK, 76 for DEEP_CONVOLUTIONAL_NETWORK_DEEP
    (21 with stereo). Torch-free, for validating a simulator resolution."""
    return min_input_size(camera_layers(network, channels)[0])


# --- actions ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActionSpec:
    """Discrete: n actions (the policy gives n logits). Continuous: n = len(low) dims with bounds;
    DeepRacer's order is (steering_angle, speed)."""

    kind: str  # "discrete" | "continuous"
    n: int
    low: tuple[float, ...] = ()
    high: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("discrete", "continuous"):
            raise ValueError(f"action kind must be discrete or continuous, not {self.kind!r}")
        if self.n < 1:
            raise ValueError("an action space needs at least one action / dimension")
        if self.kind == "continuous":
            if len(self.low) != self.n or len(self.high) != self.n:
                raise ValueError("continuous actions need low and high for every dimension")
            if any(lo >= hi for lo, hi in zip(self.low, self.high)):
                raise ValueError(f"every low must be below its high: {self.low} / {self.high}")

    @property
    def is_discrete(self) -> bool:
        return self.kind == "discrete"

    # Tensor maps for continuous actions; work on any torch tensor (..., n) without importing torch.
    def scale(self, unit):
        """[-1, 1] -> [low, high]."""
        low, high = unit.new_tensor(self.low), unit.new_tensor(self.high)
        return low + (unit + 1.0) * 0.5 * (high - low)

    def unscale(self, action):
        """[low, high] -> [-1, 1]."""
        low, high = action.new_tensor(self.low), action.new_tensor(self.high)
        return (action - low) * 2.0 / (high - low) - 1.0

    def squash(self, raw):
        """An unbounded policy output -> [low, high] through tanh."""
        return self.scale(raw.tanh())


def discrete(n: int) -> ActionSpec:
    return ActionSpec("discrete", int(n))


def continuous(low: Sequence[float], high: Sequence[float]) -> ActionSpec:
    return ActionSpec("continuous", len(low), tuple(float(x) for x in low),
                      tuple(float(x) for x in high))


def as_action_spec(spec: Any) -> ActionSpec:
    """Accepts an ActionSpec; an int (n discrete actions); {"n": n} / {"type": "discrete", "n": n};
    {"low": [...], "high": [...]}; or a model_metadata action_space (a list of
    {steering_angle, speed} for discrete, {steering_angle: {low, high}, speed: {low, high}}
    for continuous)."""
    if isinstance(spec, ActionSpec):
        return spec
    if isinstance(spec, bool):
        raise TypeError("an action spec cannot be a bool")
    if isinstance(spec, int):
        return discrete(spec)
    if isinstance(spec, Mapping):
        if "low" in spec and "high" in spec:
            return continuous(list(spec["low"]), list(spec["high"]))
        if "n" in spec:
            return discrete(int(spec["n"]))
        if "steering_angle" in spec and "speed" in spec:
            s, v = spec["steering_angle"], spec["speed"]
            return continuous([s["low"], v["low"]], [s["high"], v["high"]])
    if isinstance(spec, Sequence) and not isinstance(spec, str) and spec and \
            all(isinstance(a, Mapping) for a in spec):
        return discrete(len(spec))
    raise TypeError(f"cannot read an action spec from {spec!r}")
