"""Multi-task training: several worlds (tracks, race types) at once, as one batch of cars.

DRfC trains on several tracks at once with multi-config workers: worker 1 plays the session's
track and race, worker k the ones of its worker-k.env. The embedded trainer does the same
with cars: the session's [[workers]] overrides become tasks, the cars are split between them
in blocks (the first block drives task 1, the next task 2, ...), and one policy learns from
all of them. MultiSim looks like one DeepRacerSim to the trainer.
"""

from __future__ import annotations

import dataclasses

import torch


class _Generators:
    """The tasks' random generators saved and restored as one (checkpoints)."""

    def __init__(self, gens: list[torch.Generator]):
        self.gens = gens

    def get_state(self) -> torch.Tensor:
        return torch.stack([g.get_state() for g in self.gens])

    def set_state(self, state: torch.Tensor) -> None:
        for g, s in zip(self.gens, state, strict=True):
            g.set_state(s.clone())


class MultiSim:
    """DeepRacerSims side by side; cars are numbered task by task."""

    def __init__(self, sims: list, names: list[str]):
        shapes = [s.observation_shapes() for s in sims]
        if any(sh != shapes[0] for sh in shapes):
            raise ValueError("every task must give the same observations (sensors, camera size)")
        self.sims, self.names = sims, names
        self.sizes = [s.n for s in sims]
        self.n = sum(self.sizes)
        self.task_of_car = torch.repeat_interleave(torch.arange(len(sims)),
                                                   torch.tensor(self.sizes))
        self.offsets = [sum(self.sizes[:k]) for k in range(len(sims))]
        first = sims[0]
        # what the trainer reads of "the" simulator: the first task's
        self.cfg, self.track, self.dtype = first.cfg, first.track, first.dtype
        self.reward_function = first.reward_function
        self.gen = _Generators([s.gen for s in sims])
        self.last = None

    def observation_shapes(self) -> dict[str, tuple[int, ...]]:
        return self.sims[0].observation_shapes()

    def _cat(self, parts: list[dict]) -> dict[str, torch.Tensor]:
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    def reset(self) -> dict[str, torch.Tensor]:
        return self._cat([s.reset() for s in self.sims])

    def step(self, actions):
        actions = torch.as_tensor(actions)
        outs = [s.step(actions[o:o + s.n]) for s, o in zip(self.sims, self.offsets)]
        obs = self._cat([o[0] for o in outs])
        reward, term, trunc = (torch.cat([o[i] for o in outs]) for i in (1, 2, 3))
        ends = [dataclasses.replace(end, car=end.car + off)
                for o, off in zip(outs, self.offsets) for end in o[4]["episodes"]]
        self.last = self._record([s.last for s in self.sims])
        return obs, reward, term, trunc, {"episodes": ends}

    @staticmethod
    def _record(records: list):
        first, values = records[0], {}
        for f in dataclasses.fields(first):
            parts = [getattr(r, f.name) for r in records]
            if isinstance(parts[0], torch.Tensor):
                values[f.name] = torch.cat(parts)
            elif isinstance(parts[0], list):
                values[f.name] = [v for p in parts for v in p]
            elif f.name == "track_length":  # per car: each task has its own track
                values[f.name] = [p for r, p in zip(records, parts) for _ in range(len(r.x))]
            else:
                values[f.name] = parts[0]
        return type(first)(**values)

    def task(self, car: int) -> int:
        return int(self.task_of_car[car])


def task_sessions(session) -> list[tuple[str, object]]:
    """(name, session as that worker plays it) for workers 1..training.workers: worker 1 is
    the session itself, worker k takes its [[workers]] override (DRfC's worker-k.env)."""
    tasks = [(f"1:{session.track.world}", session)]
    for k in range(2, session.training.workers + 1):
        o = session.worker_override(k)
        s = session.model_copy(deep=True)
        if o is not None:
            if o.track is not None:
                s.track = o.track.model_copy()
            if o.race is not None:
                s.race = o.race.model_copy(deep=True)
            for name in ("alternate_direction", "change_start_position",
                         "round_robin_advance_dist", "start_position_offset"):
                if getattr(o, name) is not None:
                    setattr(s.training, name, getattr(o, name))
        tasks.append((f"{k}:{s.track.world}", s))
    return tasks
