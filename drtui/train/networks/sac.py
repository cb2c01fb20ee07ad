"""SAC_POLICY: the actor and twin-critic trunks for soft actor-critic.

Encoder (actor and critic each build their own): compact camera CNN -> dense 256 -> LayerNorm
-> tanh (the SAC-AE / DrQ encoder output, which keeps Q targets stable), lidar MLP 128-128,
concatenated.
Actor (build): encoder -> dense 256-256 trunk -> mean and state-dependent log std -> tanh into
[low, high] (heads.SquashedGaussianActor).
Critic (build_critic): encoder (no trunk) -> [features, action] -> two dense 256-256 Q heads
(heads.TwinQCritic); the two Q heads share the critic's encoder.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from drtui.train.networks.base import CompactCNN, Encoder, VectorMLP, make_encoder


class NormalizedCNN(nn.Module):
    def __init__(self, shape: tuple[int, int, int], out_dim: int = 256) -> None:
        super().__init__()
        self.cnn = CompactCNN(shape, out_dim, relu=False)
        self.norm = nn.LayerNorm(out_dim)
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(self.cnn(x)).tanh()


def encoder(obs_spec, trunk: Sequence[int] = (256, 256)) -> Encoder:
    return make_encoder(obs_spec, image=lambda s: NormalizedCNN(s, 256),
                        vector=lambda n: VectorMLP(n, (128, 128)), middleware=trunk)
