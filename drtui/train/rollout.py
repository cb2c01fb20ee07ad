"""The simulator as PPO and SAC see it: N cars stepping together, observations in the stored
form (drtui.train.obs), and hooks through which the trainer logs every step and episode.

An iteration counts exactly its quota of episodes (`begin_iteration`): when several cars end
their episodes on the iteration's last step, those past the quota are held over and counted
(logged, and their metrics kept) as the first episodes of the next iteration. Their steps
are in this iteration's batch; only the bookkeeping moves, so every iteration's log and
metrics hold num_episodes_between_training episodes, as DeepRacer's do.

A stop request (SIGINT, SIGTERM, the time limit) is honoured between steps: `step` finishes
the step, runs the hooks, then raises StopTraining, so the iteration in progress is dropped
and the trainer falls back on the last complete iteration's checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from drtui.train.obs import ObsAdapter


class StopTraining(Exception):
    """Raised between steps when the trainer must stop; reason: 'stopped' | 'finished'."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class StepOut:
    obs: dict[str, Tensor]  # stored observations after the step (a new episode's where done)
    reward: Tensor  # (N,) float32
    terminated: Tensor  # (N,) bool: the episode ended (off track, lap complete, ...)
    truncated: Tensor  # (N,) bool: the episode hit the step limit
    ends: list  # drtui.sim.env.EpisodeEnd of the episodes that ended

    @property
    def done(self) -> Tensor:
        return self.terminated | self.truncated


class TrainEnv:
    """Wraps a DeepRacerSim. `obs` is always the current stored observation of every car."""

    def __init__(self, sim, adapter: ObsAdapter, *,
                 on_step: Callable | None = None, on_episode: Callable | None = None,
                 should_stop: Callable[[], str | None] | None = None):
        self.sim, self.adapter = sim, adapter
        self.n = sim.n
        self.on_step, self.on_episode, self.should_stop = on_step, on_episode, should_stop
        self.total_steps = 0  # env steps of all cars, across iterations (restored on resume)
        self.obs: dict[str, Tensor] = {}
        self.quota: int | None = None  # episodes this iteration counts; None: every one
        self.counted = 0
        self.held: list = []  # EpisodeEnds past the last iteration's quota, counted next

    def begin_iteration(self, quota: int) -> None:
        """Count the next `quota` episodes, the held-over ones first."""
        self.quota, self.counted = quota, 0
        held, self.held = self.held, []
        for end in held:
            self._count(end)

    @property
    def quota_met(self) -> bool:
        return self.quota is not None and self.counted >= self.quota

    def _count(self, end) -> None:
        if self.quota_met:
            self.held.append(end)
            return
        self.counted += 1
        if self.on_episode is not None:
            self.on_episode(end)

    def reset(self) -> dict[str, Tensor]:
        self.adapter.reset()
        with torch.no_grad():
            self.obs = self.adapter(self.sim.reset())
        return self.obs

    def step(self, actions: Tensor) -> StepOut:
        with torch.no_grad():
            sim_obs, reward, terminated, truncated, info = self.sim.step(actions.cpu())
        self.obs = self.adapter(sim_obs, terminated | truncated)
        self.total_steps += self.n
        if self.on_step is not None:
            self.on_step(self.sim.last)
        for end in info["episodes"]:
            self._count(end)
        if self.should_stop is not None:
            reason = self.should_stop()
            if reason:
                raise StopTraining(reason)
        return StepOut(self.obs, reward.float(), terminated, truncated, info["episodes"])
