"""One run in the monitor: its status line, charts, track map and live log, and the follower
that feeds them.

The follower is an async worker on the app's loop. It first folds the run's recorded history
(events.jsonl, read in a thread), then follows launch.events() from the saved log offset, so a
restarted drtui continues where the last follower stopped. Reads are cut into slices of about
PACE_LINES lines (PacedHost), each followed by a yield to the UI, so a long backlog or a fast
log never holds the screen up. Widgets redraw from the model on a 10 Hz timer, each only when
its part of the model changed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget

from drtui.textsafe import printable
from drtui.widgets.log_view import LogView, mark
from drtui.widgets.run_charts import RunCharts
from drtui.widgets.run_model import RunModel, load_history
from drtui.widgets.run_track import RunTrack

PACE_LINES = 200
REDRAW_S = 0.1
TRACK_REDRAW_S = 0.5
STATUS_MARKS = {"created": "○", "starting": "…", "running": "▶", "stopping": "■…",
                "stopped": "■", "finished": "✓", "failed": "✗"}


class PacedHost:
    """A Host whose read_from hands out at most PACE_LINES lines at a time, with exact byte
    offsets, and yields to the event loop before each: the follower parses a slice, the UI
    gets a turn. Everything else goes to the wrapped host."""

    def __init__(self, host, lines: int = PACE_LINES) -> None:
        self.host, self.lines = host, lines
        self._buffer: tuple[str, int, list[str], list[int]] | None = None  # path, offset, ...

    def __getattr__(self, name: str):
        return getattr(self.host, name)

    async def read_from(self, path: str, offset: int, limit: int = 1 << 20):
        from drtui.backends.base import Chunk

        await asyncio.sleep(0)
        buf = self._buffer
        if buf is None or buf[0] != path or buf[1] != offset:
            chunk = await self.host.read_from(path, offset, limit)
            if len(chunk.lines) <= self.lines:
                self._buffer = None
                return chunk
            sizes = [len(line.encode("utf-8")) + 1 for line in chunk.lines]
            if sum(sizes) != chunk.offset - offset:  # \r\n or undecodable bytes: no slicing
                self._buffer = None
                return chunk
            buf = (path, offset, chunk.lines, sizes)
        _, start, lines, sizes = buf
        end = start + sum(sizes[: self.lines])
        rest = lines[self.lines:]
        self._buffer = (path, end, rest, sizes[self.lines:]) if rest else None
        return Chunk(lines[: self.lines], end)


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _pct(value: float | None, scale: float = 1.0) -> str:
    return "—" if value is None else f"{value * scale:.1f}%"


def status_text(model: RunModel, now: float) -> Text:
    """Two lines: state and counters with time; learning figures, backend and cost."""
    p = model.progress
    last = p.last
    state = printable(p.status)  # state.json and the log are not drtui's to trust
    text = Text(no_wrap=True, overflow="ellipsis")
    style = {"failed": "bold red", "finished": "bold green", "running": "bold",
             "stopped": "yellow"}.get(state, "")
    text.append(f"{STATUS_MARKS.get(state, '?')} {state}", style=style)
    for key, value in (("iteration", str(p.iteration)), ("episodes", str(p.episodes)),
                       ("elapsed", clock_text(model.elapsed(now))),
                       ("ETA", clock_text(model.eta(now)))):
        text.append(f"  {key} ", style="dim")
        text.append(value, style="bold")
    text.append("\n")
    parts = [("progress", _pct(last.mean_progress if last else None)),
             ("completion", _pct(last.completion_rate if last else None, 100.0)),
             ("best eval", _pct(p.best_eval_progress))]
    if p.stage is not None:  # curriculum
        parts.insert(0, ("stage", printable(f"{p.stage.index}/{p.stage.total} {p.stage.name}")))
    if p.tasks:  # multi-task: each world's last mean progress
        parts.append(("tasks", printable(" ".join(f"{name}={_pct(v)}"
                                                  for name, v in p.tasks.items()))))
    if model.provider and (model.provider != "local" or model.runner != "embedded"):
        where = f"{model.provider}/{model.runner}" + (f" on {model.host}" if model.host else "")
        parts.append(("backend", printable(where)))
    if model.cost is not None:
        parts.append(("cost", f"${model.cost.dollars:.2f} (${model.cost.per_hour:.2f}/h)"))
    for i, (key, value) in enumerate(parts):
        text.append(("  " if i else "") + f"{key} ", style="dim")
        text.append(value, style="bold")
    if state == "failed" and model.error:
        text.append(f"  ✗ {printable(model.error)}", style="red")
    return text


class RunStatus(Widget):
    """Two fixed lines: a repaint of this widget alone, never a relayout of the screen."""

    DEFAULT_CSS = """
    RunStatus { height: 2; padding: 0 1; background: $boost; }
    """

    def __init__(self, text: Text, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = text

    def update(self, text: Text) -> None:
        self.text = text
        self.refresh()

    def render(self) -> Text:
        return self.text


class RunPanel(Vertical):
    """The monitor's view of one run. `clock` gives "now" for elapsed and ETA (a fixed one
    makes a picture reproducible)."""

    DEFAULT_CSS = """
    RunPanel { height: 1fr; }
    RunPanel #run-top { height: 2fr; min-height: 8; }
    RunPanel RunCharts { width: 2fr; }
    RunPanel RunTrack {
        width: 1fr; border: round $border-blurred; border-title-color: $text-muted;
    }
    RunPanel LogView { height: 1fr; border-top: solid $border-blurred; }
    """

    def __init__(self, run, *, host=None, clock: Callable[[], float] = time.time,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.run = run
        self.host = host
        self.clock = clock
        self.model = RunModel(run.id)
        self.loaded = False  # history folded in
        self.following = False
        self._drawn = (-1, -1, -1)
        self._drawn_clock = ""
        self._track_drawn_at = 0.0

    def compose(self) -> ComposeResult:
        yield RunStatus(status_text(self.model, self.clock()), id="run-status")
        with Horizontal(id="run-top"):
            yield RunCharts(id="run-charts")
            track = RunTrack(id="run-track")
            track.border_title = f"last {self.model.paths.maxlen} episodes"
            yield track
        yield LogView(id="run-log")

    def on_mount(self) -> None:
        self.set_interval(REDRAW_S, self.redraw, name="run-redraw")

    # --- the follower --------------------------------------------------------------------

    def follow(self, host=None) -> None:
        """(Re)start following: history first (once), then the live log until it ends."""
        if host is not None:
            self.host = host
        self.run_worker(self._follow(), group="follow", exclusive=True, exit_on_error=False,
                        description=f"following run {self.run.id}")

    async def _follow(self) -> None:
        from drtui.backends import launch
        from drtui.errors import DrtuiError

        self.following = True
        try:
            if not self.loaded:
                model, lines = await asyncio.to_thread(self._load)
                self.model = model
                self.log_view.push_lines(lines)
                self.loaded = True
                self.query_one(RunTrack).set_world(model.world)
            else:
                self.model.sync_state(self.run.reload().state)
            host, self.host = self.host or await self._find_host(), None  # the stream owns it
            count = 0
            async for event in launch.events(self.run, PacedHost(host) if host else None):
                self.feed(event)
                count += 1
                if count % PACE_LINES == 0:
                    await asyncio.sleep(0)
            self.model.sync_state(self.run.reload().state)  # its end time and error, if any
        except (DrtuiError, OSError) as exc:
            self.model.error = str(exc)
            self.model.status_version += 1
            self.notify(str(exc), title=f"✗ Cannot follow {self.run.id}", severity="error")
        finally:
            self.following = False

    async def _find_host(self):
        """The run's host, never creating a machine; None leaves it to launch.events, which
        replays a concluded run from its files and reports a machine that is gone."""
        from drtui.backends import launch

        if self.run.state.get("released"):
            return None
        provider, _ = launch.backend_for(self.run.state["provider"], self.run.state["runner"])
        try:
            return await provider.acquire(self.run, create=False)
        except Exception:  # noqa: BLE001 - HostGone and friends: launch.events says why
            return None

    def _load(self) -> tuple[RunModel, list[str]]:
        self.run.reload()
        model = RunModel.for_run(self.run)
        lines = load_history(self.run, model)
        return model, lines

    def feed(self, event) -> None:
        """One event: into the model, and a log line into the log view."""
        from drtui.events import LogLine

        self.model.fold(event)
        if isinstance(event, LogLine):
            self.log_view.push(mark(event.text, event.level))

    def show_recorded(self, model: RunModel, lines: list[str]) -> None:
        """Show a model built elsewhere (a recorded run): no follower."""
        self.model, self.loaded = model, True
        self.log_view.push_lines(lines)
        self.query_one(RunTrack).set_world(model.world)

    # --- drawing -------------------------------------------------------------------------

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    def redraw(self) -> None:
        m = self.model
        charts, track, status = m.charts_version, m.track_version, m.status_version
        drawn = self._drawn
        now = self.clock()
        clock = f"{clock_text(m.elapsed(now))} {clock_text(m.eta(now))}"
        if status != drawn[2] or clock != self._drawn_clock:
            self.query_one(RunStatus).update(status_text(m, now))
            self._drawn_clock = clock
        if charts != drawn[0]:
            self.query_one(RunCharts).update_from(m)
        if track != drawn[1]:
            # the braille map is the costliest thing to paint: a car moving at 2 Hz is enough
            if time.monotonic() - self._track_drawn_at < TRACK_REDRAW_S:
                track = drawn[1]
            else:
                self.query_one(RunTrack).set_path(m.track_path())
                self._track_drawn_at = time.monotonic()
        self._drawn = (charts, track, status)

    def stop(self) -> None:
        self.run_worker(self._stop(), group="stop", exclusive=True, exit_on_error=False,
                        description=f"stopping run {self.run.id}")

    async def _stop(self) -> None:
        from drtui.backends import launch
        from drtui.errors import DrtuiError

        self.model.progress.status = "stopping"
        self.model.status_version += 1
        try:  # a following panel concludes the run itself when the log ends
            await launch.stop(self.run, finish=not self.following)
        except (DrtuiError, OSError) as exc:
            self.notify(str(exc), title=f"✗ Cannot stop {self.run.id}", severity="error")
            return
        self.notify(f"■ {self.run.id}: {self.run.reload().status} (final checkpoint saved)")
