"""Building blocks shared by every architecture: an Encoder turns the observation dict into one
feature vector (one embedder per input, merged, then a middleware), as rl_coach builds
DeepRacer's networks: input embedders -> concatenation -> middleware -> heads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from drtui.train.networks.spec import ObsSpec


def layer_init(layer: nn.Module, std: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights, constant bias (CleanRL's init; used for the small policy/value heads)."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


def glorot_init(module: nn.Module) -> None:
    """TensorFlow's default init for Conv2D / Dense (glorot uniform, zero bias), as Coach has."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def mlp(in_dim: int, dims: Sequence[int], act: Callable[[], nn.Module] = nn.ReLU,
        dropout: float = 0.0) -> nn.Sequential:
    """Dense -> act (-> dropout) for each width in dims; an empty dims is the identity."""
    layers: list[nn.Module] = []
    for d in dims:
        layers += [nn.Linear(in_dim, d), act()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = d
    return nn.Sequential(*layers)


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 8 groups. Used instead of BatchNorm in the research CNNs: PPO collects
    rollouts in eval mode and updates in train mode, and BatchNorm's two modes then disagree."""
    return nn.GroupNorm(math.gcd(8, channels), channels)


def norm_layer(kind: str) -> Callable[[int], nn.Module]:
    if kind == "group":
        return group_norm
    if kind == "batch":
        return nn.BatchNorm2d
    raise ValueError(f"norm must be 'group' or 'batch', not {kind!r}")


class VectorMLP(nn.Module):
    """A vector input (lidar) through dense layers."""

    def __init__(self, in_dim: int, dims: Sequence[int] = (128, 128)) -> None:
        super().__init__()
        self.net = mlp(in_dim, dims)
        self.out_dim = dims[-1] if dims else in_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PooledProjection(nn.Module):
    """Feature map -> adaptive average pool to a small grid -> flatten -> dense -> ReLU.
    Keeps the coarse layout (where the road is) and makes the size independent of the
    input resolution."""

    def __init__(self, channels: int, out_dim: int = 256, grid: tuple[int, int] = (3, 4),
                 relu: bool = True) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.fc = nn.Linear(channels * grid[0] * grid[1], out_dim)
        self.act = nn.ReLU() if relu else nn.Identity()
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.fc(self.pool(x).flatten(1)))


def image_keys(obs_spec: ObsSpec) -> list[str]:
    return sorted(k for k, s in obs_spec.items() if len(s) == 3)


def vector_keys(obs_spec: ObsSpec) -> list[str]:
    return sorted(k for k, s in obs_spec.items() if len(s) == 1)


def check_obs_spec(obs_spec: ObsSpec) -> None:
    if not obs_spec:
        raise ValueError("the observation spec is empty")
    for key, shape in obs_spec.items():
        if len(shape) not in (1, 3) or any(int(d) < 1 for d in shape):
            raise ValueError(f"observation {key!r} has shape {tuple(shape)}: expected (C, H, W) "
                             "for an image or (L,) for a vector")


def as_float(x: Tensor) -> Tensor:
    """uint8 pixels -> float in [0, 1] (Coach's image embedder divides by 255 the same way)."""
    return x.float().div_(255.0) if x.dtype == torch.uint8 else x


# a leaf for torch.fx: its dtype test is not traceable, and static quantisation (compress.py)
# traces the whole policy
torch.fx.wrap("as_float")


class Encoder(nn.Module):
    """obs dict -> (N, out_dim): embed each input, merge (concatenate), then the middleware.

    frames: how many stacked frames the camera tensors carry ((N, frames*C, H, W)); 1 except
    for TEMPORAL_CNN. The trainer stacks frames when frames > 1.
    """

    def __init__(self, embedders: Mapping[str, nn.Module], middleware: Sequence[int] = (),
                 dropout: float = 0.0, frames: int = 1) -> None:
        super().__init__()
        self.embedders = nn.ModuleDict(dict(embedders))
        self.frames = frames
        merged = self.merged_dim()
        self.middleware = mlp(merged, middleware, dropout=dropout)
        self.out_dim = middleware[-1] if middleware else merged

    def merged_dim(self) -> int:
        return sum(e.out_dim for e in self.embedders.values())

    def merge(self, parts: list[Tensor]) -> Tensor:
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def forward(self, obs: Mapping[str, Tensor]) -> Tensor:
        """obs holds (N, *shape) tensors for every input the encoder was built for; other keys
        are ignored. uint8 images are divided by 255."""
        missing = [key for key in self.embedders if key not in obs]
        if missing:
            raise KeyError(f"observation {missing[0]!r} is missing; the network was built for "
                           f"{list(self.embedders)}")
        parts = [emb(as_float(obs[key])) for key, emb in self.embedders.items()]
        return self.middleware(self.merge(parts))


def make_encoder(obs_spec: ObsSpec, image: Callable[[tuple[int, int, int]], nn.Module],
                 vector: Callable[[int], nn.Module], middleware: Sequence[int] = (256,),
                 dropout: float = 0.0, frames: int = 1,
                 encoder_cls: type[Encoder] = Encoder) -> Encoder:
    """An Encoder with image(shape) for each image input and vector(length) for each vector input
    (images first, each group in key order)."""
    check_obs_spec(obs_spec)
    embedders: dict[str, nn.Module] = {}
    for key in image_keys(obs_spec):
        embedders[key] = image(tuple(int(d) for d in obs_spec[key]))
    for key in vector_keys(obs_spec):
        embedders[key] = vector(int(obs_spec[key][0]))
    return encoder_cls(embedders, middleware, dropout=dropout, frames=frames)


class CompactCNN(nn.Module):
    """The Nature-DQN / DeepRacer-shallow conv stack (32@8/4, 64@4/2, 64@3/1; the last padded so
    small images fit) -> pool to 3x4 -> dense. A cheap camera embedder for the fusion and SAC
    networks."""

    def __init__(self, shape: tuple[int, int, int], out_dim: int = 256, relu: bool = True) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(shape[0], 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1, padding=1), nn.ReLU(),
        )
        self.proj = PooledProjection(64, out_dim, relu=relu)
        self.out_dim = out_dim

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.net(x))
