"""TEMPORAL_CNN: T stacked frames, (N, T*C, H, W), oldest frame first.

Each frame goes through one shared CNN together with its difference from the previous frame
(pixel-level motion; zero for the oldest), giving one 128-d feature per frame. A causal
temporal convolution (kernel 2, dilations 1, 2, 4, ... until it spans all T frames) mixes
them over time; the newest step's output -> dense 256.

The module's `frames` attribute is T: the trainer stacks that many frames per observation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drtui.train.networks.base import Encoder, PooledProjection, VectorMLP, make_encoder


class CausalConv1d(nn.Conv1d):
    def __init__(self, channels: int, kernel: int, dilation: int) -> None:
        super().__init__(channels, channels, kernel, dilation=dilation)
        self.left_pad = (kernel - 1) * dilation

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, (self.left_pad, 0)))


class TemporalCNN(nn.Module):
    def __init__(self, shape: tuple[int, int, int], frames: int = 4, frame_dim: int = 128,
                 out_dim: int = 256) -> None:
        super().__init__()
        if frames < 1:
            raise ValueError("TEMPORAL_CNN needs frames >= 1")
        c = shape[0]
        self.channels, self.frames = c, frames
        self.frame_cnn = nn.Sequential(
            nn.Conv2d(2 * c, 16, 8, stride=4), nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=1, padding=1), nn.ReLU(),
        )
        self.frame_proj = PooledProjection(64, frame_dim)
        tcn: list[nn.Module] = []
        dilation, reach = 1, 1
        while reach < frames:
            tcn += [CausalConv1d(frame_dim, 2, dilation), nn.ReLU()]
            reach += dilation
            dilation *= 2
        self.tcn = nn.Sequential(*tcn)
        self.fc = nn.Linear(frame_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        n, tc, h, w = x.shape
        t, c = self.frames, self.channels
        if tc != t * c:
            raise ValueError(f"TEMPORAL_CNN expects {t} stacked frames of {c} channel(s) "
                             f"({t * c} channels); got {tc}")
        frames = x.view(n, t, c, h, w)
        motion = torch.cat([torch.zeros_like(frames[:, :1]), frames[:, 1:] - frames[:, :-1]], 1)
        per_frame = torch.cat([frames, motion], dim=2).view(n * t, 2 * c, h, w)
        feats = self.frame_proj(self.frame_cnn(per_frame)).view(n, t, -1).transpose(1, 2)
        mixed = self.tcn(feats)[:, :, -1]  # (N, frame_dim), the newest step
        return torch.relu(self.fc(mixed))


def encoder(obs_spec, frames: int = 4) -> Encoder:
    return make_encoder(obs_spec, image=lambda s: TemporalCNN(s, frames),
                        vector=lambda n: VectorMLP(n, (128, 128)), middleware=(256,),
                        frames=frames)
