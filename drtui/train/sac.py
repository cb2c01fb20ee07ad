"""Soft actor-critic with DeepRacer's hyperparameters, CleanRL style: read it top to bottom.

DeepRacer trains SAC on continuous action spaces only. Here:

    sac_alpha                      the entropy temperature, fixed (DeepRacer does not tune it)
    discount_factor                gamma of the soft Bellman target
    lr                             Adam learning rate of the actor and of the critics (eps 1e-5)
    batch_size                     transitions per gradient step, sampled from the replay buffer
    loss_type                      "huber": Huber critic loss; anything else: squared error
    num_episodes_between_training  an iteration collects until this many episodes have ended
                                   (at least one per car: DeepRacer's SAC default of 1 would
                                   make an iteration of a single short episode), then trains

After each iteration's collection the networks take UPDATES_PER_STEP gradient steps per
collected transition (SB3's episodic train_freq): the batched cars collect with a fixed
policy, and the CPU does the gradient work in one go. Twin Q critics with target copies
updated by Polyak averaging (TAU) every gradient step; the actor is a tanh-squashed Gaussian
into the session's steering and speed ranges. Until LEARNING_STARTS transitions are stored,
actions are uniform in the ranges (CleanRL).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drtui.train import obs as O
from drtui.train.rollout import StopTraining, TrainEnv

TAU = 0.005
UPDATES_PER_STEP = 0.25  # gradient steps per transition: SAC is update-bound on a CPU
LEARNING_STARTS = 1_000
BUFFER_BYTES = 1 << 30  # the replay buffer holds as many transitions as fit in ~1 GiB
MAX_BUFFER = 300_000


@dataclass
class SACConfig:
    episodes_per_iteration: int = 1
    max_steps_per_iteration: int | None = None
    batch_size: int = 64
    lr: float = 3e-4
    gamma: float = 0.99
    alpha: float = 0.2
    loss_type: str = "mean squared error"
    updates_per_step: float = UPDATES_PER_STEP
    learning_starts: int = LEARNING_STARTS

    @classmethod
    def from_session(cls, session) -> SACConfig:
        hp = session.effective_hyperparameters()
        return cls(episodes_per_iteration=int(hp["num_episodes_between_training"]),
                   max_steps_per_iteration=session.training.max_steps_per_iteration,
                   batch_size=int(hp["batch_size"]), lr=float(hp["lr"]),
                   gamma=float(hp["discount_factor"]), alpha=float(hp["sac_alpha"]),
                   loss_type=str(hp["loss_type"]).lower())


class ReplayBuffer:
    """A ring buffer of (obs, action, reward, next_obs, terminal) in the stored obs form."""

    def __init__(self, shapes: dict[str, tuple[int, ...]], dtypes: dict[str, torch.dtype],
                 action_dim: int, capacity: int | None = None):
        per = sum(2 * math.prod(s) * dtypes[k].itemsize for k, s in shapes.items())
        per += 4 * action_dim + 8
        self.capacity = capacity or max(10_000, min(MAX_BUFFER, BUFFER_BYTES // per))
        c = self.capacity
        self.obs = {k: torch.zeros((c, *s), dtype=dtypes[k]) for k, s in shapes.items()}
        self.next_obs = {k: torch.zeros((c, *s), dtype=dtypes[k]) for k, s in shapes.items()}
        self.actions = torch.zeros((c, action_dim))
        self.rewards = torch.zeros(c)
        self.terminal = torch.zeros(c)
        self.pos, self.size = 0, 0

    def add(self, obs, action, reward, next_obs, terminal) -> None:
        n = len(reward)
        idx = (torch.arange(n) + self.pos) % self.capacity
        for k in self.obs:
            self.obs[k][idx] = obs[k]
            self.next_obs[k][idx] = next_obs[k]
        self.actions[idx], self.rewards[idx], self.terminal[idx] = action, reward, terminal
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch: int, generator: torch.Generator | None = None):
        idx = torch.randint(self.size, (batch,), generator=generator)
        return (O.index(self.obs, idx), self.actions[idx], self.rewards[idx],
                O.index(self.next_obs, idx), self.terminal[idx])


class SAC:
    name = "sac"

    def __init__(self, actor: nn.Module, critic: nn.Module, cfg: SACConfig,
                 store_shapes: dict[str, tuple[int, ...]], store_dtypes: dict[str, torch.dtype],
                 device: torch.device | str = "cpu", buffer_capacity: int | None = None):
        self.device = torch.device(device)
        self.actor, self.critic, self.cfg = actor.to(device), critic.to(device), cfg
        self.target = copy.deepcopy(self.critic).requires_grad_(False)
        # foreach: one kernel per step for all parameters (many small tensors on a CPU)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=cfg.lr, eps=1e-5,
                                          foreach=True)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, eps=1e-5,
                                           foreach=True)
        self._online, self._targets = list(self.critic.parameters()), list(self.target.parameters())
        self.spec = actor.action_spec
        self.buffer = ReplayBuffer(store_shapes, store_dtypes, self.spec.n, buffer_capacity)
        self.net = self.actor  # what evaluation and export run
        self._pending = 0  # transitions collected since the last update
        self.random_start = True  # uniform actions until learning starts; not after a resume
        self.interrupt: Callable[[], str | None] | None = None  # checked every gradient step

    # -- acting ----------------------------------------------------------------------------

    @torch.no_grad()
    def act(self, obs: dict[str, Tensor], greedy: bool = False) -> Tensor:
        action, _, mean_action = self.actor.sample(O.to_net(obs, self.device))
        return (mean_action if greedy else action).cpu()

    def _random_actions(self, n: int) -> Tensor:
        low, high = torch.tensor(self.spec.low), torch.tensor(self.spec.high)
        return low + torch.rand(n, self.spec.n) * (high - low)

    # -- collecting an iteration -----------------------------------------------------------

    def episodes_per_iteration(self, cars: int) -> int:
        """At least one episode per car: with n cars stepping together, an iteration of one
        episode would update and checkpoint n times as often as DeepRacer's single car does
        (the trainer's log says so when it raises the session's value)."""
        return max(self.cfg.episodes_per_iteration, cars)

    def collect(self, env: TrainEnv) -> int:
        """Step all cars, storing transitions, until the iteration's episodes have ended;
        returns the number of transitions collected."""
        cfg = self.cfg
        env.begin_iteration(self.episodes_per_iteration(env.n))
        collected = 0
        while not collected or not (env.quota_met or (
                cfg.max_steps_per_iteration and collected >= cfg.max_steps_per_iteration)):
            obs = env.obs
            if self.random_start and self.buffer.size < cfg.learning_starts:
                action = self._random_actions(env.n)
            else:
                action = self.act(obs)
            step = env.step(action)
            # a done car's next observation is its new episode's first: irrelevant for a
            # terminal transition; for a step-limit cut it stands in for the unseen next state
            next_obs = {k: torch.where(_bcast(step.done, v), obs[k], v)
                        for k, v in step.obs.items()}
            self.buffer.add(obs, action, step.reward, next_obs, step.terminated.float())
            collected += env.n
        self._pending += collected
        return collected

    # -- the update --------------------------------------------------------------------------

    def update(self, _collected=None) -> list[dict[str, float]]:
        """The gradient steps owed for the transitions collected since the last update; one
        stats dict (SAC has no epochs)."""
        if self.buffer.size < self.cfg.learning_starts:
            return []
        steps = max(1, math.ceil(self._pending * self.cfg.updates_per_step))
        self._pending = 0
        sums = {"loss": 0.0, "q_loss": 0.0, "entropy": 0.0, "q": 0.0}
        loss_fn = F.huber_loss if self.cfg.loss_type == "huber" else F.mse_loss
        gamma, alpha = self.cfg.gamma, self.cfg.alpha
        for _ in range(steps):
            if self.interrupt is not None and self.interrupt():
                raise StopTraining(self.interrupt())
            obs, action, reward, next_obs, terminal = self.buffer.sample(self.cfg.batch_size)
            obs, next_obs = O.to_net(obs, self.device), O.to_net(next_obs, self.device)
            action, reward, terminal = (x.to(self.device) for x in (action, reward, terminal))
            # critics: soft Bellman target from the target critics and the current actor
            with torch.no_grad():
                next_action, next_logp, _ = self.actor.sample(next_obs)
                tq1, tq2 = self.target(next_obs, next_action)
                target = reward + gamma * (1 - terminal) * (torch.min(tq1, tq2) - alpha * next_logp)
            q1, q2 = self.critic(obs, action)
            q_loss = loss_fn(q1, target) + loss_fn(q2, target)
            self.critic_opt.zero_grad(set_to_none=True)
            q_loss.backward()
            self.critic_opt.step()
            # actor: maximise the soft value of its own actions (critics held fixed)
            new_action, logp, _ = self.actor.sample(obs)
            self.critic.requires_grad_(False)
            pq1, pq2 = self.critic(obs, new_action)
            self.critic.requires_grad_(True)
            actor_loss = (alpha * logp - torch.min(pq1, pq2)).mean()
            self.actor_opt.zero_grad(set_to_none=True)
            actor_loss.backward()
            self.actor_opt.step()
            with torch.no_grad():
                torch._foreach_lerp_(self._targets, self._online, TAU)
            sums["loss"] += actor_loss.item()
            sums["q_loss"] += q_loss.item()
            sums["entropy"] += -logp.mean().item()
            sums["q"] += q1.mean().item()
        stats = {k: v / steps for k, v in sums.items()}
        stats.update(epoch=0, kl=0.0, learning_rate=self.cfg.lr, gradient_steps=steps)
        return [stats]

    # -- checkpoints -------------------------------------------------------------------------

    def state_dict(self) -> dict:
        # the replay buffer is not saved (hundreds of MB): a resumed SAC refills it
        return {"model": self.actor.state_dict(), "critic": self.critic.state_dict(),
                "target": self.target.state_dict(), "actor_opt": self.actor_opt.state_dict(),
                "critic_opt": self.critic_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.actor.load_state_dict(state["model"])
        self.critic.load_state_dict(state["critic"])
        self.target.load_state_dict(state["target"])
        self.actor_opt.load_state_dict(state["actor_opt"])
        self.critic_opt.load_state_dict(state["critic_opt"])
        self.random_start = False

    def policy_state(self) -> dict:
        return self.actor.state_dict()


def _bcast(mask: Tensor, like: Tensor) -> Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))
