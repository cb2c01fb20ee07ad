"""The runs screen (f6): the workspace's runs with their status, iteration and backend.
enter opens one in the monitor (its history replayed, then live while it trains), ctrl+e
resumes a stopped or killed run from its last checkpoint, ctrl+x stops one, ctrl+k writes its
car file (drtui.train.car_export, the same as `drtui export RUN --car`).

`selected_run()` is the hook for screens that act on the highlighted run (analysis)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from drtui.screens.guard import GuardedScreen
from drtui.textsafe import printable
from drtui.widgets.key_footer import KeyFooter

REFRESH_S = 2.0
# the widest (and least needed) column last, so "created" still fits 80 columns
COLUMNS = ("run", "status", "iter", "created", "backend")


def run_row(run) -> tuple:
    from drtui.widgets.run_panel import STATUS_MARKS

    state = run.state
    created = state.get("created")
    when = time.strftime("%m-%d %H:%M", time.localtime(created)) if created else ""
    return (Text(printable(run.id), style="bold"),
            printable(f"{STATUS_MARKS.get(run.status, '?')} {run.status}"),
            printable(state.get("iteration", "")), when,
            printable(f"{state.get('provider', '?')}/{state.get('runner', '?')}"))


class RunsScreen(GuardedScreen):
    HELP = ("The runs of this workspace (its runs/ folder), newest first. A run keeps "
            "training when drtui quits; enter reattaches: the monitor replays what was "
            "recorded and follows the log from where it stopped; ctrl+a analyses it. "
            "ctrl+e resumes a stopped, "
            "failed or killed run from its last checkpoint; ctrl+x stops a training one "
            "(final checkpoint first); ctrl+k writes the car's model file of its best "
            "checkpoint (as `drtui export RUN --car`).")
    BINDINGS = [
        Binding("enter", "open_run", "Open", id="runs-open", priority=True,
                tooltip="Open the highlighted run in the monitor."),
        Binding("ctrl+e", "resume_run", "Resume", id="runs-resume",
                tooltip="Resume a stopped or killed run from its last checkpoint."),
        Binding("ctrl+x", "stop_run", "Stop", id="runs-stop",
                tooltip="Stop the highlighted run: final checkpoint, then end (asks first)."),
        Binding("ctrl+a", "analyze_run", "Analyse", id="runs-analyze",
                tooltip="Analyse the highlighted run: iterations, episodes, laps, evaluation, "
                        "the track with a reward heatmap, actions per section."),
        Binding("ctrl+k", "export_car", "Car", id="runs-export-car",
                tooltip="Write the physical car's model (.tar.gz) of the highlighted run's best "
                        "checkpoint to exports/<run>/, checked through OpenVINO."),
        Binding("escape", "back", "Back", id="runs-back", tooltip="Back to the previous screen."),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: list = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Static("", id="runs-where", markup=False)
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static("No runs in this workspace yet: f5 on a session's review step starts "
                     "one, or `drtui run SESSION`.", id="runs-empty", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "runs"
        self.query_one("#runs-where", Static).update(
            f"runs in {self.app.show_path(self.app.workspace / 'runs')}/")
        self.refresh_runs()
        self.set_interval(REFRESH_S, self.refresh_runs, name="runs-refresh")

    def on_screen_resume(self) -> None:
        self.refresh_runs()

    @work(thread=True, exclusive=True, group="runs-list", exit_on_error=False)
    def refresh_runs(self) -> None:
        from drtui.runstore import store

        runs = sorted(store.list_runs(self.app.workspace),
                      key=lambda r: (r.state.get("created") or 0, r.id), reverse=True)
        self.app.call_from_thread(self._show, runs)

    def _show(self, runs: list) -> None:
        table = self.query_one(DataTable)
        rows = [(r.id, run_row(r)) for r in runs]
        current = [(r.id, run_row(r)) for r in self.runs]
        self.runs = runs
        empty = self.query_one("#runs-empty")
        empty.display = not runs
        table.display = bool(runs)
        if [(k, tuple(map(str, v))) for k, v in rows] == \
                [(k, tuple(map(str, v))) for k, v in current] and table.row_count:
            return
        selected = self.selected_run()
        # columns sized from their cells here, not by DataTable on idle: the list looks the
        # same however busy the machine is when it is first drawn
        table.clear(columns=True)
        for i, name in enumerate(COLUMNS):
            width = max([len(name), *(Text.from_markup(c).cell_len if isinstance(c, str) else
                                      c.cell_len for c in (r[i] for _, r in rows))])
            table.add_column(name, key=name, width=width)
        for key, row in rows:
            table.add_row(*row, key=key)
        if selected is not None and selected.id in [r.id for r in runs]:
            table.move_cursor(row=[r.id for r in runs].index(selected.id))
        if runs:
            table.focus()

    # --- the hook: the highlighted run -----------------------------------------------------

    def selected_run(self):
        """The highlighted run (a drtui.runstore.store.Run), or None."""
        table = self.query_one(DataTable)
        if not self.runs or table.row_count == 0:
            return None
        row = table.cursor_row
        if row is None or not 0 <= row < table.row_count:
            return None
        key = table.coordinate_to_cell_key((row, 0)).row_key.value
        return next((r for r in self.runs if r.id == key), None)

    def _need_run(self):
        run = self.selected_run()
        if run is None:
            self.notify("No run selected.", severity="warning")
        return run

    # --- actions ---------------------------------------------------------------------------

    def action_open_run(self) -> None:
        run = self._need_run()
        if run is not None:
            self.app.show_monitor(run)

    def action_analyze_run(self) -> None:
        from drtui.screens.analysis import open_analysis

        run = self._need_run()
        if run is not None:
            open_analysis(self.app, run.path)

    def action_stop_run(self) -> None:
        from drtui.screens.monitor import ask_to_stop

        run = self._need_run()
        if run is not None:
            ask_to_stop(self.app, run, lambda: self._stop(run))

    @work(exclusive=True, group="runs-stop", exit_on_error=False)
    async def _stop(self, run) -> None:
        from drtui.backends import launch

        following = False
        if self.app.is_screen_installed("monitor"):
            panel = self.app.get_screen("monitor").panel(run.id)
            following = panel is not None and panel.following
        try:  # a monitor following the run concludes it when its log ends
            await launch.stop(run, finish=not following)
        except Exception as exc:  # noqa: BLE001 - shown, the screen keeps working
            self.notify(f"{type(exc).__name__}: {exc}", title=f"✗ Cannot stop {run.id}",
                        severity="error")
            return
        self.notify(f"■ {run.id}: {run.reload().status} (final checkpoint saved)")
        self.refresh_runs()

    def action_export_car(self) -> None:
        run = self._need_run()
        if run is not None:
            self.notify(f"writing the car file of {run.id} …")
            self._export_car(run)

    @work(thread=True, exclusive=True, group="runs-export", exit_on_error=False,
          description="Writing and checking the car's model file.")
    def _export_car(self, run) -> None:
        from drtui.train.car_export import FOR_CAR, export_run

        out = self.app.workspace / "exports" / run.id
        try:
            result = export_run(run.path, out, checkpoint="best")
        except Exception as exc:  # noqa: BLE001 - refused or failed: said, the screen stays
            self.app.call_from_thread(self.notify, str(exc) or type(exc).__name__,
                                      title=f"✗ No car file for {run.id}", severity="error",
                                      timeout=10)
            return
        where = self.app.show_path(Path(result.path))
        self.app.call_from_thread(self.notify, f"{where}\nfor {FOR_CAR}",
                                  title=f"✓ Car file of {run.id}", timeout=10)

    def action_resume_run(self) -> None:
        run = self._need_run()
        if run is not None:
            self._resume(run)

    @work(exclusive=True, group="runs-resume", exit_on_error=False)
    async def _resume(self, run) -> None:
        from drtui.backends import launch
        from drtui.runstore import store

        run.reload()
        try:
            if run.status in store.ACTIVE and await launch.is_alive(run):
                self.notify(f"{run.id} is still training: enter opens it.", severity="warning")
                return
            if not (run.path / "checkpoints" / "last.pt").is_file():
                self.notify(f"{run.id} has no checkpoint to resume from.", severity="error")
                return
            host = await launch.start(run, resume=True)
        except Exception as exc:  # noqa: BLE001 - shown, the screen keeps working
            self.notify(f"{type(exc).__name__}: {exc}", title=f"✗ Cannot resume {run.id}",
                        severity="error")
            return
        self.notify(f"▶ resumed {run.id}")
        self.app.show_monitor(run, host)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
