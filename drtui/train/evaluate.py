"""Evaluation laps with a trained checkpoint, as a DeepRacer evaluation job drives them.

Each trial is one lap attempt from the start line with the greedy policy; the trials run side
by side as cars of one batched simulator, and their times are laid end to end as a
DeepRacer evaluation records them. With session.evaluation.is_continuous (DeepRacer's default)
a car that leaves the track, crashes, reverses or stops is put back on the centre line
reset_behind_dist metres behind where it left and the trial goes on, with off_track_penalty /
collision_penalty seconds added, until the lap is done or max_resets resets were spent;
otherwise the trial ends at the first such event.

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

RESET_STATUSES = ("off_track", "crashed", "reversed", "immobilized")
TRIAL_LIMIT_LAPS = 4.0  # steps a trial may take: four laps at the slowest speed


@dataclass
class Trial:
    trial: int
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


@dataclass
class ResetBehind(StartRule):
    """A StartRule whose next episode starts where the car left the road, `behind` (a lap
    fraction) back: continuous evaluation's reset. `sim` is set once the simulator exists."""

    behind: float = 0.0
    sim: object = None

    def advance(self, start_ndist, reverse, ended):
        left_at = start_ndist + self.sim.last.progress.to(start_ndist.dtype) / 100.0
        restart = torch.remainder(left_at - self.behind, 1.0)
        return torch.where(ended, restart, start_ndist), reverse


def evaluate(run_dir: str | Path, laps: int | None = None, checkpoint: str = "best", *,
             out: TextIO | None = None, is_continuous: bool | None = None, policy=None,
             folder: Path | None = None,
             camera_size: tuple[int, int] | None = None) -> EvaluationResult:
    """Drive `laps` evaluation trials (default session.evaluation.number_of_trials) with a
    checkpoint's greedy policy; write the metrics JSON and the lap picture. `out` receives
    SIM_TRACE_LOG lines of trial 1 and one summary line per trial. `policy` drives instead
    of the checkpoint's own (a compressed one, say) and `folder` replaces
    RUN_DIR/metrics/evaluation; `camera_size` (W, H) replaces the trainer's internal camera
    (160x120 for a car model file, which takes the car's frames)."""
    from drtui.train.trainer import torch_threads

    with torch_threads():
        return _evaluate(Path(run_dir), laps, checkpoint, out, is_continuous, policy, folder,
                         camera_size)


def _evaluate(run_dir: Path, laps: int | None, checkpoint: str, out: TextIO | None,
              is_continuous: bool | None, override=None,
              folder: Path | None = None,
              camera_size: tuple[int, int] | None = None) -> EvaluationResult:
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
    n = laps or ev.number_of_trials
    policy, payload = ckpt.load_policy(run_dir, checkpoint)
    if override is not None:  # needs GreedyPolicy's keys, discrete, net.frames and action()
        policy = override
    reward_path = run_dir / "files" / "custom_files" / "reward_function.py"
    reward = load_reward_function(reward_path) if reward_path.is_file() else None

    rule = ResetBehind(change_start=False, start_position_offset=0.0)
    camera_size = camera_size or tuple(payload["build"]["camera_size"])
    cfg = SimConfig.from_session(session, n, camera_size=tuple(camera_size),
                                 reverse=ev.reverse_direction, start=rule, seed=0,
                                 sensors=tuple(payload["build"]["sensors"]))
    sim = DeepRacerSim(cfg, reward)
    rule.sim, rule.behind = sim, ev.reset_behind_dist / sim.track.length
    slowest = max(0.1, min(cfg.speed_range))
    limit = math.ceil(TRIAL_LIMIT_LAPS * sim.track.length / (slowest * STEP_S))
    cfg.max_steps = limit
    adapter = ObsAdapter(sim.observation_shapes(), getattr(policy.net, "frames", 1))
    trace = SimTraceLog(out, [0]) if out is not None else None

    trials = [Trial(k + 1) for k in range(n)]
    offset = [0.0] * n  # trial progress at the start of each car's current episode
    obs = adapter(sim.reset())
    steps = 0
    while not all(t.done for t in trials) and steps < limit:
        sim_obs, reward_t, term, trunc, info = sim.step(policy.action(to_net(obs)))
        obs = adapter(sim_obs, term | trunc)
        steps += 1
        rec = sim.last
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
            t.penalty_s += ev.collision_penalty if end.status == "crashed" else ev.off_track_penalty
            offset[end.car] += end.progress - 100.0 * rule.behind
    for t in trials:
        if not t.done:
            t.status = "time_up"

    stamp = time.strftime("%Y%m%d%H%M%S")
    folder = folder or run_dir / "metrics" / "evaluation"
    folder.mkdir(parents=True, exist_ok=True)
    metrics, clock = [], 0.0
    for t in trials:
        start, clock = clock, clock + t.elapsed_s
        metrics.append({
            "completion_percentage": int(t.progress),
            "metric_time": int(round(clock * 1000)),
            "start_time": int(round(start * 1000)),
            "elapsed_time_in_milliseconds": int(round(t.elapsed_s * 1000)),
            "episode_status": STATUS_LABELS[STATUS_NAMES.index(t.status)],
            "crash_count": t.counts["crashed"], "immobilized_count": t.counts["immobilized"],
            "off_track_count": t.counts["off_track"], "reversed_count": t.counts["reversed"],
            "reset_count": t.resets, "trial": t.trial})
        if out is not None:
            out.write(f"## agent: Evaluation trial {t.trial}: {t.status}, progress "
                      f"{t.progress:.2f}%, time {t.elapsed_s:.3f} s, resets {t.resets}\n")
    metrics_path = folder / f"evaluation-{stamp}.json"
    metrics_path.write_text(json.dumps({"metrics": metrics}, indent=2), encoding="utf-8")
    first = trials[0]
    picture = write_episode_png(folder / f"evaluation-{stamp}.png", sim.track, EpisodeEnd(
        car=0, episode=0, steps=first.steps, progress=first.progress, reward=first.reward,
        status=first.status, start_time=0.0, end_time=first.sim_time_s,
        reversed=bool(ev.reverse_direction), path=first.path))
    return EvaluationResult(payload["name"], trials, metrics_path, picture)
