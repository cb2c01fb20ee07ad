"""MULTI_SCALE_CNN: parallel conv branches at kernel sizes 3, 5 and 7 (Inception-style), so
one stage sees fine lane edges and the wider shape of the road ahead at once.

stem conv 32@8/4 -> MultiScaleBlock(16 ch per branch, stride 2) -> MultiScaleBlock(16 ch per
branch, stride 1) -> pool to 3x4 -> dense 256. Each block: one branch per kernel size (ReLU),
concatenated, fused by a 1x1 conv (ReLU). Overall stride 8.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from drtui.train.networks.base import Encoder, PooledProjection, VectorMLP, make_encoder


class MultiScaleBlock(nn.Module):
    def __init__(self, in_ch: int, branch_ch: int, out_ch: int,
                 kernels: Sequence[int] = (3, 5, 7), stride: int = 2) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Conv2d(in_ch, branch_ch, k, stride=stride, padding=k // 2) for k in kernels)
        self.fuse = nn.Conv2d(branch_ch * len(kernels), out_ch, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.cat([torch.relu(b(x)) for b in self.branches], dim=1)
        return torch.relu(self.fuse(x))


class MultiScaleCNN(nn.Module):
    def __init__(self, shape: tuple[int, int, int], kernels: Sequence[int] = (3, 5, 7),
                 out_dim: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(shape[0], 32, 8, stride=4, padding=2), nn.ReLU(),
            MultiScaleBlock(32, 16, 48, kernels, stride=2),
            MultiScaleBlock(48, 16, 64, kernels, stride=1),
        )
        self.proj = PooledProjection(64, out_dim)
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.net(x))


def encoder(obs_spec, kernels: Sequence[int] = (3, 5, 7)) -> Encoder:
    return make_encoder(obs_spec, image=lambda s: MultiScaleCNN(s, kernels),
                        vector=lambda n: VectorMLP(n, (128, 128)), middleware=(256,))
