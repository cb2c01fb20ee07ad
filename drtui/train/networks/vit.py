"""VISION_TRANSFORMER: torchvision's VisionTransformer, small (4 layers, 4 heads, width 128,
MLP 256) on a grid of at most 8x8 patches.

torchvision's ViT takes square images only. The image is zero-padded (centred) to a square
whose side is a multiple of the patch size: patch = ceil(max(H, W) / 8), so 120x160 is padded
to 160x160 with 20-pixel patches (64 tokens, 16 of them padding) and 60x80 to 80x80 with
10-pixel patches. The position embeddings tell the padding apart. The class token's final
embedding (after the encoder's LayerNorm) is the feature vector.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.vision_transformer import VisionTransformer

from drtui.train.networks.base import Encoder, VectorMLP, make_encoder


def patch_layout(h: int, w: int, max_grid: int = 8) -> tuple[int, int]:
    """(patch size, padded square side) for an h x w image."""
    side = max(h, w)
    patch = math.ceil(side / max_grid)
    return patch, math.ceil(side / patch) * patch


class SmallViT(nn.Module):
    def __init__(self, shape: tuple[int, int, int], layers: int = 4, heads: int = 4,
                 hidden: int = 128, mlp_dim: int = 256, max_grid: int = 8) -> None:
        super().__init__()
        c, h, w = shape
        self.patch, self.side = patch_layout(h, w, max_grid)
        pad_h, pad_w = self.side - h, self.side - w
        # F.pad order: (left, right, top, bottom)
        self.padding = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
        self.vit = VisionTransformer(image_size=self.side, patch_size=self.patch,
                                     num_layers=layers, num_heads=heads, hidden_dim=hidden,
                                     mlp_dim=mlp_dim)
        # torchvision's patch embedding is for RGB; ours takes C channels (grayscale, stereo)
        self.vit.conv_proj = nn.Conv2d(c, hidden, self.patch, self.patch)
        nn.init.trunc_normal_(self.vit.conv_proj.weight, std=math.sqrt(1 / (c * self.patch ** 2)))
        nn.init.zeros_(self.vit.conv_proj.bias)
        self.vit.heads = nn.Identity()
        self.out_dim = hidden

    def forward(self, x: Tensor) -> Tensor:
        if any(self.padding):
            x = F.pad(x, self.padding)
        return self.vit(x)


def encoder(obs_spec, layers: int = 4, heads: int = 4, hidden: int = 128,
            mlp_dim: int = 256) -> Encoder:
    return make_encoder(obs_spec, image=lambda s: SmallViT(s, layers, heads, hidden, mlp_dim),
                        vector=lambda n: VectorMLP(n, (128, 128)), middleware=(256,))
