"""The three networks DeepRacer trains, layer for layer as deepracer-simapp builds them with Coach.

Per input, an embedder (simapp markov/sensors/utils.py, markov/architecture/embedder_factory.py
create_scheme; rl_coach embedders/embedder.py):
  camera: conv [filters, kernel, stride] with VALID padding, ReLU after each, then the dense
          layers with ReLU, then flatten. Coach applies every scheme layer to the previous
          layer's output and flattens only at the end, and a Keras Dense on the 4-D conv map
          acts on its last axis: each dense layer is the same weights at every position of the
          last conv map (here a 1x1 conv). At 160x120, DEEP_CONVOLUTIONAL_NETWORK's last map is
          25x35x64, so the middleware sees 25*35*64 = 56,000 inputs (28.7 M parameters in all).
          A 2-channel STEREO_CAMERAS input uses the SHALLOW convs for the shallow network and
          STEREO_DEEP_CONV (no dense layers) for the other two.
  lidar (LIDAR, SECTOR_LIDAR, DISCRETIZED_SECTOR_LIDAR): dense 256, 256 with ReLU.
The embeddings are concatenated, then the middleware (dense with ReLU: 512, or 256-128 for
DEEP_CONVOLUTIONAL_NETWORK_DEEP), then the PPO heads (heads.py).

Fidelity notes:
- simapp builds these with EmbedderType.SCHEME and ReLU (markov/agents/utils.py
  get_network_settings), so the batchnorm / tanh / dropout entries of its scheme dicts are not
  used: the real graphs have no batchnorm and no dropout. `dropout` adds dropout after each
  middleware layer (0.5 would follow the scheme dict's BN_INFO_DENSE for the DEEP network); the
  default 0.0 matches the real simulator.
- Weights start as TensorFlow's default (glorot uniform, zero bias); a 1x1 conv's glorot
  bounds are those of the Dense kernel it stands for.
- torch flattens (C, H, W); TensorFlow flattens NHWC (H, W, C). The middleware's first layer
  therefore sees its inputs in another order: tf_checkpoint.nhwc_rows_to_nchw permutes its
  rows, for all three networks (and so would an exporter to DeepRacer's frozen graph).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from drtui.catalog.networks import NETWORKS
from drtui.train.networks.base import Encoder, VectorMLP, glorot_init, make_encoder
from drtui.train.networks.spec import (  # noqa: F401
    STEREO_DEEP_CONV,
    ObsSpec,
    camera_layers,
    conv_stack_hw,
    min_camera_size,
    min_input_size,
)

NAMES = ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "DEEP_CONVOLUTIONAL_NETWORK",
         "DEEP_CONVOLUTIONAL_NETWORK_DEEP")

LIDAR_DENSE = (256, 256)


def middleware_layers(network: str) -> tuple[int, ...]:
    return NETWORKS[network].middleware


class CameraEmbedder(nn.Module):
    """conv (VALID) + ReLU ..., dense + ReLU at each position (1x1 conv) ..., flatten.

    conv_shapes: (C, H, W) after each conv; map_shape: (C, H, W) of what is flattened (the last
    dense layer's units on the last conv map's grid); n_convs: how many of the Conv2d layers
    in `net` are convs proper (the rest are the per-position dense layers)."""

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
        for width in dense:  # Coach's Dense on the unflattened map
            layers += [nn.Conv2d(in_ch, width, 1), nn.ReLU()]
            in_ch = width
        layers.append(nn.Flatten())
        self.net = nn.Sequential(*layers)
        self.n_convs = len(convs)
        self.conv_shapes = [(f, hh, ww) for (f, _k, _s), (hh, ww) in zip(convs, shapes)]  # (C,H,W)
        self.map_shape = (in_ch, *shapes[-1])
        self.out_dim = in_ch * shapes[-1][0] * shapes[-1][1]

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

