"""RESNET: torchvision's ResNet BasicBlock in a small three-stage ResNet for 160x120 input.

stem conv 5x5/2 + norm + ReLU + max pool 3/2 -> stages of BasicBlocks (widths 32, 64, 128,
one block each by default (blocks=(2, 2, 2) for a ResNet-14 at ~1.5x the CPU time), stride 2
between stages; overall stride 16) -> pool to 3x4 -> dense 256.
GroupNorm by default (norm="batch" for BatchNorm; see base.group_norm for why).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, conv1x1

from drtui.train.networks.base import Encoder, PooledProjection, VectorMLP, make_encoder, norm_layer


class SmallResNet(nn.Module):
    def __init__(self, shape: tuple[int, int, int], widths: Sequence[int] = (32, 64, 128),
                 blocks: Sequence[int] = (1, 1, 1), norm: str = "group",
                 out_dim: int = 256) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(shape[0], widths[0], 5, stride=2, padding=2, bias=False),
            make_norm(widths[0]), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        in_ch = widths[0]
        for i, (width, count) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            for j in range(count):
                s = stride if j == 0 else 1
                downsample = None
                if s != 1 or in_ch != width:
                    downsample = nn.Sequential(conv1x1(in_ch, width, s), make_norm(width))
                layers.append(BasicBlock(in_ch, width, s, downsample, norm_layer=make_norm))
                in_ch = width
        self.net = nn.Sequential(*layers)
        self.proj = PooledProjection(in_ch, out_dim)
        self.out_dim = out_dim
        for m in self.net.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.net(x))


def encoder(obs_spec, widths: Sequence[int] = (32, 64, 128), blocks: Sequence[int] = (1, 1, 1),
            norm: str = "group") -> Encoder:
    return make_encoder(obs_spec, image=lambda s: SmallResNet(s, widths, blocks, norm),
                        vector=lambda n: VectorMLP(n, (128, 128)), middleware=(256,))
