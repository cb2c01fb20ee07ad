"""Observation adapters: the simulator's sensor-keyed observations -> the networks' inputs.

The simulator returns {sensor name: tensor}: cameras uint8 (N, C, H, W), lidars float32 (N, L).
The networks take {"camera": (N, frames*C, H, W) float in [0, 1], "lidar": (N, L) float}
(drtui.train.networks.spec). Rollouts and replay buffers keep the compact form (camera uint8,
4x smaller); `to_net` converts a batch to floats just before a forward pass.

The embedded trainer renders the camera smaller than DeepRacer's 160x120 by default: CPU time
goes into the CNN, and 80x60 keeps the same field of view at a quarter of the pixels
(sim-anchors: ~10x more env steps per second than 160x120 with DeepRacer's shallow CNN). The
size grows (4:3) where a network's valid-padding convs need more, e.g. 102x76 for
DEEP_CONVOLUTIONAL_NETWORK_DEEP.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor

CAMERA_SENSORS = ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS")
LIDAR_SENSORS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
DEFAULT_CAMERA_SIZE = (80, 60)  # (width, height), the trainer's internal camera


def parse_size(text: str) -> tuple[int, int]:
    """'80x60' -> (80, 60) (width, height)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"camera size must look like 80x60 (width x height), "
                         f"not {text!r}") from None
    if w < 8 or h < 8:
        raise ValueError(f"camera size {text!r} is too small")
    return w, h


def camera_size_for(network: str, wanted: tuple[int, int] = DEFAULT_CAMERA_SIZE,
                    channels: int = 1) -> tuple[int, int]:
    """`wanted`, grown at 4:3 until the network's valid-padding convs accept it."""
    from drtui.catalog.networks import NETWORKS
    from drtui.train.networks.spec import min_camera_size

    w, h = wanted
    if network in NETWORKS and NETWORKS[network].deepracer:
        need = min_camera_size(network, channels)
        if min(w, h) < need:
            h = max(h, need)
            w = max(w, math.ceil(h * 4 / 3))
    return w, h


def key_of(sensor: str) -> str:
    if sensor in CAMERA_SENSORS:
        return "camera"
    if sensor in LIDAR_SENSORS:
        return "lidar"
    raise ValueError(f"unknown sensor {sensor!r}")


def obs_spec(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The networks' obs spec from DeepRacerSim.observation_shapes()."""
    spec: dict[str, tuple[int, ...]] = {}
    for sensor, shape in shapes.items():
        key = key_of(sensor)
        if key in spec:
            raise ValueError(f"two {key} sensors: DeepRacer takes one camera and one lidar")
        spec[key] = tuple(int(d) for d in shape)
    return spec


class ObsAdapter:
    """Sim observations -> stored observations (camera uint8, frames stacked) -> net inputs.

    frames > 1 (TEMPORAL_CNN) keeps the last `frames` camera images per car, oldest first; a
    car whose episode just ended starts its stack with copies of its first image.
    """

    def __init__(self, shapes: Mapping[str, tuple[int, ...]], frames: int = 1):
        self.sensors = {sensor: key_of(sensor) for sensor in shapes}
        self.spec = obs_spec(shapes)
        self.frames = frames
        self._stack: Tensor | None = None

    def store_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-car shapes of the stored observations."""
        out = dict(self.spec)
        if "camera" in out and self.frames > 1:
            c, h, w = out["camera"]
            out["camera"] = (c * self.frames, h, w)
        return out

    def __call__(self, sim_obs: Mapping[str, Tensor], new_episode: Tensor | None = None
                 ) -> dict[str, Tensor]:
        """Stored form of one step's observations; new_episode (N,) bool marks the cars whose
        observation is the first of an episode (only used when stacking frames)."""
        out = {self.sensors[name]: value for name, value in sim_obs.items() if name in self.sensors}
        if self.frames > 1 and "camera" in out:
            out["camera"] = self._stacked(out["camera"], new_episode)
        return out

    def reset(self) -> None:
        self._stack = None

    def _stacked(self, image: Tensor, new_episode: Tensor | None) -> Tensor:
        repeated = image.repeat(1, self.frames, 1, 1)
        if self._stack is None or self._stack.shape[0] != image.shape[0]:
            self._stack = repeated
        else:
            c = image.shape[1]
            rolled = torch.cat([self._stack[:, c:], image], 1)
            if new_episode is not None:
                rolled = torch.where(new_episode.view(-1, 1, 1, 1), repeated, rolled)
            self._stack = rolled
        return self._stack


def to_net(obs: Mapping[str, Tensor], device: torch.device | str = "cpu") -> dict[str, Tensor]:
    """Stored observations -> network inputs: camera pixels to float [0, 1]."""
    out = {}
    for key, value in obs.items():
        value = value.to(device, non_blocking=True)
        out[key] = value.float().div_(255.0) if value.dtype == torch.uint8 else value.float()
    return out


def index(obs: Mapping[str, Tensor], idx) -> dict[str, Tensor]:
    return {k: v[idx] for k, v in obs.items()}


def stack(steps: list[Mapping[str, Tensor]]) -> dict[str, Tensor]:
    """[T x {key: (N, ...)}] -> {key: (T*N, ...)} (time-major, flattened)."""
    return {k: torch.stack([s[k] for s in steps]).flatten(0, 1) for k in steps[0]}
