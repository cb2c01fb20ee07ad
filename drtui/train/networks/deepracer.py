"""The three networks DeepRacer trains, layer for layer as deepracer-simapp builds them with Coach.

Per input, an embedder (simapp markov/sensors/utils.py):
  camera: conv [filters, kernel, stride] with VALID padding, ReLU after each, flatten, then the
          dense layers with ReLU. A 2-channel STEREO_CAMERAS input uses the SHALLOW convs for
          the shallow network and STEREO_DEEP_CONV (no dense layers) for the other two.
  lidar (LIDAR, SECTOR_LIDAR, DISCRETIZED_SECTOR_LIDAR): dense 256, 256 with ReLU.
The embeddings are concatenated, then the middleware (dense with ReLU: 512, or 256-128 for
DEEP_CONVOLUTIONAL_NETWORK_DEEP), then the PPO heads (heads.py).

Fidelity notes:
- simapp builds these with EmbedderType.SCHEME and ReLU (markov/agents/utils.py
  get_network_settings), so the batchnorm / tanh / dropout entries of its scheme dicts are not
  used: the real graphs have no batchnorm and no dropout. `dropout` adds dropout after each
  middleware layer (0.5 would follow the scheme dict's BN_INFO_DENSE for the DEEP network); the
  default 0.0 matches the real simulator.
- Weights start as TensorFlow's default (glorot uniform, zero bias).
- torch flattens (C, H, W); TensorFlow flattens NHWC (H, W, C). An exporter to DeepRacer's
  frozen graph has to permute the first dense layer's rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from drtui.catalog.networks import NETWORKS
from drtui.train.networks.base import Encoder, VectorMLP, glorot_init, make_encoder
from drtui.train.networks.spec import (STEREO_DEEP_CONV, ObsSpec, camera_layers,  # noqa: F401
                                       conv_stack_hw, min_camera_size, min_input_size)

NAMES = ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "DEEP_CONVOLUTIONAL_NETWORK",
         "DEEP_CONVOLUTIONAL_NETWORK_DEEP")

LIDAR_DENSE = (256, 256)


def middleware_layers(network: str) -> tuple[int, ...]:
    return NETWORKS[network].middleware


class CameraEmbedder(nn.Module):
    """conv (VALID) + ReLU ..., flatten, dense + ReLU ..."""

    def __init__(self, network: str, shape: tuple[int, int, int]) -> None:
        super().__init__()
        c, h, w = shape
        convs, dense = camera_layers(network, c)
        shapes = conv_stack_hw((h, w), convs)
        if min(shapes[-1]) < 1:
            need = min_input_size(convs)
            raise ValueError(f"{network} needs a camera of at least {need}x{need} pixels "
                             f"(valid-padding convs {[list(s) for s in convs]}); got {h}x{w}")
        layers: list[nn.Module] = []
        in_ch = c
        for filters, kernel, stride in convs:
            layers += [nn.Conv2d(in_ch, filters, kernel, stride), nn.ReLU()]
            in_ch = filters
        layers.append(nn.Flatten())
        in_dim = in_ch * shapes[-1][0] * shapes[-1][1]
        for width in dense:
            layers += [nn.Linear(in_dim, width), nn.ReLU()]
            in_dim = width
        self.net = nn.Sequential(*layers)
        self.conv_shapes = [(f, hh, ww) for (f, _k, _s), (hh, ww) in zip(convs, shapes)]  # (C,H,W)
        self.out_dim = in_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def encoder(network: str, obs_spec: ObsSpec, dropout: float = 0.0,
            middleware: Sequence[int] | None = None) -> Encoder:
    if network not in NAMES:
        raise ValueError(f"{network!r} is not a DeepRacer network ({', '.join(NAMES)})")
    enc = make_encoder(
        obs_spec,
        image=lambda shape: CameraEmbedder(network, shape),
        vector=lambda length: VectorMLP(length, LIDAR_DENSE),
        middleware=middleware_layers(network) if middleware is None else middleware,
        dropout=dropout)
    glorot_init(enc)
    return enc

