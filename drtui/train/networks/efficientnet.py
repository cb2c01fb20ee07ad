"""EFFICIENTNET: torchvision's MBConv blocks (inverted residual + squeeze-excitation) in
EfficientNet-B0's first five stages, at half width and half depth for CPU training.

stem conv 3x3/2 (16 ch) -> MBConv stages (B0 rows 1-5 at width 0.5, depth 0.5: 8, 16, 24, 40,
56 channels) -> 1x1 conv head to 128 -> pool to 3x4 -> dense 256. The stage strides are
B0's (1, 2, 2, 2, 1) moved earlier to (2, 2, 2, 1, 1): the same overall stride 16, but the
depthwise convs (slow on CPU, above all backwards) run on 4x fewer pixels; this roughly halves
the training time.
No stochastic depth (RL targets are noisy enough). GroupNorm by default (norm="batch" for B0's
BatchNorm).
"""

from __future__ import annotations

import copy

from torch import Tensor, nn
from torchvision.models.efficientnet import MBConv, MBConvConfig
from torchvision.ops.misc import Conv2dNormActivation

from drtui.train.networks.base import Encoder, PooledProjection, VectorMLP, make_encoder, norm_layer

# EfficientNet-B0 stages 1-5: expand ratio, kernel, stride, in, out, layers (torchvision's table)
# with the strides changed as described above
B0_STAGES = ((1, 3, 2, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2),
             (6, 3, 1, 40, 80, 3), (6, 5, 1, 80, 112, 3))


class SmallEfficientNet(nn.Module):
    def __init__(self, shape: tuple[int, int, int], width_mult: float = 0.5,
                 depth_mult: float = 0.5, head_ch: int = 128, norm: str = "group",
                 out_dim: int = 256) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        configs = [MBConvConfig(*row, width_mult=width_mult, depth_mult=depth_mult)
                   for row in B0_STAGES]
        stem_ch = configs[0].input_channels
        layers: list[nn.Module] = [Conv2dNormActivation(shape[0], stem_ch, 3, stride=2,
                                                        norm_layer=make_norm,
                                                        activation_layer=nn.SiLU)]
        for cnf in configs:
            for i in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if i > 0:  # as torchvision: later blocks of a stage keep width and stride 1
                    block_cnf.input_channels, block_cnf.stride = cnf.out_channels, 1
                layers.append(MBConv(block_cnf, 0.0, make_norm))
        layers.append(Conv2dNormActivation(configs[-1].out_channels, head_ch, 1,
                                           norm_layer=make_norm, activation_layer=nn.SiLU))
        self.net = nn.Sequential(*layers)
        self.proj = PooledProjection(head_ch, out_dim)
        self.out_dim = out_dim
        for m in self.net.modules():  # torchvision EfficientNet's init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.net(x))


def encoder(obs_spec, width_mult: float = 0.5, depth_mult: float = 0.5,
            norm: str = "group") -> Encoder:
    return make_encoder(
        obs_spec, image=lambda s: SmallEfficientNet(s, width_mult, depth_mult, norm=norm),
        vector=lambda n: VectorMLP(n, (128, 128)), middleware=(256,))
