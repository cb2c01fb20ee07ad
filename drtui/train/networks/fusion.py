"""MULTIMODAL_FUSION: a camera CNN and a lidar MLP, fused by a gated multimodal unit
(Arevalo et al. 2017, extended to any number of inputs) instead of plain concatenation.

Each input's embedding e_k -> h_k = tanh(W_k e_k) (256-d); gate logits from all embeddings
together, softmax across inputs per feature: z_k; fused = sum_k z_k * h_k -> dense 256.
The gates let the policy lean on the lidar when a car is beside it and on the camera for the
road. With a camera alone it reduces to a camera CNN. `last_gates` keeps the latest mean gate
per input, (K,), for display.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from drtui.train.networks.base import CompactCNN, Encoder, VectorMLP, make_encoder

FUSED_DIM = 256


class GatedFusionEncoder(Encoder):
    def __init__(self, embedders, middleware=(), dropout: float = 0.0, frames: int = 1) -> None:
        super().__init__(embedders, middleware, dropout=dropout, frames=frames)
        dims = [e.out_dim for e in self.embedders.values()]
        self.project = nn.ModuleList(nn.Linear(d, FUSED_DIM) for d in dims)
        self.gate = nn.Linear(sum(dims), FUSED_DIM * len(dims))
        self.last_gates: Tensor | None = None

    def merged_dim(self) -> int:
        return FUSED_DIM

    def merge(self, parts: list[Tensor]) -> Tensor:
        h = torch.stack([torch.tanh(p(x)) for p, x in zip(self.project, parts)], dim=1)
        z = self.gate(torch.cat(parts, dim=-1)).view(h.shape).softmax(dim=1)  # (N, K, D)
        self.last_gates = z.detach().mean(dim=(0, 2))
        return (z * h).sum(dim=1)


def encoder(obs_spec) -> Encoder:
    return make_encoder(obs_spec, image=lambda s: CompactCNN(s, 256),
                        vector=lambda n: VectorMLP(n, (128, 128)), middleware=(256,),
                        encoder_cls=GatedFusionEncoder)
