"""The analysis screen: any DeepRacer run (a simtrace, a log, metrics, a DRfC folder, a log
archive, a drtui run) in six tabs: iterations (braille chart and table), episodes, laps,
evaluation, the track (reward heatmap and the selected episode's path) and actions per track
section. The input loads in a worker thread (drtui.analysis: the same tables as
`drtui analyze`); keys 1-6 switch tabs, [ and ] step through episodes on the track.

`open_analysis(app, path)` is the entry point for bindings and the command palette."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Static, TabbedContent, TabPane

from drtui.analysis.cli import HEADERS
from drtui.screens.guard import GuardedScreen
from drtui.widgets.analysis_track import AnalysisTrack
from drtui.widgets.key_footer import KeyFooter
from drtui.widgets.run_charts import Chart

TABS = (("iterations", "1 Iterations"), ("episodes", "2 Episodes"), ("laps", "3 Laps"),
        ("evaluation", "4 Evaluation"), ("track", "5 Track"), ("actions", "6 Actions"))
# the CLI's headers, narrower where the screen's tables are tighter
SHORT = {**HEADERS, "time_mean": "time", "train_time": "time", "completion_rate": "rate",
         "train_completed": "rate", "eval_reward": "eval r", "eval_completion": "eval %",
         "eval_completed": "eval rate", "eval_episodes": "eval n",
         "completion_percentage": "progress", "episode_status": "status"}


def open_analysis(app, path: str | Path) -> AnalysisScreen:
    """Push the analysis screen for `path` (for ctrl+a on the runs screen, the palette)."""
    screen = AnalysisScreen(Path(path))
    app.push_screen(screen)
    return screen


def _cell(v) -> str:
    if hasattr(v, "item"):
        v = v.item()
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 10000 else f"{v:.0f}"
    return str(v)


def fill_table(table: DataTable, df, columns: list[str] | None = None,
               empty: str = "nothing of this kind in this input") -> None:
    table.clear(columns=True)
    if df is None or len(df) == 0:
        table.add_column("", key="empty")
        table.add_row(Text(empty, style="italic"))
        return
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    rows = [[_cell(v) for v in row] for row in df[cols].itertuples(index=False)]
    for i, c in enumerate(cols):
        label = SHORT.get(str(c), str(c))
        # widths given, not left to DataTable's sizing on idle: the table looks the same
        # however busy the machine is when it is first drawn
        width = max([len(label), *(len(r[i]) for r in rows)])
        table.add_column(label, key=str(c), width=width)
    table.add_rows(rows)


class AnalysisScreen(GuardedScreen):
    DEFAULT_CSS = """
    #analysis-summary { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    #analysis-tabs { height: 1fr; }
    #analysis-tabs ContentSwitcher { height: 1fr; }
    #analysis-tabs TabPane { height: 1fr; padding: 0; }
    #analysis-chart { height: 1fr; min-height: 5; }
    #analysis-iterations { height: auto; max-height: 50%; }
    #analysis-episode { height: 1; padding: 0 1; }
    #analysis-episodes, #analysis-laps, #analysis-evaluation, #analysis-actions { height: 1fr; }
    """
    HELP = ("Analysis of a DeepRacer run, as deepracer-analysis notebooks show it: training "
            "progress per iteration, every episode, the completed laps, evaluation laps, the "
            "track with a reward heatmap and an episode's path, and which actions the car took "
            "in each section of the track. 1-6 switch tabs; on the Episodes tab the "
            "highlighted episode is the one drawn on the Track tab; [ and ] step through "
            "episodes.")
    BINDINGS = [
        *(Binding(str(i + 1), f"tab('{key}')", title, show=False, id=f"analysis-{key}",
                  tooltip=f"Show the {title} tab.")
          for i, (key, title) in enumerate(TABS)),
        Binding("left_square_bracket", "episode(-1)", "Prev ep", id="analysis-prev",
                tooltip="Select the previous episode (drawn on the Track tab)."),
        Binding("right_square_bracket", "episode(1)", "Next ep", id="analysis-next",
                tooltip="Select the next episode (drawn on the Track tab)."),
        Binding("escape", "back", "Back", id="analysis-back", tooltip="Back to the previous "
                "screen."),
    ]

    def __init__(self, path: Path, *, world: str | None = None, sections: int = 10,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.path, self.world, self.sections = Path(path), world, sections
        self.report = None
        self.episode_index = 0

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        yield Static("loading...", id="analysis-summary", markup=False)
        with TabbedContent(id="analysis-tabs", initial="iterations"):
            with TabPane(TABS[0][1], id="iterations"), Vertical():
                yield Chart("mean reward", id="analysis-chart")
                yield DataTable(id="analysis-iterations", zebra_stripes=True)
            for key, title in TABS[1:4]:
                with TabPane(title, id=key):
                    yield DataTable(id=f"analysis-{key}", cursor_type="row", zebra_stripes=True)
            with TabPane(TABS[4][1], id="track"):
                yield Static("", id="analysis-episode", markup=False)
                yield AnalysisTrack(id="analysis-track")
            with TabPane(TABS[5][1], id="actions"):
                yield DataTable(id="analysis-actions", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "analysis"
        self.load()

    @work(thread=True, exclusive=True, group="analysis-load", exit_on_error=False)
    def load(self) -> None:
        from drtui.analysis.load import load
        from drtui.analysis.report import build
        from drtui.errors import DrtuiError

        try:
            report = build(load(self.path, world=self.world), sections=self.sections)
        except DrtuiError as exc:
            message = "; ".join(str(p) for p in getattr(exc, "problems", [exc]))
            self.app.call_from_thread(self._failed, message)
            return
        except Exception as exc:  # noqa: BLE001 - shown on the screen, which stays usable
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, report)

    def _failed(self, message: str) -> None:
        self.query_one("#analysis-summary", Static).update(Text(f"✗ {message}",
                                                                style="bold red"))
        self.query_one(AnalysisTrack).set_data(None, None, "nothing to show")

    def _show(self, report) -> None:
        self.report = report
        lo = report.loaded
        steps = len(lo.steps) if lo.has_steps else 0
        self.sub_title = f"analysis: {lo.kind}"
        summary = (f"{self.app.show_path(self.path)}: "
                   + (f"{lo.world}, " if lo.world else "")
                   + f"{steps} steps, {len(report.episodes)} episodes, {len(report.laps)} laps")
        if lo.garbled:
            summary += f" ({lo.garbled} garbled lines skipped)"
        self.query_one("#analysis-summary", Static).update(summary)
        iters = report.iterations
        chart = self.query_one("#analysis-chart", Chart)
        if len(iters):
            ycol = next((c for c in ("reward_mean", "train_reward") if c in iters), None)
            pcol = next((c for c in ("progress_mean", "train_completion") if c in iters), None)
            series = {name: iters[c].astype(float).fillna(0).tolist()
                      for name, c in (("reward", ycol), ("progress", pcol)) if c}
            chart.set_data(series, [int(i) for i in iters["iteration"]])
        fill_table(self.query_one("#analysis-iterations", DataTable), iters)
        fill_table(self.query_one("#analysis-episodes", DataTable), report.episodes,
                   ["episode", "iteration", "worker", "start_at", "steps", "progress", "time",
                    "speed", "reward", "lap_time", "status"])
        fill_table(self.query_one("#analysis-laps", DataTable), report.laps,
                   empty="no completed lap (progress 100%) in this input")
        fill_table(self.query_one("#analysis-evaluation", DataTable), report.evaluation,
                   empty="no evaluation in this input (an evaluation simtrace, evaluation "
                   "metrics, or the evaluation phase of TrainingMetrics)")
        actions = report.actions
        if len(actions):
            df = actions.copy()
            df.columns = [f"s{c}" for c in df.columns]
            fill_table(self.query_one("#analysis-actions", DataTable), df.reset_index())
        track = self.query_one(AnalysisTrack)
        if report.route is None:
            track.set_data(None, None, "track unknown: give --world to see the track view"
                           if lo.has_steps else "no per-step trace in this input")
        else:
            heat = None
            if lo.has_steps:
                heat = (lo.steps[["x", "y"]].to_numpy(float), lo.steps["reward"].to_numpy(float))
            track.set_data(report.route, heat)
        self.episode_index = 0
        self._show_episode()

    # --- episodes on the track -------------------------------------------------------------

    def _episode_ids(self) -> list[int]:
        if self.report is None or not len(self.report.episodes):
            return []
        return [int(e) for e in self.report.episodes["episode"]]

    def _show_episode(self) -> None:
        ids = self._episode_ids()
        label = self.query_one("#analysis-episode", Static)
        if not ids:
            label.update("no episodes")
            return
        self.episode_index %= len(ids)
        e = ids[self.episode_index]
        row = self.report.episodes.iloc[self.episode_index]
        steps = self.report.loaded.steps
        sel = steps[steps["unique_episode"] == e]
        self.query_one(AnalysisTrack).set_path(sel[["x", "y"]].to_numpy(float))
        label.update(f"episode {e} ({self.episode_index + 1}/{len(ids)}): "
                     f"{row['progress']:.1f}% in {row['time']:.2f} s, reward "
                     f"{row['reward']:.1f}, {row['status']}  [ ] other episodes")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "analysis-episodes" and event.cursor_row is not None:
            self.episode_index = event.cursor_row
            self._show_episode()

    def action_episode(self, delta: int) -> None:
        self.episode_index += delta
        self._show_episode()
        table = self.query_one("#analysis-episodes", DataTable)
        if table.row_count:
            table.move_cursor(row=self.episode_index % table.row_count)

    def action_tab(self, key: str) -> None:
        self.query_one(TabbedContent).active = key

    def action_back(self) -> None:
        self.app.pop_screen()
