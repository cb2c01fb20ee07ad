"""Heads on top of an Encoder, and the modules the factory returns.

ActorCritic (PPO): the policy head and the value head share the encoder's output, as in
DeepRacer's clipped PPO (Coach's PPOHead and VHead on one middleware). Discrete: a dense layer
of n logits (DeepRacer applies the softmax). Continuous: a dense mean and a state-independent
log std starting at 0 (Coach's PPOHead); the mean is unbounded, and ActionSpec.squash maps a
sample into [low, high].

SquashedGaussianActor (SAC): mean and state-dependent log std; actions are tanh-squashed into
[low, high] with the log-prob correction. TwinQCritic: two Q heads on one shared encoder,
taking (obs, action in env units).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from drtui.train.networks.base import Encoder, layer_init, mlp
from drtui.train.networks.spec import ActionSpec

Obs = Mapping[str, Tensor]


class PolicyOutput(NamedTuple):
    """What a policy network returns for a batch of N observations."""

    value: Tensor | None           # (N,) state value; None for a SAC actor
    logits: Tensor | None = None   # (N, n) discrete action logits
    mean: Tensor | None = None     # (N, d) continuous, before squashing
    log_std: Tensor | None = None  # (N, d)


class ActorCritic(nn.Module):
    """Encoder -> policy head + value head (PPO)."""

    def __init__(self, encoder: Encoder, action_spec: ActionSpec) -> None:
        super().__init__()
        self.encoder = encoder
        self.action_spec = action_spec
        self.frames = encoder.frames
        d = encoder.out_dim
        self.value_head = layer_init(nn.Linear(d, 1), std=1.0)
        self.policy_head = layer_init(nn.Linear(d, action_spec.n), std=0.01)
        if not action_spec.is_discrete:
            self.log_std = nn.Parameter(torch.zeros(action_spec.n))

    def forward(self, obs: Obs) -> PolicyOutput:
        h = self.encoder(obs)
        value = self.value_head(h).squeeze(-1)
        if self.action_spec.is_discrete:
            return PolicyOutput(value, logits=self.policy_head(h))
        mean = self.policy_head(h)
        return PolicyOutput(value, mean=mean, log_std=self.log_std.expand_as(mean))

    def distribution(self, out: PolicyOutput) -> Distribution:
        if out.logits is not None:
            return Categorical(logits=out.logits)
        return Independent(Normal(out.mean, out.log_std.exp()), 1)

    def get_value(self, obs: Obs) -> Tensor:
        return self.value_head(self.encoder(obs)).squeeze(-1)

    def get_action_and_value(self, obs: Obs, action: Tensor | None = None
                             ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(action, log_prob, entropy, value); continuous actions are the raw Gaussian sample
        (map them to the car with to_env)."""
        out = self(obs)
        dist = self.distribution(out)
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), out.value

    def to_env(self, action: Tensor) -> Tensor:
        """A policy action -> what the car gets: the index, or the squashed values in bounds."""
        return action if self.action_spec.is_discrete else self.action_spec.squash(action)


class SquashedGaussianActor(nn.Module):
    """Encoder -> mean and log std -> tanh -> [low, high] (SAC)."""

    LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0

    def __init__(self, encoder: Encoder, action_spec: ActionSpec) -> None:
        super().__init__()
        if action_spec.is_discrete:
            raise ValueError("SAC needs a continuous action space (as DeepRacer requires)")
        self.encoder = encoder
        self.action_spec = action_spec
        self.frames = encoder.frames
        self.mean_head = layer_init(nn.Linear(encoder.out_dim, action_spec.n), std=0.01)
        self.log_std_head = layer_init(nn.Linear(encoder.out_dim, action_spec.n), std=0.01)

    def forward(self, obs: Obs) -> PolicyOutput:
        h = self.encoder(obs)
        log_std = torch.tanh(self.log_std_head(h))
        log_std = self.LOG_STD_MIN + 0.5 * (self.LOG_STD_MAX - self.LOG_STD_MIN) * (log_std + 1)
        return PolicyOutput(None, mean=self.mean_head(h), log_std=log_std)

    def sample(self, obs: Obs) -> tuple[Tensor, Tensor, Tensor]:
        """(action in [low, high], log_prob (N,), deterministic action in [low, high])."""
        out = self(obs)
        normal = Normal(out.mean, out.log_std.exp())
        u = normal.rsample()
        t = torch.tanh(u)
        action = self.action_spec.scale(t)
        half_range = t.new_tensor(self.action_spec.high) - t.new_tensor(self.action_spec.low)
        half_range = half_range * 0.5
        # change of variables through tanh and the affine map to the bounds
        log_prob = normal.log_prob(u) - torch.log(half_range * (1 - t.pow(2)) + 1e-6)
        return action, log_prob.sum(-1), self.action_spec.squash(out.mean)


class TwinQCritic(nn.Module):
    """Q1, Q2 (obs, action): one shared encoder, two MLP heads on [features, action in [-1, 1]].
    Actions are given in env units and rescaled inside."""

    def __init__(self, encoder: Encoder, action_spec: ActionSpec,
                 hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        if action_spec.is_discrete:
            raise ValueError("the twin Q critic needs a continuous action space")
        self.encoder = encoder
        self.action_spec = action_spec
        self.frames = encoder.frames
        in_dim = encoder.out_dim + action_spec.n
        width = hidden[-1] if hidden else in_dim
        self.q1 = nn.Sequential(mlp(in_dim, hidden), nn.Linear(width, 1))
        self.q2 = nn.Sequential(mlp(in_dim, hidden), nn.Linear(width, 1))

    def forward(self, obs: Obs, action: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.cat([self.encoder(obs), self.action_spec.unscale(action)], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)
