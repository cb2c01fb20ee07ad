"""Camera policies in minutes on a CPU: a privileged teacher, distilled into the camera network.

Clipped PPO from pixels is update-bound on a CPU (sim-anchors.md: ~40-450 env steps/s), so a
camera model needs far longer to lap than the same task from the car's true state. Before the
first PPO iteration of a camera session the trainer therefore

1. trains a teacher with the same PPO, the session's hyperparameters, reward function and
   action space, on privileged observations the simulator knows exactly: the centre line
   ahead in the car's frame, the car's speed and steering (a small MLP, many cars, no camera
   rendering: thousands of env steps a second);
2. distils it into the session's camera network with DAgger: the cars are driven by the
   teacher, then by the student more and more, every frame is labelled with the teacher's
   action distribution and value, and the student learns them by supervised learning
   (cross-entropy / Gaussian regression and value regression): far fewer frames than RL;
3. hands the student to PPO, which fine-tunes it on the camera as usual (its value head is
   already sensible, so the first updates do not undo the distillation).

The phases print `## drtui:` lines; they are not DeepRacer iterations. Their env steps are
counted in the total steps of the first checkpoint. DRTUI_TEACHER=off skips all this.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from drtui.train import obs as O
from drtui.train.ppo import PPO, PPOConfig
from drtui.train.rollout import StopTraining, TrainEnv

LOOKAHEAD_M = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0)
TEACHER_CARS = 64
TEACHER_MAX_STEPS = 3_000_000
TEACHER_EVAL_EVERY = 3  # iterations between the teacher's greedy checks
DAGGER_FRAMES = 2_048  # labelled frames per DAgger round
DAGGER_EPOCHS = 2.0  # gradient steps per round, in passes over a round's worth of frames
DAGGER_MAX_ROUNDS = 40
DAGGER_BUFFER = 40_000


class PrivilegedState:
    """(N, D) features of every car of a simulator: the centre line at LOOKAHEAD_M ahead of
    the car's nearest centre point, in the car's frame, and its speed and steering."""

    dim = 2 * len(LOOKAHEAD_M) + 2

    def __init__(self, sim):
        self.sim = sim
        self.ahead = torch.tensor(LOOKAHEAD_M, dtype=sim.dtype)

    def __call__(self) -> Tensor:
        sim, car = self.sim, self.sim.car
        out = torch.empty((sim.n, self.dim), dtype=torch.float32)
        for reverse in (False, True):
            sel = sim.reverse == reverse
            if not bool(sel.any()):
                continue
            centre = sim.track.lines(reverse).centre
            x, y, yaw = car.x[sel], car.y[sel], car.yaw[sel]
            along, _ = centre.project(torch.stack([x, y], -1))
            points = centre.interpolate(torch.remainder(along[:, None] + self.ahead, centre.length))
            dx, dy = points[..., 0] - x[:, None], points[..., 1] - y[:, None]
            c, s = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
            local = torch.cat([c * dx + s * dy, -s * dx + c * dy], -1)
            out[sel] = torch.cat([local, car.speed[sel, None], car.steer[sel, None]], -1).float()
        return out


class StateAdapter:
    """ObsAdapter's interface for the teacher: {"state": PrivilegedState()}."""

    def __init__(self, sim):
        self.features = PrivilegedState(sim)

    def __call__(self, _sim_obs=None, _new_episode=None) -> dict[str, Tensor]:
        return {"state": self.features()}

    def reset(self) -> None:
        pass


def teacher_network(action_spec) -> nn.Module:
    from drtui.train.networks.base import VectorMLP, make_encoder
    from drtui.train.networks.heads import ActorCritic

    enc = make_encoder({"state": (PrivilegedState.dim,)}, image=None,
                       vector=lambda n: VectorMLP(n, (128, 128)), middleware=())
    return ActorCritic(enc, action_spec)


def greedy_laps(sim, adapter, act: Callable[[dict], Tensor], should_stop=None) -> list:
    """One greedy episode per car from start lines spread over the lap; the EpisodeEnds."""
    sim.start_ndist = sim.cfg.start.first_starts(sim.n, sim.dtype)
    sim.reverse = torch.full((sim.n,), bool(sim.cfg.reverse))
    adapter.reset()
    obs = adapter(sim.reset())
    results: list = [None] * sim.n
    while any(r is None for r in results):
        with torch.no_grad():
            sim_obs, _, term, trunc, info = sim.step(act(obs))
        obs = adapter(sim_obs, term | trunc)
        for end in info["episodes"]:
            if results[end.car] is None:
                results[end.car] = end
        if should_stop is not None and should_stop():
            raise StopTraining(should_stop())
    return results


def train_teacher(session, reward, spec, *, seed: int, log: Callable[[str], None],
                  should_stop: Callable[[], str | None], cars: int = TEACHER_CARS,
                  max_steps: int = TEACHER_MAX_STEPS, episode_limit: int | None = None,
                  eval_trials: int = 4) -> tuple[PPO, int]:
    """PPO on privileged state until its greedy policy laps from every eval start (or
    max_steps); (the teacher, env steps used)."""
    from drtui.sim.env import DeepRacerSim, SimConfig
    from drtui.sim.episode import StartRule

    cfg = SimConfig.from_session(session, cars, sensors=(), seed=seed + 7)
    if episode_limit:
        cfg.max_steps = episode_limit
    sim = DeepRacerSim(cfg, reward)
    eval_cfg = SimConfig.from_session(session, eval_trials, sensors=(), seed=seed + 8,
                                      start=StartRule(True, 1.0 / eval_trials, 0.0, False))
    eval_cfg.max_steps = cfg.max_steps
    eval_sim = DeepRacerSim(eval_cfg, reward)
    ppo_cfg = PPOConfig.from_session(session)
    ppo_cfg.episodes_per_iteration = max(ppo_cfg.episodes_per_iteration, cars)
    ppo_cfg.max_steps_per_iteration = None
    teacher = PPO(teacher_network(spec), ppo_cfg)
    teacher.interrupt = should_stop
    env = TrainEnv(sim, StateAdapter(sim), should_stop=should_stop)
    eval_adapter = StateAdapter(eval_sim)
    env.reset()
    start, iteration = time.monotonic(), 0
    while env.total_steps < max_steps:
        iteration += 1
        ends: list = []
        env.on_episode = ends.append
        teacher.update(teacher.collect(env))
        progress = sum(e.progress for e in ends) / max(1, len(ends))
        laps = sum(e.status == "lap_complete" for e in ends) / max(1, len(ends))
        rate = env.total_steps / max(1e-9, time.monotonic() - start)
        line = (f"## drtui: teacher iteration {iteration}: {len(ends)} episodes, mean progress "
                f"{progress:.1f}%, laps {laps:.2f}, {env.total_steps} env steps ({rate:.0f}/s)")
        if iteration % TEACHER_EVAL_EVERY == 0 or laps >= 0.5:
            results = greedy_laps(eval_sim, eval_adapter, lambda o: teacher.act(o, greedy=True),
                                  should_stop)
            done = sum(r.status == "lap_complete" for r in results)
            line += f"; greedy laps {done}/{len(results)}"
            if done == len(results):
                log(line)
                break
        log(line)
    return teacher, env.total_steps


class _Labels:
    """The DAgger data set: camera frames (stored form) with the teacher's targets."""

    def __init__(self, capacity: int):
        self.capacity, self.obs, self.targets, self.values = capacity, None, None, None
        self.size = self.pos = 0

    def add(self, obs: dict[str, Tensor], target: Tensor, value: Tensor) -> None:
        n = len(value)
        if self.obs is None:
            self.obs = {k: torch.zeros((self.capacity, *v.shape[1:]), dtype=v.dtype)
                        for k, v in obs.items()}
            self.targets = torch.zeros((self.capacity, *target.shape[1:]))
            self.values = torch.zeros(self.capacity)
        idx = (torch.arange(n) + self.pos) % self.capacity
        for k, v in obs.items():
            self.obs[k][idx] = v
        self.targets[idx], self.values[idx] = target, value
        self.pos, self.size = (self.pos + n) % self.capacity, min(self.capacity, self.size + n)

    def sample(self, batch: int):
        idx = torch.randint(self.size, (batch,))
        return O.index(self.obs, idx), self.targets[idx], self.values[idx]


def distill(student: PPO, teacher: PPO, env: TrainEnv, eval_sim, eval_adapter, *,
            batch_size: int, log: Callable[[str], None],
            should_stop: Callable[[], str | None]) -> int:
    """DAgger from teacher to student on the camera simulator `env` (whose cars also give
    the privileged state); stops once the student's greedy policy laps from every eval start.
    Returns the env steps used."""
    net, spec = student.net, student.net.action_spec
    features = PrivilegedState(env.sim)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-5)
    data = _Labels(DAGGER_BUFFER)
    steps0, start = env.total_steps, time.monotonic()
    env.reset()
    for rnd in range(DAGGER_MAX_ROUNDS):
        beta = max(0.0, 1.0 - rnd / 2)  # who drives: the teacher, then half, then the student
        frames = 0
        while frames < DAGGER_FRAMES:
            with torch.no_grad():
                out = teacher.net({"state": features()})
                target = (torch.softmax(out.logits, -1) if spec.is_discrete
                          else torch.cat([out.mean, out.log_std], -1))
                data.add(env.obs, target, out.value)
                mine = student.act(env.obs) if beta < 1 else None
                if spec.is_discrete:
                    theirs = torch.distributions.Categorical(logits=out.logits).sample()
                else:
                    theirs = spec.squash(out.mean)
                if mine is None:
                    action = theirs
                else:
                    use_teacher = torch.rand(env.n) < beta
                    action = torch.where(use_teacher.view(-1, *([1] * (theirs.dim() - 1))),
                                         theirs, mine)
            env.step(action)
            frames += env.n
        # supervised: the teacher's distribution and value on every frame seen so far
        net.train()
        losses = []
        for _ in range(math.ceil(DAGGER_EPOCHS * DAGGER_FRAMES / batch_size)):
            if should_stop():
                raise StopTraining(should_stop())
            obs, target, value = data.sample(batch_size)
            target, value = target.to(student.device), value.to(student.device)
            out = net(O.to_net(obs, student.device))
            if spec.is_discrete:
                policy_loss = -(target * F.log_softmax(out.logits, -1)).sum(-1).mean()
            else:
                mean, log_std = target.chunk(2, -1)
                policy_loss = F.mse_loss(out.mean, mean) + F.mse_loss(out.log_std, log_std)
            loss = policy_loss + 0.5 * F.mse_loss(out.value, value)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
            losses.append(policy_loss.item())
        net.eval()
        results = greedy_laps(eval_sim, eval_adapter, lambda o: student.act(o, greedy=True),
                              should_stop)
        done = sum(r.status == "lap_complete" for r in results)
        progress = [round(r.progress, 1) for r in results]
        used = env.total_steps - steps0
        log(f"## drtui: distillation round {rnd + 1}: {data.size} frames, policy loss "
            f"{sum(losses) / len(losses):.3f}, student greedy progress {progress}, "
            f"{used} env steps, {time.monotonic() - start:.0f} s")
        if done == len(results):
            break
    return env.total_steps - steps0
