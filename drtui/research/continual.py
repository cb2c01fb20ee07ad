"""Continual learning: learn a second track without forgetting the first.

Plain fine-tuning on track B overwrites what the policy knew of track A. Two remedies:

- EWC (Kirkpatrick et al., 2017): after A, estimate how much each weight mattered there (the
  diagonal of the Fisher information of the policy, E[(d log pi(a|s) / d theta)^2] on A's
  states and actions) and add lambda/2 * sum F_i (theta_i - theta_A,i)^2 to every PPO loss on B.
- Replay: keep a share of the cars driving track A while the rest learn B (drtui.sim.multi).

Measured: greedy progress on A after training on B (and on B, the price paid), against plain
fine-tuning with the same seed and iterations.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch


def fisher_diagonal(algo, env, samples: int = 128) -> dict[str, torch.Tensor]:
    """The policy's empirical Fisher diagonal from one rollout on env's world."""
    from drtui.train import obs as O
    from drtui.train.rollout import TrainEnv

    # a measurement, not training: the rollout drives env's cars without its hooks (no
    # Training> lines, metrics or trace rows of an iteration that has not started)
    quiet = TrainEnv(env.sim, env.adapter)
    quiet.obs = env.obs
    rollout = algo.collect(quiet)
    env.obs = quiet.obs
    obs = O.stack(rollout.obs)
    actions = rollout.actions.flatten(0, 1)
    n = min(samples, len(actions))
    idx = torch.randperm(len(actions))[:n]
    params = {k: p for k, p in algo.net.named_parameters() if p.requires_grad}
    fisher = {k: torch.zeros_like(p) for k, p in params.items()}
    for i in idx.split(1):
        algo.net.zero_grad(set_to_none=True)
        out = algo.net(O.to_net(O.index(obs, i), algo.device))
        algo.net.distribution(out).log_prob(actions[i]).sum().backward()
        for k, p in params.items():
            if p.grad is not None:
                fisher[k] += p.grad.detach() ** 2 / n
    algo.net.zero_grad(set_to_none=True)
    return fisher


class EWC:
    """The penalty lambda/2 sum F (theta - anchor)^2 on a network's parameters."""

    def __init__(self, net: torch.nn.Module, fisher: dict[str, torch.Tensor], lam: float):
        self.net, self.fisher, self.lam = net, fisher, lam
        self.anchor = {k: p.detach().clone() for k, p in net.named_parameters() if k in fisher}

    def penalty(self) -> torch.Tensor:
        total = torch.zeros(())
        for k, p in self.net.named_parameters():
            if k in self.fisher:
                total = total + (self.fisher[k] * (p - self.anchor[k]) ** 2).sum()
        return 0.5 * self.lam * total

    def drift(self) -> float:
        """sum F (theta - anchor)^2 now: how far the weights that mattered have moved."""
        with torch.no_grad():
            return float(self.penalty() * 2.0 / self.lam) if self.lam else 0.0


@dataclass
class ContinualResult:
    method: str
    first_track: str
    second_track: str
    progress_first_before: float
    progress_first_after: float
    progress_second_after: float
    minutes: float


def benchmark(session, *, seed: int = 0, first: str = "reinvent_base",
              second: str = "reInvent2019_wide", iterations: int = 4, lam: float = 2000.0,
              replay_share: float = 0.25, first_iterations: int | None = None,
              workspace: Path | None = None) -> list[ContinualResult]:
    """Fine-tuning, EWC and replay from the same policy trained on `first` (for
    first_iterations, default 3x iterations: forgetting needs something learnt first)."""
    from drtui.research.lab import Lab

    session = session.model_copy(deep=True)
    session.training.seed = seed
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        lab = Lab(session, Path(workspace or tmp))
        lab.use_world(first)
        lab.train(first_iterations or 3 * iterations)
        theta_a = lab.weights()
        before = lab.progress_on(first)
        fisher = fisher_diagonal(lab.trainer.algo, lab.trainer.env)
        for method in ("fine-tune", "ewc", "replay"):
            t0 = lab.minutes()
            lab.load_weights(theta_a)
            lab.reset_optimizer()
            torch.manual_seed(seed + 1)  # every method sees the same exploration noise
            lab.trainer.algo.extra_loss = None
            if method == "ewc":
                lab.trainer.algo.extra_loss = EWC(lab.net, fisher, lam).penalty
            lab.use_world(second, [(first, replay_share)] if method == "replay" else None)
            lab.train(iterations)
            lab.trainer.algo.extra_loss = None
            results.append(ContinualResult(method, first, second, before,
                                           lab.progress_on(first), lab.progress_on(second),
                                           lab.minutes() - t0))
        lab.close()
    return results
