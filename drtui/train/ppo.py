"""Clipped PPO with DeepRacer's hyperparameters, CleanRL style: read it top to bottom.

What each DeepRacer hyperparameter does here (deepracer-simapp sagemaker_graph_manager.py and
Coach's ClippedPPOAgent):

    num_episodes_between_training  an iteration collects experience from the N cars until this
                                   many episodes have ended (training.max_steps_per_iteration,
                                   when set, caps the env steps of one iteration). Cars still
                                   mid-episode go on into the next iteration; their unfinished
                                   part is bootstrapped with the value head.
    num_epochs                     passes over the iteration's experience per update
    batch_size                     minibatch size of each gradient step
    lr                             Adam learning rate (Adam eps 1e-5, as Coach)
    beta_entropy                   weight of the entropy bonus
    discount_factor                gamma of the returns and of GAE
    loss_type                      "huber": value loss is Huber; anything else: squared error
    exploration_type               "categorical": sample the policy; "e-greedy" (discrete):
                                   a random action with probability epsilon, else the greedy
                                   one, epsilon falling linearly 1.0 -> e_greedy_value over
                                   epsilon_steps env steps. Continuous actions always sample.
Fixed, as the simulator fixes them: GAE lambda 0.95, clip epsilon 0.2.

Discrete actions: a categorical policy over the action list. Continuous: a Gaussian on an
unbounded pre-activation, squashed with tanh into the session's steering and speed ranges
(ActionSpec.squash); the ratio uses the Gaussian's log-prob, as the tanh's Jacobian cancels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drtui.train import obs as O
from drtui.train.rollout import StopTraining, TrainEnv

GAE_LAMBDA = 0.95
CLIP_EPSILON = 0.2
VALUE_COEF = 0.5
MAX_GRAD_NORM = 0.5  # keeps one bad minibatch from wrecking the policy (CleanRL's default)


@dataclass
class PPOConfig:
    episodes_per_iteration: int = 20
    max_steps_per_iteration: int | None = None
    num_epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-4
    beta_entropy: float = 0.01
    gamma: float = 0.99
    loss_type: str = "huber"
    exploration_type: str = "categorical"
    e_greedy_value: float = 0.05
    epsilon_steps: int = 10_000

    @classmethod
    def from_session(cls, session) -> PPOConfig:
        hp = session.effective_hyperparameters()
        return cls(episodes_per_iteration=int(hp["num_episodes_between_training"]),
                   max_steps_per_iteration=session.training.max_steps_per_iteration,
                   num_epochs=int(hp["num_epochs"]), batch_size=int(hp["batch_size"]),
                   lr=float(hp["lr"]), beta_entropy=float(hp["beta_entropy"]),
                   gamma=float(hp["discount_factor"]), loss_type=str(hp["loss_type"]).lower(),
                   exploration_type=str(hp["exploration_type"]).lower(),
                   e_greedy_value=float(hp["e_greedy_value"]),
                   epsilon_steps=int(hp["epsilon_steps"]))


@dataclass
class Rollout:
    """One iteration's experience, time-major (T steps x N cars)."""

    obs: list[dict[str, Tensor]]
    actions: Tensor  # (T, N) discrete or (T, N, d) raw Gaussian samples
    logprobs: Tensor  # (T, N)
    values: Tensor  # (T, N)
    rewards: Tensor  # (T, N)
    dones: Tensor  # (T, N) the episode ended at this step
    last_value: Tensor  # (N,) value of the observation after the last step


class PPO:
    name = "clipped_ppo"

    def __init__(self, net: nn.Module, cfg: PPOConfig, device: torch.device | str = "cpu"):
        self.net, self.cfg, self.device = net.to(device), cfg, torch.device(device)
        self.optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=1e-5, foreach=True)
        self.discrete = net.action_spec.is_discrete
        self.env_steps = 0  # for the e-greedy schedule
        # checked between minibatches: a stop request abandons the update (the weights of the
        # last complete iteration are on disk) instead of waiting out a long camera update
        self.interrupt: Callable[[], str | None] | None = None
        # a term added to every minibatch loss (continual learning's EWC penalty)
        self.extra_loss: Callable[[], Tensor] | None = None

    # -- acting ----------------------------------------------------------------------------

    def epsilon(self) -> float:
        frac = min(1.0, self.env_steps / max(1, self.cfg.epsilon_steps))
        return 1.0 + frac * (self.cfg.e_greedy_value - 1.0)

    @torch.no_grad()
    def act(self, obs: dict[str, Tensor], greedy: bool = False) -> Tensor:
        """What the cars get: the action index, or steering and speed in the session's ranges."""
        out = self.net(O.to_net(obs, self.device))
        if self.discrete:
            return out.logits.argmax(-1).cpu()
        return self.net.action_spec.squash(out.mean).cpu()

    @torch.no_grad()
    def _explore(self, obs: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """(action as stored, its log-prob under the policy, state value)."""
        out = self.net(O.to_net(obs, self.device))
        dist = self.net.distribution(out)
        action = dist.sample()
        if self.discrete and self.cfg.exploration_type == "e-greedy":
            greedy = out.logits.argmax(-1)
            random = torch.randint_like(greedy, out.logits.shape[-1])
            explore = torch.rand(greedy.shape, device=greedy.device) < self.epsilon()
            action = torch.where(explore, random, greedy)
        return action, dist.log_prob(action), out.value

    # -- collecting an iteration -----------------------------------------------------------

    def collect(self, env: TrainEnv) -> Rollout:
        """Step all cars until episodes_per_iteration episodes have ended (or the step cap)."""
        cfg, gamma = self.cfg, self.cfg.gamma
        obs, actions, logprobs, values, rewards, dones = [], [], [], [], [], []
        env.begin_iteration(cfg.episodes_per_iteration)
        # at least one step, even when held-over episodes already make the quota
        while not obs or not (env.quota_met or (
                cfg.max_steps_per_iteration and len(obs) * env.n >= cfg.max_steps_per_iteration)):
            action, logprob, value = self._explore(env.obs)
            obs.append(env.obs)
            step = env.step(self.net.to_env(action))
            self.env_steps += env.n
            reward = step.reward.to(self.device)
            # an episode cut by the step limit would have gone on: bootstrap it with the value
            # of its last observation (the next one belongs to the car's new episode)
            reward = reward + gamma * value * step.truncated.to(self.device)
            actions.append(action), logprobs.append(logprob), values.append(value)
            rewards.append(reward), dones.append(step.done.to(self.device).float())
        with torch.no_grad():
            last_value = self.net.get_value(O.to_net(env.obs, self.device))
        return Rollout(obs, torch.stack(actions), torch.stack(logprobs), torch.stack(values),
                       torch.stack(rewards), torch.stack(dones), last_value)

    # -- the update --------------------------------------------------------------------------

    def advantages(self, ro: Rollout) -> tuple[Tensor, Tensor]:
        """GAE(lambda) advantages and the value targets (returns)."""
        gamma, T = self.cfg.gamma, len(ro.rewards)  # noqa: N806 - T: the rollout length
        adv = torch.zeros_like(ro.rewards)
        last = torch.zeros_like(ro.last_value)
        for t in reversed(range(T)):
            next_value = ro.last_value if t == T - 1 else ro.values[t + 1]
            live = 1.0 - ro.dones[t]
            delta = ro.rewards[t] + gamma * next_value * live - ro.values[t]
            last = delta + gamma * GAE_LAMBDA * live * last
            adv[t] = last
        return adv, adv + ro.values

    def update(self, ro: Rollout) -> list[dict[str, float]]:
        """num_epochs passes of minibatch gradient steps; one stats dict per epoch (what the
        `Policy training>` lines print)."""
        cfg = self.cfg
        adv, returns = self.advantages(ro)
        fit = explained_variance(ro.values.flatten(), returns.flatten())
        obs = O.stack(ro.obs)
        b_actions = ro.actions.flatten(0, 1)
        b_logprobs, b_adv, b_returns = (x.flatten() for x in (ro.logprobs, adv, returns))
        size = len(b_logprobs)
        value_loss_fn = F.huber_loss if cfg.loss_type == "huber" else F.mse_loss
        epochs = []
        self.net.train()
        for epoch in range(cfg.num_epochs):
            sums = {"loss": 0.0, "kl": 0.0, "entropy": 0.0, "value_loss": 0.0, "clipfrac": 0.0}
            batches = 0
            for idx in torch.randperm(size).split(cfg.batch_size):
                if self.interrupt is not None and self.interrupt():
                    raise StopTraining(self.interrupt())
                mb = O.to_net(O.index(obs, idx), self.device)
                idx = idx.to(self.device)
                out = self.net(mb)
                dist = self.net.distribution(out)
                logprob = dist.log_prob(b_actions[idx])
                entropy = dist.entropy().mean()
                log_ratio = logprob - b_logprobs[idx]
                ratio = log_ratio.exp()
                mb_adv = b_adv[idx]
                if len(idx) > 1:  # per-minibatch normalisation (CleanRL, Coach)
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                clipped = ratio.clamp(1 - CLIP_EPSILON, 1 + CLIP_EPSILON)
                surrogate = torch.max(-mb_adv * ratio, -mb_adv * clipped).mean()
                value_loss = value_loss_fn(out.value, b_returns[idx])
                loss = surrogate - cfg.beta_entropy * entropy + VALUE_COEF * value_loss
                if self.extra_loss is not None:
                    loss = loss + self.extra_loss()
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.net.parameters(), MAX_GRAD_NORM)
                self.optimizer.step()
                with torch.no_grad():  # the low-variance KL estimator (Schulman)
                    sums["kl"] += float(((ratio - 1) - log_ratio).mean())
                    sums["clipfrac"] += float(((ratio - 1).abs() > CLIP_EPSILON).float().mean())
                sums["loss"] += surrogate.item()
                sums["entropy"] += entropy.item()
                sums["value_loss"] += value_loss.item()
                batches += 1
            stats = {k: v / max(1, batches) for k, v in sums.items()}
            stats.update(epoch=epoch, learning_rate=cfg.lr, explained_variance=fit)
            epochs.append(stats)
        self.net.eval()
        return epochs

    # -- checkpoints -------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {"model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                "env_steps": self.env_steps}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.env_steps = int(state.get("env_steps", 0))

    def policy_state(self) -> dict:
        """The weights evaluation and export need."""
        return self.net.state_dict()


def explained_variance(values: Tensor, returns: Tensor) -> float:
    """How much of the returns' variance the value head predicted (1 is perfect)."""
    var = float(returns.var())
    return math.nan if var == 0 else 1.0 - float((returns - values).var()) / var
