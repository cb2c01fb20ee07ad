"""Evaluation laps with a trained checkpoint, as a DeepRacer evaluation job drives them.

Each trial is one lap attempt with the greedy policy; the trials run side by side as cars of
one batched simulator, and their times are laid end to end as a DeepRacer evaluation records
them. Where each trial starts (`start`): "spread" (the default) puts trial k of n at k/n of
the lap from the start line, so that the trials tell how the model drives every part of the
track from a standing start; "line" starts every trial at the start line, as simapp's
evaluation worker does (its start line never advances outside training, and continuous
trials there are laps driven back to back). `world` drives another shipped track and
`reverse` the track the other way round.

With session.evaluation.is_continuous (DeepRacer's default) a car that leaves the track,
crashes, reverses or stops is put back as simapp's rollout_agent_ctrl does: at the point of
the lap it had reached on the step before (or reset_behind_dist metres behind an obstacle
within 1 m of that point), at rest; off_track_penalty seconds are added for leaving the
track or reversing, collision_penalty for a crash, none for stopping; the trial goes on until
the lap is done or max_resets resets were spent. Otherwise the trial ends at the first such
event.

Writes RUN_DIR/metrics/evaluation/evaluation-YYYYmmddHHMMSS.json in DeepRacer's format
({"metrics": [{completion_percentage, metric_time, start_time, elapsed_time_in_milliseconds,
episode_status, crash_count, immobilized_count, off_track_count, reversed_count, reset_count,
trial}, ...]}) and a .png of the first trial's path on the track.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import torch

from drtui.sim.episode import STATUS_LABELS, STATUS_NAMES, StartRule
from drtui.train import START_RULES

RESET_STATUSES = ("off_track", "crashed", "reversed", "immobilized")
TRIAL_LIMIT_LAPS = 4.0  # steps a trial may take: four laps at the slowest speed


@dataclass
class Trial:
    trial: int
    start_ndist: float = 0.0  # where it started, as a fraction of the lap from the start line
    progress: float = 0.0  # percent of the lap, resets included
    status: str = "in_progress"
    steps: int = 0
    sim_time_s: float = 0.0
    penalty_s: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: {s: 0 for s in RESET_STATUSES})
    resets: int = 0
    path: list[tuple[float, float]] = field(default_factory=list)
    reward: float = 0.0

    @property
    def done(self) -> bool:
        return self.status != "in_progress"

    @property
    def elapsed_s(self) -> float:
        return self.sim_time_s + self.penalty_s


@dataclass
class EvaluationResult:
    checkpoint: str
    trials: list[Trial]
    metrics_path: Path
    picture_path: Path | None
    world: str = ""
    reverse: bool = False
    start: str = "spread"
    continuous: bool = True

    @property
    def laps_completed(self) -> int:
        return sum(t.status == "lap_complete" for t in self.trials)

    @property
    def mean_progress(self) -> float:
        return statistics.fmean(t.progress for t in self.trials)

    @property
    def best_lap_s(self) -> float | None:
        laps = [t.elapsed_s for t in self.trials if t.status == "lap_complete"]
        return min(laps) if laps else None


CLOSEST_OBJ_GAP_M = 1.0  # simapp's CLOSEST_OBJ_GAP: an obstacle this close moves the reset back
# seconds a reset holds the car, by cause (simapp: REVERSE_PENALTY defaults to the off-track
# penalty, IMMOBILIZED_PENALTY to 0)
PENALTY_KEYS = {"off_track": "off_track_penalty", "reversed": "off_track_penalty",
                "crashed": "collision_penalty"}


@dataclass
class ResetBehind(StartRule):
    """A StartRule whose next episode starts where continuous evaluation puts a car back:
    at the lap point of the step before it left the road (`prev`, the episode progress of
    that step, which the caller sets before each step), or `behind` metres behind an obstacle
    within CLOSEST_OBJ_GAP_M of that point. `spawn` keeps each car's restart as progress of
    the episode that ended (the caller's trial progress offset). `sim` is set once the
    simulator exists."""

    behind: float = 0.0
    sim: object = None
    prev: torch.Tensor | None = None
    spawn: torch.Tensor | None = None

    def advance(self, start_ndist, reverse, ended):
        sim, length = self.sim, self.sim.track.length
        spawn = self.prev.to(start_ndist.dtype).clone()
        # simapp's _get_closest_obj (boxes): centre-line distance to each obstacle
        if sim.objects.m and not sim.objects.cfg.moving:
            at = torch.remainder(start_ndist + spawn / 100.0, 1.0) * length
            gap = (sim.objects.base_dist - at[:, None]).abs().remainder(length)
            near, closest = gap.min(1)
            obstacle = sim.objects.base_dist.gather(1, closest[:, None])[:, 0]
            # the obstacle's distance ahead of the spawn point, signed (it may lie behind)
            ahead = torch.remainder(obstacle - at + length / 2, length) - length / 2
            spawn = torch.where(near < CLOSEST_OBJ_GAP_M,
                                spawn + (ahead - self.behind) / length * 100.0, spawn)
        self.spawn = spawn
        restart = torch.remainder(start_ndist + spawn / 100.0, 1.0)
        return torch.where(ended, restart, start_ndist), reverse


def evaluate(run_dir: str | Path, laps: int | None = None, checkpoint: str = "best", *,
             out: TextIO | None = None, is_continuous: bool | None = None, policy=None,
             folder: Path | None = None,
             camera_size: tuple[int, int] | None = None, world: str | None = None,
             reverse: bool | None = None, start: str = "spread") -> EvaluationResult:
    """Drive `laps` evaluation trials (default session.evaluation.number_of_trials) with a
    checkpoint's greedy policy ("best", "last" or a name checkpoint.resolve knows); write
    the metrics JSON and the lap picture. `out` receives SIM_TRACE_LOG lines of trial 1 and
    one summary line per trial. `policy` drives instead of the checkpoint's own (a
    compressed one, say) and `folder` replaces RUN_DIR/metrics/evaluation; `camera_size`
    (W, H) replaces the trainer's internal camera (160x120 for a car model file, which takes
    the car's frames). `world` replaces the session's track, `reverse` its evaluation
    direction; `start` is one of START_RULES (the module doc)."""
    from drtui.train.trainer import torch_threads

    if start not in START_RULES:
        raise ValueError(f"start must be one of {', '.join(START_RULES)}, not {start!r}")
    with torch_threads():
        return _evaluate(Path(run_dir), laps, checkpoint, out, is_continuous, policy, folder,
                         camera_size, world, reverse, start)


def _evaluate(run_dir: Path, laps: int | None, checkpoint: str, out: TextIO | None,
              is_continuous: bool | None, override=None,
              folder: Path | None = None,
              camera_size: tuple[int, int] | None = None, world: str | None = None,
              reverse: bool | None = None, start: str = "spread") -> EvaluationResult:
    from drtui.reward.check import load_reward_function
    from drtui.session import store as session_store
    from drtui.sim.car import STEP_S
    from drtui.sim.env import DeepRacerSim, EpisodeEnd, SimConfig
    from drtui.sim.logs import SimTraceLog, write_episode_png
    from drtui.train import checkpoint as ckpt
    from drtui.train.obs import ObsAdapter, to_net

    session = session_store.load(run_dir / "session.toml")
    ev = session.evaluation
    continuous = ev.is_continuous if is_continuous is None else is_continuous
    backwards = ev.reverse_direction if reverse is None else reverse
    n = laps or ev.number_of_trials
    policy, payload = ckpt.load_policy(run_dir, ckpt.resolve(run_dir, checkpoint))
    if override is not None:  # needs GreedyPolicy's keys, discrete, net.frames and action()
        policy = override
    reward_path = run_dir / "files" / "custom_files" / "reward_function.py"
    reward = load_reward_function(reward_path) if reward_path.is_file() else None

    # first_starts: trial k at k/n of the lap ("spread") or every trial on the line
    rule = ResetBehind(change_start=start == "spread", round_robin_advance_dist=1.0 / n,
                       start_position_offset=0.0)
    camera_size = camera_size or tuple(payload["build"]["camera_size"])
    cfg = SimConfig.from_session(session, n, camera_size=tuple(camera_size),
                                 reverse=backwards, start=rule, seed=0,
                                 sensors=tuple(payload["build"]["sensors"]),
                                 **({"world": world} if world else {}))
    sim = DeepRacerSim(cfg, reward)
    rule.sim, rule.behind = sim, ev.reset_behind_dist
    rule.prev = torch.zeros(n, dtype=sim.dtype)
    slowest = max(0.1, min(cfg.speed_range))
    limit = math.ceil(TRIAL_LIMIT_LAPS * sim.track.length / (slowest * STEP_S))
    cfg.max_steps = limit
    adapter = ObsAdapter(sim.observation_shapes(), getattr(policy.net, "frames", 1))
    trace = SimTraceLog(out, [0]) if out is not None else None

    trials = [Trial(k + 1, start_ndist=s) for k, s in enumerate(sim.start_ndist.tolist())]
    offset = [0.0] * n  # trial progress at the start of each car's current episode
    obs = adapter(sim.reset())
    steps = 0
    while not all(t.done for t in trials) and steps < limit:
        sim_obs, reward_t, term, trunc, info = sim.step(policy.action(to_net(obs)))
        obs = adapter(sim_obs, term | trunc)
        steps += 1
        rec = sim.last
        rule.prev = rec.progress  # where the next reset puts a car that leaves on the next step
        if trace is not None and not trials[0].done:
            trace.write(rec)
        xs, ys, prog = rec.x.tolist(), rec.y.tolist(), rec.progress.tolist()
        rewards = reward_t.tolist()
        for t in trials:
            if t.done:
                continue
            i = t.trial - 1
            t.steps += 1
            t.sim_time_s += STEP_S
            t.reward += rewards[i]
            t.path.append((xs[i], ys[i]))
            t.progress = min(100.0, max(t.progress, offset[i] + prog[i]))
            if t.progress >= 100.0:
                t.status = "lap_complete"
        spawn = rule.spawn.tolist() if info["episodes"] else None
        for end in info["episodes"]:
            t = trials[end.car]
            if t.done:
                continue
            if end.status in RESET_STATUSES:
                t.counts[end.status] += 1
            if not continuous or end.status not in RESET_STATUSES or t.resets >= ev.max_resets:
                t.status = end.status
                continue
            t.resets += 1
            key = PENALTY_KEYS.get(end.status)
            t.penalty_s += getattr(ev, key) if key else 0.0
            offset[end.car] += spawn[end.car]
        # a reset's new episode starts afresh: its first step's progress is 0 again
        rule.prev = torch.where(rec.done, 0.0, rule.prev)
    for t in trials:
        if not t.done:
            t.status = "time_up"

    stamp = time.strftime("%Y%m%d%H%M%S")
    folder = folder or run_dir / "metrics" / "evaluation"
    folder.mkdir(parents=True, exist_ok=True)
    metrics, clock = [], 0.0
    for t in trials:
        began, clock = clock, clock + t.elapsed_s
        metrics.append({
            "completion_percentage": int(t.progress),
            "metric_time": int(round(clock * 1000)),
            "start_time": int(round(began * 1000)),
            "elapsed_time_in_milliseconds": int(round(t.elapsed_s * 1000)),
            "episode_status": STATUS_LABELS[STATUS_NAMES.index(t.status)],
            "crash_count": t.counts["crashed"], "immobilized_count": t.counts["immobilized"],
            "off_track_count": t.counts["off_track"], "reversed_count": t.counts["reversed"],
            "reset_count": t.resets, "trial": t.trial})
        if out is not None:
            out.write(f"## agent: Evaluation trial {t.trial} from {100 * t.start_ndist:.1f}% of "
                      f"the lap: {t.status}, progress "
                      f"{t.progress:.2f}%, time {t.elapsed_s:.3f} s, resets {t.resets}\n")
    metrics_path = folder / f"evaluation-{stamp}.json"
    metrics_path.write_text(json.dumps({"metrics": metrics}, indent=2), encoding="utf-8")
    first = trials[0]
    picture = write_episode_png(folder / f"evaluation-{stamp}.png", sim.track, EpisodeEnd(
        car=0, episode=0, steps=first.steps, progress=first.progress, reward=first.reward,
        status=first.status, start_time=0.0, end_time=first.sim_time_s,
        reversed=bool(backwards), path=first.path))
    return EvaluationResult(payload["name"], trials, metrics_path, picture, world=cfg.world,
                            reverse=bool(backwards), start=start, continuous=continuous)
