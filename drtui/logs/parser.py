"""DeepRacer log lines -> typed events, for every runner: robomaker/simulation logs,
SageMaker training logs, the console's logs and drtui's own trainer, old formats and new.

The parser is a small state machine fed one line at a time (`feed`), so it works on a live
stream as well as on a file. It tracks the episode in progress from SIM_TRACE_LOG steps,
counts episodes per iteration and emits IterationEnd at each iteration boundary:
the SageMaker `Checkpoint> Saving ... N_Step-M.ckpt` line, or, in a robomaker log that has
no checkpoint lines, the start of the in-training evaluation phase.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Iterator

from drtui.events import (
    Checkpoint,
    EpisodeEnd,
    EvaluationEnd,
    Event,
    IterationEnd,
    LogLine,
    PolicyUpdate,
    StageChange,
    Status,
    Step,
    TaskIteration,
)
from drtui.logs.camera import TAG as CAMERA_TAG
from drtui.logs.camera import parse_frame
from drtui.logs.protocol import (
    CHECKPOINT,
    DROA_METRIC,
    DROA_STATUS,
    EPISODE,
    EVAL_DONE,
    EVAL_PROGRESS,
    EVAL_START_MARK,
    POLICY,
    RESUMED,
    STAGE,
    TASK,
    TRACE_TAG,
)

_LEVEL = (("error", re.compile(r"\b(ERROR|Error|Traceback|Exception|FAILED|failed)\b")),
          ("warning", re.compile(r"\b(WARNING|Warning|WARN|RuntimeWarning|timed out)\b")))
_TRUE = "True"


def parse_step(line: str, worker: int = 0) -> Step | None:
    """The Step of a line carrying SIM_TRACE_LOG (anywhere in it), else None."""
    at = line.find(TRACE_TAG)
    if at < 0:
        return None
    f = line[at + len(TRACE_TAG):].strip().split(",")
    # Older continuous logs printed the action as "[steer, speed]": rejoin it.
    if len(f) > 8 and f[7].startswith("[") and not f[7].endswith("]"):
        f[7:9] = [f[7] + " " + f[8].strip()]
    n = len(f)
    if n < 15:
        return None
    try:
        raw = f[7]
        if raw.startswith("["):
            steer, speed = raw.strip("[]").split()
            action: int | tuple[float, float] = (float(steer), float(speed))
        else:
            action = int(float(raw))
        return Step(
            episode=int(f[0]), steps=int(float(f[1])), x=float(f[2]), y=float(f[3]),
            yaw=float(f[4]), steer=float(f[5]), throttle=float(f[6]), action=action,
            reward=float(f[8]), done=f[9] == _TRUE, all_wheels_on_track=f[10] == _TRUE,
            progress=float(f[11]), closest_waypoint=int(f[12]), track_len=float(f[13]),
            tstamp=float(f[14]),
            episode_status=f[15] if n > 15 else None,
            pause_duration=float(f[16]) if n > 16 else None,
            obstacle_crash_counter=int(float(f[17])) if n > 17 else None,
            wall_clock=float(f[18]) if n > 18 else None,
            worker=worker,
        )
    except (ValueError, IndexError):
        return None


def level_of(line: str) -> str:
    for level, pattern in _LEVEL:
        if pattern.search(line):
            return level
    return "info"


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


class LogParser:
    """Feed lines, get events. One parser per log stream (per worker)."""

    def __init__(self, *, worker: int = 0, source: str = "", phase: str = "training",
                 emit_lines: bool = True, emit_steps: bool = True):
        self.worker, self.source, self.phase = worker, source, phase
        self.emit_lines, self.emit_steps = emit_lines, emit_steps
        self.iteration = 0  # completed iterations
        self._seen_trace = False
        self._seen_checkpoint = False
        self._episode_reward = 0.0
        self._episode_start: float | None = None
        self._trace_end_pending: EpisodeEnd | None = None  # ended by the trace, line to come
        self._episodes: list[EpisodeEnd] = []  # training episodes of this iteration
        self._updates: list[PolicyUpdate] = []
        self._eval: EvaluationEnd | None = None
        self._droa_eval: list[float] = []  # progress of DRoA evaluation episodes pending

    # -- one line -------------------------------------------------------------------------
    def feed(self, line: str) -> list[Event]:
        line = line.rstrip("\r\n")
        out: list[Event] = []
        step = parse_step(line, self.worker) if TRACE_TAG in line else None
        if step is not None:
            self._on_step(step, out)
            return out
        if not line.strip():
            return out
        if line.startswith(CAMERA_TAG):  # drawn by the monitor, not listed
            frame = parse_frame(line) if self.emit_steps else None
            if frame is not None:
                out.append(frame)
            return out
        if self.emit_lines:
            out.append(LogLine(line, level_of(line), self.source))
        if line.startswith((DROA_STATUS, DROA_METRIC)):
            self._on_droa(line, out)
        elif "> Name=" in line:
            m = EPISODE.search(line)
            if m:
                self._on_episode_line(m, out)
        elif line.startswith("Policy training>") or "Policy training>" in line:
            m = POLICY.search(line)
            if m:
                lr = float(m.group(5)) if m.group(5) else None
                update = PolicyUpdate(int(m.group(4)), float(m.group(1)), float(m.group(2)),
                                      float(m.group(3)), lr)
                self._updates.append(update)
                out.append(update)
        elif "Checkpoint> Saving" in line:
            m = CHECKPOINT.search(line)
            if m:
                self._seen_checkpoint = True
                number, steps = int(m.group(1)), int(m.group(2))
                out.append(Checkpoint(number, steps, f"{number}_Step-{steps}.ckpt"))
                if number >= 1 and (self._episodes or self._updates):
                    out.append(self._close_iteration(number, steps))
        elif line.startswith("Resuming from checkpoint"):
            m = RESUMED.search(line)
            if m:
                self._on_resume(int(m.group(3)), int(m.group(2)), out)
        elif line.startswith("## drtui: task "):
            m = TASK.search(line)
            if m:
                num = lambda v: None if v == "-" else float(v)  # noqa: E731
                out.append(TaskIteration(int(m.group(4)), int(m.group(1)), int(m.group(2)),
                                         m.group(3), int(m.group(5)), num(m.group(6)),
                                         num(m.group(7)), num(m.group(8))))
        elif "## drtui: curriculum stage" in line:
            m = STAGE.search(line)
            if m:
                out.append(StageChange(int(m.group(1)), int(m.group(2)), m.group(3),
                                       m.group(4)))
        elif EVAL_START_MARK in line:
            if not self._seen_checkpoint and self._episodes:
                out.append(self._close_iteration(self.iteration + 1, None))
            self._eval = EvaluationEnd()
        elif "Finished evaluation phase" in line:
            m = EVAL_DONE.search(line)
            ev = self._eval or EvaluationEnd()
            if m:
                ev.success_rate, ev.mean_reward = float(m.group(1)), float(m.group(2))
            out.append(ev)
            self._eval = None
        elif "[BestModelSelection]" in line and "Evaluation episode progress:" in line:
            m = EVAL_PROGRESS.search(line)
            if m:
                values = [float(v) for v in m.group(1).split(",") if v.strip()]
                if values:
                    out.append(EvaluationEnd(mean_progress=statistics.fmean(values),
                                             episodes=values))
        return out

    def feed_all(self, lines: Iterable[str]) -> Iterator[Event]:
        for line in lines:
            yield from self.feed(line)

    # -- helpers --------------------------------------------------------------------------
    def _on_step(self, step: Step, out: list[Event]) -> None:
        self._seen_trace = True
        if step.steps <= 1:
            self._episode_reward, self._episode_start = 0.0, step.tstamp
        self._episode_reward += step.reward
        if self.emit_steps:
            out.append(step)
        if step.done:
            start = self._episode_start if self._episode_start is not None else step.tstamp
            end = EpisodeEnd(episode=step.episode + 1, phase=self.phase,
                             reward=self._episode_reward, steps=step.steps,
                             progress=step.progress, status=step.episode_status,
                             time_s=step.tstamp - start, iteration=self.iteration + 1,
                             worker=step.worker)
            self._trace_end_pending = end
            self._episode_start = None
            if self.phase == "training":
                self._episodes.append(end)
            out.append(end)

    def _on_episode_line(self, m: re.Match[str], out: list[Event]) -> None:
        phase = "training" if m.group(1) == "Training" else "evaluation"
        episode, reward, worker = int(m.group(3)), float(m.group(4)), int(m.group(2))
        pending = self._trace_end_pending
        if phase == "training" and pending is not None and pending.worker == worker:
            self._trace_end_pending = None
            return  # the trace already ended this episode (robomaker log, or drtui's car 0)
        if phase == "training" and self._seen_trace and m.group(7) is None:
            return  # a robomaker log: its trace ends every training episode
        end = EpisodeEnd(episode=episode, phase=phase, reward=reward,
                         iteration=self.iteration + 1, worker=worker,
                         progress=float(m.group(7)) if m.group(7) else None,
                         status=m.group(8), time_s=float(m.group(9)) if m.group(9) else None)
        if phase == "training":
            self._episodes.append(end)
        out.append(end)

    def _on_resume(self, iteration: int, total_steps: int, out: list[Event]) -> None:
        """drtui's trainer resumed after a kill: what the killed attempt left half done (its
        iteration's episodes, an evaluation) is dropped, so each iteration counts its own
        episodes once. If the kill fell between the checkpoint and its Checkpoint> line,
        the episodes gathered are that complete iteration's: it is closed here."""
        if iteration == self.iteration + 1 and (self._episodes or self._updates):
            out.append(Checkpoint(iteration, total_steps, f"{iteration}_Step-{total_steps}.ckpt"))
            out.append(self._close_iteration(iteration, total_steps))
        self.iteration = iteration
        self._episodes, self._updates = [], []
        self._trace_end_pending, self._episode_start, self._eval = None, None, None

    def _on_droa(self, line: str, out: list[Event]) -> None:
        """A metrics record (training episodes, then the evaluation episodes that follow each
        policy update: the first evaluation record closes the iteration) or a status."""
        import json

        try:
            data = json.loads(line.split(" ", 1)[1])
        except (ValueError, IndexError):
            return
        if not isinstance(data, dict):
            return
        if line.startswith(DROA_STATUS):
            self._flush_droa_eval(out)
            message = " ".join(f"{k} {data[k]}" for k in ("status", "trainingStatus", "message")
                               if data.get(k))
            out.append(Status(str(data.get("state", "unknown")), message))
            return
        try:
            phase = data["phase"]
            episode, reward = int(data["episode"]), float(data["reward_score"])
            progress = float(data["completion_percentage"])
            time_s = float(data["elapsed_time_in_milliseconds"]) / 1000.0
        except (KeyError, TypeError, ValueError):
            return
        status = str(data.get("episode_status", "")).strip().lower().replace(" ", "_") or None
        if phase == "training":
            self._flush_droa_eval(out)
            end = EpisodeEnd(episode=episode, phase="training", reward=reward, progress=progress,
                             status=status, time_s=time_s, iteration=self.iteration + 1)
            self._episodes.append(end)
            out.append(end)
        elif phase == "evaluation":
            if self._episodes:
                out.append(self._close_iteration(self.iteration + 1, None))
            self._droa_eval.append(progress)
            out.append(EpisodeEnd(episode=episode, phase="evaluation", reward=reward,
                                  progress=progress, status=status, time_s=time_s,
                                  iteration=self.iteration))

    def _flush_droa_eval(self, out: list[Event]) -> None:
        if self._droa_eval:
            values, self._droa_eval = self._droa_eval, []
            out.append(EvaluationEnd(success_rate=sum(v >= 100.0 for v in values) / len(values),
                                     mean_progress=statistics.fmean(values), episodes=values))

    def _close_iteration(self, number: int, total_steps: int | None) -> IterationEnd:
        eps, ups = self._episodes, self._updates
        rewards = [e.reward for e in eps]
        progress = [e.progress for e in eps if e.progress is not None]
        laps = [e.time_s for e in eps if e.complete and e.time_s is not None]
        mean_r, std_r = _mean_std(rewards)
        mean_p, std_p = _mean_std(progress)
        it = IterationEnd(
            iteration=number, episodes=len(eps), mean_reward=mean_r, std_reward=std_r,
            mean_progress=mean_p, std_progress=std_p,
            completion_rate=(sum(p >= 100.0 for p in progress) / len(progress)
                             if progress else None),
            mean_lap_time_s=statistics.fmean(laps) if laps else None,
            policy_loss=statistics.fmean(u.surrogate_loss for u in ups) if ups else None,
            entropy=statistics.fmean(u.entropy for u in ups) if ups else None,
            kl_divergence=statistics.fmean(u.kl_divergence for u in ups) if ups else None,
            total_steps=total_steps)
        self.iteration = number
        self._episodes, self._updates = [], []
        return it


def parse_lines(lines: Iterable[str], **kwargs) -> list[Event]:
    return list(LogParser(**kwargs).feed_all(lines))
