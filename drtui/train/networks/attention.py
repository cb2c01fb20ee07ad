"""ATTENTION_CNN: a small CNN whose feature map is pooled by learned spatial attention.

conv stem (DeepRacer-like 32@8/4, 64@4/2, 64@3/1, padded; stride 8) -> feature map F
(64 ch) with two coordinate channels appended ->
K attention heads: a 1x1 conv gives K logits per cell, softmax over all cells; each head pools
a 1x1-conv projection of [F, x, y] with its weights (a "spatial softmax": the pooled vector
carries what the head sees and where). The K pooled vectors -> dense 256.

`last_attention` keeps the most recent maps, (N, K, h, w), for drawing where the policy looks.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from drtui.train.networks.base import Encoder, VectorMLP, make_encoder


class SpatialAttentionCNN(nn.Module):
    def __init__(self, shape: tuple[int, int, int], heads: int = 4, channels: int = 64,
                 value_dim: int = 64, out_dim: int = 256) -> None:
        super().__init__()
        c = shape[0]
        self.stem = nn.Sequential(
            nn.Conv2d(c, 32, 8, stride=4, padding=2), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, channels, 3, stride=1, padding=1), nn.ReLU(),
        )
        self.attn = nn.Conv2d(channels + 2, heads, 1)
        self.value = nn.Conv2d(channels + 2, value_dim, 1)
        self.fc = nn.Linear(heads * value_dim, out_dim)
        self.heads = heads
        self.out_dim = out_dim
        self.last_attention: Tensor | None = None

    @staticmethod
    def coords(x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))  # (2, h, w)
        return grid.unsqueeze(0).expand(n, -1, -1, -1)

    def forward(self, x: Tensor) -> Tensor:
        f = self.stem(x)
        f = torch.cat([f, self.coords(f)], dim=1)
        n, _, h, w = f.shape
        weights = self.attn(f).flatten(2).softmax(dim=-1)    # (N, K, h*w)
        values = self.value(f).flatten(2)                    # (N, V, h*w)
        pooled = torch.bmm(weights, values.transpose(1, 2))  # (N, K, V)
        self.last_attention = weights.detach().view(n, self.heads, h, w)
        return torch.relu(self.fc(pooled.flatten(1)))


def encoder(obs_spec, heads: int = 4) -> Encoder:
    return make_encoder(obs_spec, image=lambda s: SpatialAttentionCNN(s, heads=heads),
                        vector=lambda n: VectorMLP(n, (128, 128)), middleware=(256,))
