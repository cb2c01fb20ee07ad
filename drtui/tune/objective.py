"""One trial: the session with the trial's values, trained for real in its own run folder by
the embedded trainer (`python -m drtui.train RUN_DIR`), scored by the trainer's own
in-training evaluation after every iteration.

    score = mean evaluation progress (percent, 0..100)
          + lap-time bonus: 100 x the mean over the evaluation episodes of
            fastest_lap / lap time (0 for an episode that did not finish its lap), where
            fastest_lap is the centre line driven at the simulator's top speed, 4 m/s

so 0..200: finishing counts first, and then going faster. Each evaluation's score is
reported to Optuna at its iteration; a pruned trial's trainer gets SIGINT (it checkpoints
and exits) and is waited for, so no trainer outlives its trial. The trial's value is its
last evaluation's score.

Run folders: <workspace>/tune/<study>/runs/<model>-t<trial>-<time>/ (the run store's layout:
session.toml, logs/trainer.log, events.jsonl, metrics/, checkpoints/, tb/).
"""

from __future__ import annotations

import json
import math
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drtui.errors import DrtuiError, InvalidInput
from drtui.events import EvaluationEnd
from drtui.problem import Problem
from drtui.runstore import store
from drtui.tune.space import Space, apply

TOP_SPEED = 4.0  # m/s: the simulator clips speed here
STOP_GRACE_S = 60.0  # SIGINT -> checkpoint and exit; SIGKILL after this
READ_LIMIT = 1 << 20  # log bytes read per poll


class TrialFailed(DrtuiError):
    """The trial's training failed (its reason is the trainer's): the study goes on."""


class Interrupted(DrtuiError):
    """SIGINT/SIGTERM (or the TUI's stop): the trial's trainer was stopped; the study ends."""


@dataclass(frozen=True)
class Limits:
    iterations: int = 5  # policy updates per trial
    minutes: float = 10.0  # wall-clock cap per trial, trainer start-up included


def fastest_lap_s(world: str) -> float:
    """The centre line of the track at the top speed: the lap-time bonus's yardstick."""
    import numpy as np

    from drtui.catalog.tracks import load_waypoints

    centre = load_waypoints(world)[:, :2]
    return float(np.linalg.norm(np.diff(centre, axis=0), axis=1).sum()) / TOP_SPEED


def score(progress: list[float], lap_times: list[float], fastest_lap: float) -> float:
    """Mean progress plus the lap-time bonus (see the module docstring)."""
    if not progress:
        raise ValueError("an evaluation without episodes has no score")
    bonus = sum(min(1.0, fastest_lap / t) for t in lap_times if t > 0)
    return statistics.fmean(progress) + 100.0 * bonus / len(progress)


def trial_folder(workspace: Path, study: str) -> Path:
    return Path(workspace) / "tune" / study


class Objective:
    """Callable for study.optimize: one real training per trial."""

    def __init__(self, session, space: Space, workspace: Path, study_name: str, *,
                 limits: Limits = Limits(), base_dir: Path | None = None,
                 stop: threading.Event | None = None, poll: float = 0.2,
                 on_start: Callable[[int, Path], None] | None = None):
        self.session, self.space, self.limits = session, space, limits
        self.workspace = Path(workspace)
        self.folder = trial_folder(workspace, study_name)
        self.base_dir = base_dir
        self.stop = stop or threading.Event()
        self.poll = poll
        self.on_start = on_start
        try:
            self.fastest_lap = fastest_lap_s(session.track.world)
        except FileNotFoundError as exc:  # the embedded trainer drives shipped waypoints only
            raise InvalidInput([Problem("track.world", str(exc))]) from None
        self.proc: subprocess.Popen | None = None  # the running trial's trainer
        self.current: int | None = None  # the number of the trial this process runs

    def __call__(self, trial) -> float:
        if self.stop.is_set():
            raise Interrupted("stopped before the trial started")
        self.current = trial.number
        params = self.space.sample(trial)
        tuned = apply(self.session, params)  # validated: the space's checks make sure
        from drtui.session.store import to_data

        trial.set_user_attr("session", to_data(tuned))
        run = self._create_run(tuned, trial.number)
        trial.set_user_attr("run", str(_relative(run.path, self.workspace)))
        if self.on_start is not None:
            self.on_start(trial.number, run.path)
        t0 = time.monotonic()
        try:
            return self._train(trial, run)
        except (TrialFailed, Interrupted) as err:
            trial.set_user_attr("error", str(err))
            raise
        finally:
            trial.set_user_attr("seconds", round(time.monotonic() - t0, 2))

    # -- the run --------------------------------------------------------------------------

    def _create_run(self, tuned, number: int) -> store.Run:
        from drtui.files import render
        from drtui.problem import errors
        from drtui.session.store import to_data
        from drtui.session.validate import problems_in

        data = to_data(tuned)
        data["model"]["name"] = f"{tuned.model.name[:56]}-t{number}"
        data.setdefault("hyperparameters", {})["term_cond_max_episodes"] = self.limits.iterations
        data["training"]["time_limit_minutes"] = max(1, math.ceil(self.limits.minutes))
        session, problems = problems_in(data)
        if session is None or errors(problems):
            raise TrialFailed("; ".join(map(str, problems)))
        files = render.render(session, base_dir=self.base_dir)
        return store.create(self.folder, session, files, provider="local", runner="embedded",
                            base_dir=self.base_dir)

    def _start(self, run: store.Run) -> subprocess.Popen:
        from drtui.backends.embedded import EmbeddedRunner

        # as the embedded runner starts it, but as our child: we wait for it, whatever happens
        with open(run.log_path, "ab") as log:
            proc = subprocess.Popen(EmbeddedRunner().command(run), stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        run.update(status="running", pid=proc.pid, started=time.time(), host="local")
        return proc

    def _train(self, trial, run: store.Run) -> float:
        import optuna

        from drtui.backends.local import read_lines_from
        from drtui.logs.parser import LogParser

        proc = self.proc = self._start(run)
        parser = LogParser(source="embedded", emit_steps=False)
        offset, value, evaluations = 0, None, []
        deadline = time.monotonic() + self.limits.minutes * 60.0
        timed_out, saved_at = False, 0.0
        try:
            with open(run.events_path, "a", encoding="utf-8") as events_file:
                while True:
                    exited = proc.poll() is not None
                    chunk = read_lines_from(run.log_path, offset, READ_LIMIT)
                    # line by line: an evaluation belongs to the parser's iteration as it
                    # reads that evaluation, not after the whole chunk
                    scored: list[tuple[int, EvaluationEnd]] = []
                    batch = []
                    for line in chunk.lines:
                        for event in parser.feed(line):
                            batch.append(event)
                            if isinstance(event, EvaluationEnd) and event.mean_progress is not None:
                                scored.append((parser.iteration, event))
                    if batch:
                        events_file.write("".join(json.dumps(e.to_json()) + "\n" for e in batch))
                        events_file.flush()
                    read, offset = chunk.offset - offset, chunk.offset
                    if read and (scored or time.monotonic() >= saved_at + 1.0 or exited):
                        # the followers' offset (runs attach): a locked, fsynced write, so
                        # at most once a second
                        run.update(log_offset=offset, iteration=parser.iteration)
                        saved_at = time.monotonic()
                    for it, event in scored:
                        laps = self._lap_times(run, it, event.episodes, proc)
                        value = score(event.episodes, laps, self.fastest_lap)
                        evaluations.append({"iteration": it, "progress": event.episodes,
                                            "lap_times": laps, "score": value})
                        trial.set_user_attr("evaluations", evaluations)
                        trial.report(value, step=it)
                        if trial.should_prune():
                            self._stop_trainer(proc, run)
                            run.update(tune="pruned")
                            raise optuna.TrialPruned(f"pruned after iteration {it} "
                                                     f"(score {value:.2f})")
                    if exited and not chunk.lines:
                        break
                    if self.stop.is_set():
                        self._stop_trainer(proc, run)
                        run.update(tune="interrupted")
                        trial.set_user_attr("interrupted", True)
                        raise Interrupted(f"trial {trial.number} stopped; its trainer "
                                          "checkpointed and exited")
                    if not timed_out and time.monotonic() > deadline:
                        timed_out = True  # SIGINT: the trainer checkpoints, logs, exits
                        proc.send_signal(signal.SIGINT)
                    elif timed_out and not exited and \
                            time.monotonic() > deadline + STOP_GRACE_S:
                        proc.kill()  # it did not stop in its grace time: never wait forever
                    if read < READ_LIMIT // 2:  # caught up with the trainer: let it work
                        time.sleep(self.poll)
        finally:
            if proc.poll() is None:  # an error on our side: never leave the trainer behind
                self._stop_trainer(proc, run)
            self.proc = None
            run.update(log_offset=offset)  # where a follower (runs attach) goes on from
        state = run.reload().state
        if state.get("status") in store.ACTIVE:  # it died before it could say so itself
            run.update(status="stopped" if timed_out else "failed",
                       error=None if timed_out else f"the trainer exited ({proc.returncode})")
            state = run.state
        if state.get("status") == "failed":
            raise TrialFailed(f"trial {trial.number}: training failed: {state.get('error')}")
        if value is None:
            why = (f"no evaluation within --minutes {self.limits.minutes:g}" if timed_out else
                   f"the trainer exited ({proc.returncode}) before its first evaluation")
            raise TrialFailed(f"trial {trial.number}: {why}")
        run.update(tune="complete", tune_value=value)
        return value

    def _lap_times(self, run: store.Run, iteration: int, progress: list[float],
                   proc: subprocess.Popen) -> list[float]:
        """Lap times of the evaluation's finished episodes, from TrainingMetrics.json (the
        trainer writes it just after the evaluation's log lines)."""
        laps = sum(p >= 100.0 for p in progress)
        if not laps:
            return []
        path = run.path / "metrics" / "TrainingMetrics.json"
        deadline = time.monotonic() + 120.0
        while True:
            entries = _evaluation_entries(path, iteration)
            if len(entries) >= len(progress) or time.monotonic() > deadline:
                break
            if proc.poll() is not None:  # it wrote what it will write
                entries = _evaluation_entries(path, iteration)
                break
            time.sleep(0.05)
        return [e["elapsed_time_in_milliseconds"] / 1000.0 for e in entries
                if e.get("episode_status") == "Lap complete"]

    def _stop_trainer(self, proc: subprocess.Popen, run: store.Run) -> None:
        if proc.poll() is None:
            run.update(status="stopping")
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        run.reload()
        if run.status in store.ACTIVE:
            run.update(status="stopped")


def _evaluation_entries(path: Path, iteration: int) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    return [m for m in data.get("metrics", [])
            if m.get("phase") == "evaluation" and m.get("iteration") == iteration]


def _relative(path: Path, base: Path) -> Path:
    try:
        return Path(path).resolve().relative_to(Path(base).resolve())
    except ValueError:
        return Path(path)
