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

from drtui.plots.lines import sparkline
from drtui.textsafe import printable
from drtui.widgets.log_view import LogView, mark
from drtui.widgets.run_camera import RunCamera
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


def lap_text(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f}s"


# best eval is a greedy run: no exploration, so it can pass the training progress (which
# samples actions); a warm-started policy (a teacher's distillation, a transfer) can finish
# laps before training episodes do
EVAL_NOTES = {
    "cold": ("best eval: the policy's greedy laps, no exploration", "eval: no exploration"),
    "warm": ("best eval: greedy laps of a warm-started policy", "eval: warm start, greedy"),
}


# a part of the status line: its key, then its value from the longest form to the shortest
Part = tuple[str, tuple[str, ...], str]


def status_parts(model: RunModel, now: float) -> list[list[Part]]:
    """The status line's parts in groups; each group starts a line."""
    p = model.progress
    last = p.last
    state = printable(p.status)  # state.json and the log are not drtui's to trust
    style = {"failed": "bold red", "finished": "bold green", "running": "bold",
             "stopped": "yellow"}.get(state, "")
    eta = clock_text(model.eta(now))
    target = model.eta_target(now)
    etas = (eta,) if target is None else (
        f"{eta} to {p.eta_goal(target[1])}", f"{eta} to {p.eta_goal(target[1], short=True)}",
        f"{eta} to {p.eta_goal(target[1], shortest=True)}", eta)
    first: list[Part] = [("", (f"{STATUS_MARKS.get(state, '?')} {state}",), style),
                         ("iteration", (str(p.iteration),), "bold"),
                         ("episodes", (str(p.episodes),), "bold"),
                         ("elapsed", (clock_text(model.elapsed(now)),), "bold"),
                         ("ETA", etas, "bold")]
    best = _pct(p.best_eval_progress)
    second: list[Part] = [
        ("progress", (_pct(last.mean_progress if last else None),), "bold"),
        ("lap", (lap_text(model.last_lap_s),), "bold"),
        ("best lap", (lap_text(model.best_lap_s),), "bold"),
        ("completion", (_pct(last.completion_rate if last else None, 100.0),), "bold"),
        ("best eval", (best,), "bold")]
    if p.stage is not None:  # curriculum
        second.insert(0, ("stage", (printable(f"{p.stage.index}/{p.stage.total} "
                                              f"{p.stage.name}"),), "bold"))
    if p.tasks:  # multi-task: each world's last mean progress
        second.append(("tasks", (printable(" ".join(f"{name}={_pct(v)}"
                                                    for name, v in p.tasks.items())),), "bold"))
    if model.provider and (model.provider != "local" or model.runner != "embedded"):
        where = f"{model.provider}/{model.runner}" + (f" on {model.host}" if model.host else "")
        second.append(("backend", (printable(where),), "bold"))
    if model.cost is not None:
        second.append(("cost", (f"${model.cost.dollars:.2f} (${model.cost.per_hour:.2f}/h)",),
                       "bold"))
    third: list[Part] = []
    rewards = model.last_episode_rewards
    if rewards:
        mean = sum(rewards) / len(rewards)
        spark = sparkline(rewards, 20)
        third.append(("last episode reward/step", (f"{spark} mean {mean:.3g}",
                                                   sparkline(rewards, 12)), "green"))
    if p.best_eval_progress is not None:  # why it can be far above the training progress
        why = EVAL_NOTES["warm" if model.warm_start else "cold"]
        third.append(("", (*why, ""), "dim italic"))
    if rewards:
        third.append(("", (f"({len(rewards)} steps)", ""), "dim"))
    if state == "failed" and model.error:
        third.append(("", (f"✗ {printable(model.error)}",), "red"))
    return [group for group in (first, second, third) if group]


def flow(groups: list[list[Part]], width: int | None) -> list[Text]:
    """The parts laid out in lines of at most `width` cells: each group starts a line, a part
    takes its longest form that fits on the line, else moves to the next one whole."""
    lines: list[Text] = []
    for group in groups:
        line = Text()
        for key, forms, style in group:
            label = f"{key} " if key else ""
            sep = "  " if line.plain else ""
            room = None if width is None else width - line.cell_len - len(sep) - len(label)
            fits = [f for f in forms if room is None or len(f) <= room]
            if not fits and line.plain and forms[-1]:  # a new line for it, whole
                lines.append(line)
                line, sep = Text(), ""
                room = width - len(label)
                fits = [f for f in forms if len(f) <= room]
            value = fits[0] if fits else forms[-1]
            if not value:  # an optional part with no room
                continue
            line.append(sep + label, style="dim")
            line.append(value, style=style)
        lines.append(line)
    return lines


def status_text(model: RunModel, now: float, width: int | None = None) -> Text:
    """State and counters with time and ETA (what it counts to); learning figures with lap
    times; the last episode's reward per step, each group on its own line(s)."""
    text = Text("\n").join(flow(status_parts(model, now), width))
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


class RunStatus(Widget):
    """The status lines, laid out for the widget's width: a repaint of this widget alone,
    and a relayout only when the number of lines changes."""

    DEFAULT_CSS = """
    RunStatus { height: auto; padding: 0 1; background: $boost; }
    """

    def __init__(self, model: RunModel, now: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model, self.now = model, now
        self._lines = 0  # as last laid out

    def update(self, model: RunModel, now: float) -> None:
        self.model, self.now = model, now
        lines = len(self.render().plain.split("\n"))
        self.refresh(layout=lines != self._lines)

    def get_content_height(self, container, viewport, width: int) -> int:
        self._lines = len(flow(status_parts(self.model, self.now), width))
        return self._lines

    def render(self) -> Text:
        width = self.content_size.width or None
        return status_text(self.model, self.now, width)


class RunPanel(Vertical):
    """The monitor's view of one run. `clock` gives "now" for elapsed and ETA (a fixed one
    makes a picture reproducible)."""

    DEFAULT_CSS = """
    RunPanel { height: 1fr; }
    RunPanel #run-top { height: 2fr; min-height: 8; }
    RunPanel RunCharts { width: 2fr; }
    RunPanel #run-side { width: 1fr; }
    RunPanel RunTrack, RunPanel RunCamera {
        border: round $border-blurred; border-title-color: $text-muted;
        border-subtitle-color: $text-muted;
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
        self._camera_drawn = -1

    def compose(self) -> ComposeResult:
        yield RunStatus(self.model, self.clock(), id="run-status")
        with Horizontal(id="run-top"):
            yield RunCharts(id="run-charts")
            with Vertical(id="run-side"):
                track = RunTrack(id="run-track")
                track.border_title = f"last {self.model.paths.maxlen} episodes"
                track.border_subtitle = "racing line: ╌"
                yield track
                camera = RunCamera(id="run-camera")
                camera.border_title = "car 0 camera"
                yield camera
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
                self.query_one(RunTrack).set_world(model.world, model.raceline)
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
        self.query_one(RunTrack).set_world(model.world, model.raceline)

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
            self.query_one(RunStatus).update(m, now)
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
        if m.camera_version != self._camera_drawn:
            self.query_one(RunCamera).set_frame(m.camera)
            self._camera_drawn = m.camera_version

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
