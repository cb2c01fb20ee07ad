"""What the monitor shows of one run, folded from its events: the headless Progress (status,
counters, ETA), per-iteration series for the charts, the last episodes' paths for the track
map, and cost. Plain Python (no Textual), so it can be built in a thread and tested alone.

History comes from the run's events.jsonl (what earlier followers recorded), then the live
follower continues from the saved log offset: together every event exactly once.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from drtui import events as ev
from drtui.events import event_from_line
from drtui.headless import ENDED, Progress

PATHS_KEPT = 5  # episodes drawn on the track map
LOG_KEPT = 5000  # newest log lines kept (the log view's cap)


def _raceline(world: str, reverse: bool, run_path: Path):
    """The racing line of the run's track, cached under its workspace (runs/<id>/../..);
    None where it cannot be computed (the map is drawn without it)."""
    from drtui.session.raceline import map_line

    try:
        return map_line(world, reverse, Path(run_path).parent.parent)
    except (OSError, ValueError, KeyError):
        return None


@dataclass
class RunModel:
    run_id: str
    world: str | None = None
    raceline: object = None  # the track's racing line points (M, 2), drawn on the map
    provider: str = ""
    runner: str = ""
    host: str = ""
    progress: Progress = field(default_factory=Progress)
    iterations: list[int] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    mean_progress: list[float] = field(default_factory=list)
    completion: list[float] = field(default_factory=list)  # percent
    policy_loss: list[float] = field(default_factory=list)
    entropy: list[float] = field(default_factory=list)
    eval_progress: dict[int, float] = field(default_factory=dict)  # by iteration
    paths: deque = field(default_factory=lambda: deque(maxlen=PATHS_KEPT))
    cost: ev.Cost | None = None
    last_lap_s: float | None = None  # the last lap any car completed (sim seconds)
    best_lap_s: float | None = None
    step_rewards: list[float] = field(default_factory=list)  # the traced car's episode so far
    last_episode_rewards: list[float] = field(default_factory=list)  # its last whole episode
    camera: ev.CameraFrame | None = None  # what the traced car's policy saw last
    warm_start: str | None = None  # "teacher" | "transfer": the policy did not start fresh
    ended_at: float | None = None
    error: str | None = None
    # bumped when what a widget draws changes, so each redraws only then
    charts_version: int = 0
    track_version: int = 0
    status_version: int = 0
    camera_version: int = 0
    _episode_key: tuple[int, int] | None = None

    @classmethod
    def for_run(cls, run, session=None) -> RunModel:
        """A model with the run's backend, track and limits (the session loads pydantic:
        call this off the UI thread)."""
        state = run.state
        model = cls(run.id, provider=str(state.get("provider", "")),
                    runner=str(state.get("runner", "")), host=str(state.get("host", "") or ""))
        started = state.get("started") or state.get("created") or time.time()
        model.progress = Progress(started=float(started))
        if session is None:
            from drtui.session import store as sessions

            try:
                session = sessions.load(run.session_path, check=False)
            except Exception:  # noqa: BLE001 - a damaged session.toml still has a log to show
                session = None
        if session is not None:
            from drtui.catalog.tracks import route_source

            model.world = route_source(session.track, run.path)  # the run's own route.npy
            model.raceline = _raceline(model.world, session.track.reverse, run.path)
            model.progress.time_limit_s = session.training.time_limit_minutes * 60.0
            model.progress.max_episodes = \
                session.effective_hyperparameters()["term_cond_max_episodes"]
        model.sync_state(state)
        return model

    def sync_state(self, state: dict) -> None:
        """Status, start and end from the run's state.json (at load, and on a resume)."""
        status = str(state.get("status") or self.progress.status)
        self.progress.status = status
        self.progress.started = float(state.get("started") or state.get("created")
                                      or self.progress.started)
        self.ended_at = (float(state.get("ended") or state.get("updated") or time.time())
                         if status in ENDED else None)
        self.host = str(state.get("host", "") or self.host)
        self.error = state.get("error") if status == "failed" else None
        if state.get("transfer"):
            self.warm_start = "transfer"
        self.status_version += 1

    # --- folding ---------------------------------------------------------------------------

    def fold(self, event: ev.Event) -> None:
        self.progress.fold(event)
        if isinstance(event, ev.Step):
            key = (event.worker, event.episode)
            if key != self._episode_key or not self.paths:
                self._episode_key = key
                self.paths.append([])
            self.paths[-1].append((event.x, event.y))
            self.track_version += 1
            if event.steps <= 1:
                self.step_rewards = []
            self.step_rewards.append(event.reward)
            if event.done:
                self.last_episode_rewards, self.step_rewards = self.step_rewards, []
                self.status_version += 1
        elif isinstance(event, ev.CameraFrame):
            self.camera = event
            self.camera_version += 1
        elif isinstance(event, ev.EpisodeEnd):
            if event.status == "lap_complete" and event.time_s:  # training or evaluation
                self.last_lap_s = event.time_s
                self.best_lap_s = min(self.best_lap_s or math.inf, event.time_s)
            self.status_version += 1
        elif isinstance(event, ev.LogLine):
            warm = warm_start_of(event.text)
            if warm:
                self.warm_start = warm
                self.status_version += 1
        elif isinstance(event, ev.IterationEnd):
            self.iterations.append(event.iteration)
            self.reward.append(_num(event.mean_reward))
            self.mean_progress.append(_num(event.mean_progress))
            self.completion.append(_num(event.completion_rate, 100.0))
            self.policy_loss.append(_num(event.policy_loss))
            self.entropy.append(_num(event.entropy))
            self.charts_version += 1
            self.status_version += 1
        elif isinstance(event, ev.EvaluationEnd) and event.mean_progress is not None:
            # DeepRacer evaluates after an iteration's update: it belongs to that iteration
            self.eval_progress[self.progress.iteration] = event.mean_progress
            self.charts_version += 1
            self.status_version += 1
        elif isinstance(event, (ev.Cost, ev.StageChange, ev.TaskIteration)):
            if isinstance(event, ev.Cost):
                self.cost = event
            self.status_version += 1
        elif isinstance(event, ev.Status):
            # a recorded end time (sync_state) wins over the moment the follower noticed it
            self.ended_at = (self.ended_at or time.time()) if event.state in ENDED else None
            self.status_version += 1

    def fold_all(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            self.fold(event)

    # --- what the widgets draw -------------------------------------------------------------

    def eval_series(self) -> list[float]:
        return [self.eval_progress.get(i, math.nan) for i in self.iterations]

    def chart_series(self) -> dict[str, dict[str, list[float]]]:
        return {
            "reward": {"mean reward": self.reward},
            "progress": {"progress %": self.mean_progress, "completion %": self.completion,
                         "eval %": self.eval_series()},
            "loss": {"policy loss": self.policy_loss},
            "entropy": {"entropy": self.entropy},
        }

    def track_path(self):
        """The kept episodes' paths as one (N, 2) array, NaN rows between episodes."""
        import numpy as np

        rows: list[tuple[float, float]] = []
        for path in self.paths:
            if rows:
                rows.append((math.nan, math.nan))
            rows.extend(path)
        return np.asarray(rows, dtype=np.float64).reshape(-1, 2)

    def elapsed(self, now: float) -> float:
        return self.progress.elapsed(self.ended_at or now)

    def eta(self, now: float) -> float | None:
        return None if self.ended_at else self.progress.eta_s(now)

    def eta_target(self, now: float) -> tuple[float, str] | None:
        return None if self.ended_at else self.progress.eta_target(now)


WARM_STARTS = (("## drtui: camera warm start", "teacher"), ("## drtui: transfer from", "transfer"))


def warm_start_of(text: str) -> str | None:
    """The kind of warm start a trainer log line announces, if any."""
    for prefix, kind in WARM_STARTS:
        if text.startswith(prefix):
            return kind
    return None


def _num(value: float | None, scale: float = 1.0) -> float:
    return math.nan if value is None else value * scale


def load_history(run, model: RunModel, *, keep_lines: int = LOG_KEPT) -> list[str]:
    """Fold the run's recorded events (events.jsonl) into the model; the newest log lines.

    Only the newest Step and LogLine records are decoded (a long run holds millions):
    older ones cannot reach the map or the log view anyway."""
    path: Path = run.events_path
    steps: deque[str] = deque(maxlen=4000)
    camera: str | None = None
    lines: deque[str] = deque(maxlen=keep_lines)
    try:
        fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return []
    with fh:
        for raw in fh:
            if raw.startswith('{"event": "Step"'):
                steps.append(raw)
                continue
            if raw.startswith('{"event": "CameraFrame"'):
                camera = raw  # only the newest is drawn
                continue
            if raw.startswith('{"event": "LogLine"'):
                lines.append(raw)
                if "## drtui: " in raw:  # a warm start line, far back in a long run
                    try:
                        warm = warm_start_of(json.loads(raw).get("text", ""))
                    except (json.JSONDecodeError, AttributeError):
                        warm = None
                    model.warm_start = warm or model.warm_start
                continue
            event = event_from_line(raw)
            if event is not None and not isinstance(event, ev.LogLine):
                model.fold(event)
    for raw in [*steps, *([camera] if camera else [])]:
        if (event := event_from_line(raw)) is not None:
            model.fold(event)
    out = []
    for raw in lines:
        try:
            out.append(format_line(json.loads(raw)))
        except (json.JSONDecodeError, KeyError):
            continue
    return out


def format_line(data: dict) -> str:
    return str(data["text"])
