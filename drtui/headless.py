"""The headless monitor: a run's events as a rich live summary, or as JSON lines.

ETA is the earlier of the time limit and the episode limit (term_cond_max_episodes), at the
pace of the run so far.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from drtui.events import (
    CameraFrame,
    Checkpoint,
    Cost,
    EpisodeEnd,
    EvaluationEnd,
    Event,
    IterationEnd,
    LogLine,
    StageChange,
    Status,
    Step,
    TaskIteration,
    event_from_line,
)

# a run that has ended (killed: its trainer died, found by whoever looked): its clock stops
ENDED = ("finished", "stopped", "failed", "killed")


@dataclass
class Progress:
    """What the summary shows, folded from events."""

    started: float = field(default_factory=time.time)
    time_limit_s: float | None = None
    max_episodes: int | None = None
    iteration: int = 0
    episodes: int = 0
    last: IterationEnd | None = None
    eval_progress: float | None = None
    best_eval_progress: float | None = None
    status: str = "running"
    ended: float | None = None  # when the run ended: its elapsed time stops there
    errors: list[str] = field(default_factory=list)
    stage: StageChange | None = None  # curriculum
    tasks: dict[str, float | None] = field(default_factory=dict)  # multi-task: last progress
    cost: Cost | None = None  # remote runs

    def fold(self, event: Event) -> None:
        if isinstance(event, EpisodeEnd) and event.phase == "training":
            self.episodes += 1
        elif isinstance(event, IterationEnd):
            self.iteration, self.last = event.iteration, event
        elif isinstance(event, EvaluationEnd) and event.mean_progress is not None:
            self.eval_progress = event.mean_progress
            self.best_eval_progress = max(self.best_eval_progress or 0.0, event.mean_progress)
        elif isinstance(event, LogLine) and event.level == "error":
            self.errors.append(event.text)
        elif isinstance(event, Status):
            self.status = event.state
            self.ended = (self.ended or time.time()) if event.state in ENDED else None
        elif isinstance(event, StageChange):
            self.stage = event
        elif isinstance(event, TaskIteration):
            self.tasks[event.name] = event.mean_progress
        elif isinstance(event, Cost):
            self.cost = event

    def elapsed(self, now: float | None = None) -> float:
        return (now or self.ended or time.time()) - self.started

    def eta_s(self, now: float | None = None) -> float | None:
        found = self.eta_target(now)
        return found[0] if found else None

    def eta_target(self, now: float | None = None) -> tuple[float, str] | None:
        """(seconds left, what ends the run) for the earlier of the time limit and the episode
        limit at the pace so far: what is "time" or "episodes"; None when neither is known or
        the run has ended."""
        if self.ended is not None:
            return None
        elapsed = self.elapsed(now)
        candidates = []
        if self.time_limit_s:
            candidates.append((max(0.0, self.time_limit_s - elapsed), "time"))
        if self.max_episodes and self.episodes:
            rate = self.episodes / max(elapsed, 1e-6)
            candidates.append((max(0, self.max_episodes - self.episodes) / rate, "episodes"))
        return min(candidates) if candidates else None

    def eta_goal(self, what: str, *, short: bool = False, shortest: bool = False) -> str:
        """What an ETA counts to, in words: "200 episodes (term_cond_max_episodes)" or
        "the 60 min time limit" (short: "200 episodes", "60 min limit"; shortest: "200 ep",
        "60 min")."""
        minutes = f"{(self.time_limit_s or 0) / 60:g} min"
        if what == "episodes":
            return (f"{self.max_episodes} ep" if shortest else f"{self.max_episodes} episodes"
                    + ("" if short else " (term_cond_max_episodes)"))
        return minutes if shortest else f"{minutes} limit" if short else \
            f"the {minutes} time limit"


def fold_recorded(run, progress: Progress) -> Progress:
    """What earlier followers recorded of a run (its events.jsonl, steps and log lines
    skipped) folded into `progress`, with the run's status and, once it has ended, its end
    time from state.json: `runs attach` on an ended run shows its final summary and the time
    it ran, not an empty table and a clock that keeps going."""
    try:
        with open(run.events_path, encoding="utf-8", errors="replace") as fh:
            for raw in fh:
                if raw.startswith(('{"event": "Step"', '{"event": "LogLine"')):
                    continue
                if (event := event_from_line(raw)) is not None:
                    progress.fold(event)
    except FileNotFoundError:
        pass  # nothing recorded yet
    state = run.state
    progress.status = str(state.get("status") or progress.status)
    if progress.status in ENDED:
        progress.ended = float(state.get("ended") or state.get("updated") or
                               progress.ended or time.time())
    return progress


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _eta_text(p: Progress) -> str:
    found = p.eta_target()
    return "—" if found is None else f"{_clock(found[0])} to {p.eta_goal(found[1])}"


def _pct(value: float | None, scale: float = 1.0) -> str:
    return "—" if value is None else f"{value * scale:.1f}%"


def summary_table(p: Progress, title: str):
    from rich.table import Table

    t = Table(title=title, title_justify="left", show_header=False, box=None, padding=(0, 2))
    last = p.last
    rows = [
        ("status", p.status),
        ("iteration", str(p.iteration)),
        ("episodes", str(p.episodes)),
        ("mean progress", _pct(last.mean_progress if last else None)),
        ("completion rate", _pct(last.completion_rate if last else None, 100.0)),
        ("mean reward", "—" if not last or last.mean_reward is None else f"{last.mean_reward:.2f}"),
        ("eval progress", _pct(p.eval_progress)),
        ("elapsed", _clock(p.elapsed())),
        ("ETA", _eta_text(p)),
    ]
    if p.stage is not None:
        rows.insert(2, ("stage", f"{p.stage.index}/{p.stage.total} {p.stage.name}"))
    for name, progress in p.tasks.items():
        rows.append((f"task {name}", _pct(progress)))
    if p.cost is not None:
        rows.append(("cost", f"${p.cost.dollars:.2f} (${p.cost.per_hour:.2f}/h)"))
    for key, value in rows:
        t.add_row(f"[bold]{key}[/]", value)
    return t


async def print_events(stream: AsyncIterator[Event], *, progress: Progress, title: str,
                       as_json: bool = False, out=None) -> Progress:
    """Consume a run's events; JSON lines (no steps, camera frames or plain lines) or a
    live table."""
    out = out or sys.stdout
    if as_json:
        async for event in stream:
            progress.fold(event)
            if not isinstance(event, (Step, LogLine, CameraFrame)):
                out.write(json.dumps(event.to_json()) + "\n")
                out.flush()
        return progress
    from rich.console import Console
    from rich.live import Live

    console = Console(file=out)
    with Live(summary_table(progress, title), console=console, refresh_per_second=4,
              transient=False) as live:
        async for event in stream:
            progress.fold(event)
            if isinstance(event, (IterationEnd, Checkpoint, EvaluationEnd, Status, StageChange,
                                  Cost)):
                live.update(summary_table(progress, title))
            elif isinstance(event, LogLine) and event.level == "error":
                console.print(f"[red]{event.text}[/]")
        live.update(summary_table(progress, title))
    return progress
