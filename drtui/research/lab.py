"""A policy trained in-process on chosen worlds: the bench for method comparisons.

The trainer (drtui.train.trainer.Trainer) normally runs as its own process; here one is set
up in this process on a run folder, and driven iteration by iteration on whichever world a
method needs, with its weights read, replaced and evaluated on any track in between.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

FAST_ENV = {"DRTUI_TEACHER": "off", "DRTUI_THREADS": "1"}


class Lab:
    def __init__(self, session, workspace: Path, *, cars: int = 8, camera_size: str = "48x36",
                 evaluate_each_iteration: bool = False):
        from drtui.files import render
        from drtui.runstore import store
        from drtui.train.trainer import Trainer

        self.session = session
        self.run = store.create(Path(workspace), session, render.render(session),
                                provider="local", runner="embedded")
        self._log = open(self.run.log_path, "a", encoding="utf-8")  # noqa: SIM115
        env = {**FAST_ENV, "DRTUI_CARS": str(cars), "DRTUI_CAMERA_SIZE": camera_size}
        self.trainer = Trainer(self.run.path, out=self._log, env=env)
        self.trainer.evaluate_each_iteration = evaluate_each_iteration
        self.trainer._setup()
        self.started = time.monotonic()

    @property
    def net(self) -> torch.nn.Module:
        return self.trainer.algo.net

    def world(self, world: str):
        """The session on another track."""
        s = self.session.model_copy(deep=True)
        s.track.world = world
        return s

    def use_world(self, world: str, replay: list[tuple[str, float]] | None = None) -> None:
        """Train on `world` from now on; replay: (earlier world, share of the cars) pairs that
        keep some cars on earlier worlds."""
        t = self.trainer
        t.world_override = self.world(world)
        if replay:
            cars = t.settings.cars
            shares = [max(1, round(cars * share)) for _, share in replay]
            t.tasks = [(f"1:{world}", t.world_override)] + [
                (f"{k + 2}:{w}", self.world(w)) for k, (w, _) in enumerate(replay)]
            t.task_cars = [cars - sum(shares)] + shares
        else:
            t.tasks, t.task_cars = None, None
        t._build_sims()
        t._build_env()
        t.env.reset()

    def train(self, iterations: int) -> None:
        for _ in range(iterations):
            self.trainer._iterate()

    def weights(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        self.net.load_state_dict(state)

    def reset_optimizer(self) -> None:
        """A fresh Adam: moments from another task would push the new one around."""
        algo = self.trainer.algo
        algo.optimizer = torch.optim.Adam(self.net.parameters(), lr=algo.cfg.lr, eps=1e-5)

    def progress_on(self, world: str, trials: int = 4, randomization=None) -> float:
        """Mean greedy progress (percent) of one episode from each of `trials` start lines
        spread over the lap of `world` (optionally in a randomised simulator)."""
        import statistics

        from drtui.sim.env import DeepRacerSim, SimConfig
        from drtui.sim.episode import StartRule
        from drtui.train.distill import greedy_laps
        from drtui.train.obs import ObsAdapter

        t = self.trainer
        cfg = SimConfig.from_session(self.world(world), trials, camera_size=t.settings.camera_size,
                                     seed=t.seed + 1, start=StartRule(True, 1.0 / trials, 0.0,
                                                                      False),
                                     randomization=randomization)
        sim = DeepRacerSim(cfg, t.reward)
        cfg.max_steps = t._episode_limit(cfg, sim)
        adapter = ObsAdapter(sim.observation_shapes(), getattr(self.net, "frames", 1))
        ends = greedy_laps(sim, adapter, lambda obs: t.algo.act(obs, greedy=True))
        return statistics.fmean(e.progress for e in ends)

    def minutes(self) -> float:
        return (time.monotonic() - self.started) / 60.0

    def close(self) -> None:
        self.trainer._close()
        self._log.close()
